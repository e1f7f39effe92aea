"""The domain: plain functions on an SQLAlchemy session. No Flask request, no Socket.IO.

Services add and flush and raise DomainError; the caller commits.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import orm
from sqlalchemy.dialects import postgresql, sqlite

# A plain session, or Flask-SQLAlchemy's request-scoped proxy for one (`db.session`).
DbSession: TypeAlias = orm.Session | orm.scoped_session[Any]

CHUNK = 200  # rows between two pauses of a long read (`paced`; a query's `yield_per`)
T = TypeVar("T")


def insert_for(session: DbSession) -> Callable[..., Any]:
    """The INSERT construct of the session's database (PostgreSQL or SQLite), the one with
    ON CONFLICT: the same statement on both."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def paced(items: Iterable[T], pause: Callable[[], None] | None, every: int = CHUNK) -> Iterator[T]:
    """The items, calling `pause` after every `every` of them: a server gives other work its turn
    there, so that reading or building a whole talk (1,500 questions) never holds it throughout."""
    for n, item in enumerate(items, 1):
        yield item
        if pause is not None and n % every == 0:
            pause()
