from __future__ import annotations

from sqlalchemy import update

from ..models import Talk
from . import DbSession


def next_seq(session: DbSession, talk: Talk) -> int:
    """Take the talk's next change number in this transaction.

    A single UPDATE … RETURNING, so concurrent writers on PostgreSQL queue on the row
    lock instead of handing out the same number twice.
    """
    seq = session.execute(
        update(Talk).where(Talk.id == talk.id).values(seq=Talk.seq + 1).returning(Talk.seq)
    ).scalar_one()
    session.expire(talk, ["seq"])
    return seq
