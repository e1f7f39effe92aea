"""Blocked audience identities per talk (the keyed client hash, never an address)."""
from __future__ import annotations

from sqlalchemy import Exists, select

from ..models import Block, Talk
from . import DbSession
from .errors import DomainError


def blocked_clients(session: DbSession, talk: Talk) -> frozenset[str]:
    return frozenset(session.scalars(select(Block.client_hash).where(Block.talk_id == talk.id)))


def blocked_among(session: DbSession, talk: Talk, clients: set[str]) -> set[str]:
    """Which of these audience identities are blocked in this talk (one statement)."""
    if not clients:
        return set()
    return set(session.scalars(select(Block.client_hash).where(Block.talk_id == talk.id,
                                                                Block.client_hash.in_(clients))))


def blocked(talk: Talk, client: str) -> Exists:
    """The condition "this client is blocked in this talk", to put into a query of one's own."""
    return select(Block.id).where(Block.talk_id == talk.id, Block.client_hash == client).exists()


def is_blocked(session: DbSession, talk: Talk, client: str) -> bool:
    return bool(session.scalar(select(blocked(talk, client))))


def refusal() -> DomainError:
    """A blocked person may not submit or vote in this talk: `forbidden`, said politely."""
    return DomainError("forbidden", {"blocked": True})


def refuse_blocked(session: DbSession, talk: Talk, client: str) -> None:
    if is_blocked(session, talk, client):
        raise refusal()
