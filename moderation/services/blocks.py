"""Blocked audience identities per talk (the keyed client hash, never an address)."""
from __future__ import annotations

from sqlalchemy import select

from ..models import Block, Talk
from . import DbSession
from .errors import DomainError


def blocked_clients(session: DbSession, talk: Talk) -> frozenset[str]:
    return frozenset(session.scalars(select(Block.client_hash).where(Block.talk_id == talk.id)))


def is_blocked(session: DbSession, talk: Talk, client: str) -> bool:
    return session.scalar(select(Block.id).where(Block.talk_id == talk.id, Block.client_hash == client)) is not None


def refuse_blocked(session: DbSession, talk: Talk, client: str) -> None:
    """A blocked person may not submit or vote in this talk: `forbidden`, said politely."""
    if is_blocked(session, talk, client):
        raise DomainError("forbidden", {"blocked": True})
