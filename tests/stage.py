"""Talks in the states the browser tests need (before, during, after the window), written
straight into a real server's database, and questions moved along through its Socket.IO API."""
from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from moderation.models import Talk
from tests.server import Live, Server, new_msg_id

BERLIN = ZoneInfo("Europe/Berlin")


def at_berlin(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=BERLIN).astimezone(UTC)


def add_talk(server: Server, slug: str, title: str, starts_at: datetime, ends_at: datetime) -> str:
    """A talk outside any series; returns its podium token."""
    engine = create_engine(server.database_url)
    token = secrets.token_urlsafe(24)
    with Session(engine) as session:
        session.add(Talk(slug=slug, title=title, starts_at=starts_at, ends_at=ends_at, podium_token=token, seq=0))
        session.commit()
    engine.dispose()
    return token


def open_now(server: Server, slug: str, title: str) -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    return add_talk(server, slug, title, now - timedelta(minutes=30), now + timedelta(hours=4))


def in_days(server: Server, slug: str, title: str, days: int) -> str:
    day = datetime.now(BERLIN).date() + timedelta(days=days)
    return add_talk(server, slug, title, at_berlin(day, time(18, 30)), at_berlin(day, time(20, 0)))


def ask(server: Server, slug: str, text: str, name: str | None = None) -> int:
    audience = server.audience(slug)
    try:
        ack = audience.call("submit", {"text": text, "name": name, "client_msg_id": new_msg_id()})
    finally:
        audience.close()
    assert ack["ok"], ack
    return ack["question"]["id"]


def moderate(moderator: Live, question_id: int, *actions: str) -> dict:
    ack: dict = {}
    for action in actions:
        ack = moderator.call(action, {"question_id": question_id})
        assert ack["ok"], (action, ack)
    return ack
