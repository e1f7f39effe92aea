"""Per-view sequence numbers: each view's counter rises by one for each change it is told of."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from sqlalchemy import update

from ..models import Talk
from ..services import DbSession
from .views import VIEWS, View

_FIELDS = tuple(dict.fromkeys(view.seq_field for view in VIEWS))  # each counter once


def advance(session: DbSession, talk: Talk, told: Iterable[View]) -> dict[str, int]:
    """Take the next number of each view in `told` that advances, in this transaction; every
    view's number now (a view told under another's current number gets that one)."""
    return advance_each(session, talk, [told])[0]


def advance_each(session: DbSession, talk: Talk, told_each: Sequence[Iterable[View]]) -> list[dict[str, int]]:
    """advance() for several changes of one transaction, in order: each change's numbers as if
    they had been taken one after another, all taken in one statement.

    One UPDATE … RETURNING: concurrent writers on PostgreSQL queue on the row lock instead of
    handing out a number twice, and the numbers commit with the change (so survive restarts).
    """
    steps = [{view.seq_field for view in told if view.advances} for told in told_each]
    total = Counter(name for step in steps for name in step)
    if not total:
        now = {view.name: current(talk, view) for view in VIEWS}
        return [dict(now) for _ in steps]
    row = session.execute(
        update(Talk).where(Talk.id == talk.id).values(
            {name: getattr(Talk, name) + n for name, n in total.items()}).returning(
            *(getattr(Talk, name) for name in _FIELDS))).one()
    session.expire(talk, list(_FIELDS))
    running = {name: number - total[name] for name, number in zip(_FIELDS, row, strict=True)}
    numbers = []
    for step in steps:
        for name in step:
            running[name] += 1
        numbers.append({view.name: running[view.seq_field] for view in VIEWS})
    return numbers


def current(talk: Talk, view: View) -> int:
    return int(getattr(talk, view.seq_field))
