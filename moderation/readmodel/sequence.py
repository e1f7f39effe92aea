"""Per-view sequence numbers: each view's counter rises by one for each change it is told of."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import update

from ..models import Talk
from ..services import DbSession
from .views import VIEWS, View


def advance(session: DbSession, talk: Talk, told: Iterable[View]) -> dict[str, int]:
    """Take the next number of each view in `told`, in this transaction; every view's number now.

    One UPDATE … RETURNING: concurrent writers on PostgreSQL queue on the row lock instead of
    handing out a number twice, and the numbers commit with the change (so survive restarts).
    """
    columns = {view.name: getattr(Talk, view.seq_field) for view in VIEWS}
    bump = {view.seq_field: columns[view.name] + 1 for view in told}
    row = session.execute(
        update(Talk).where(Talk.id == talk.id).values(bump).returning(*columns.values())).one()
    session.expire(talk, [view.seq_field for view in VIEWS])
    return dict(zip(columns, row, strict=True))


def current(talk: Talk, view: View) -> int:
    return int(getattr(talk, view.seq_field))
