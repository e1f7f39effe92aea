"""Per-view sequence numbers: each view's counter rises by one for each change it is told of."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import update

from ..models import Talk
from ..services import DbSession
from .views import VIEWS, View

_FIELDS = tuple(dict.fromkeys(view.seq_field for view in VIEWS))  # each counter once


def advance(session: DbSession, talk: Talk, told: Iterable[View]) -> dict[str, int]:
    """Take the next number of each view in `told` that advances, in this transaction; every
    view's number now (a view told under another's current number gets that one).

    One UPDATE … RETURNING: concurrent writers on PostgreSQL queue on the row lock instead of
    handing out a number twice, and the numbers commit with the change (so survive restarts).
    """
    bump = {view.seq_field: getattr(Talk, view.seq_field) + 1 for view in told if view.advances}
    if not bump:
        return {view.name: current(talk, view) for view in VIEWS}
    row = session.execute(
        update(Talk).where(Talk.id == talk.id).values(bump).returning(
            *(getattr(Talk, name) for name in _FIELDS))).one()
    session.expire(talk, list(_FIELDS))
    numbers = dict(zip(_FIELDS, row, strict=True))
    return {view.name: numbers[view.seq_field] for view in VIEWS}


def current(talk: Talk, view: View) -> int:
    return int(getattr(talk, view.seq_field))
