"""When a talk's question round is open: by schedule, or by a moderator's hand."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..models import Talk, User
from . import DbSession
from .audit import record
from .errors import DomainError
from .writes import Write

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(day: date, at: time) -> datetime:
    """A wall-clock time in Berlin on a day, as an aware UTC datetime (DST-correct)."""
    return datetime.combine(day, at, tzinfo=BERLIN).astimezone(UTC)


def is_open(talk: Talk, now: datetime) -> bool:
    if talk.manual_state == "closed":
        return False
    scheduled = talk.starts_at <= now < talk.ends_at
    if talk.manual_state == "open":
        return scheduled or talk.manual_until is None or now < talk.manual_until
    return scheduled


def accepts_questions(talk: Talk, now: datetime) -> bool:
    """Open, or before the window of a talk that takes questions in advance ("Fragen vorab annehmen")."""
    if is_open(talk, now):
        return True
    return bool(talk.early_questions) and talk.manual_state != "closed" and now < talk.starts_at


def closes_at(talk: Talk, now: datetime) -> datetime | None:
    """When the open round will close by itself (None: only by hand, or it is closed)."""
    if not is_open(talk, now):
        return None
    if talk.manual_state == "open":
        if talk.manual_until is None:
            return None
        return max(talk.manual_until, talk.ends_at) if talk.starts_at <= now < talk.ends_at else talk.manual_until
    return talk.ends_at


def next_talk(session: DbSession, now: datetime, exclude_id: int | None = None) -> Talk | None:
    query = select(Talk).where(Talk.starts_at > now).order_by(Talk.starts_at).limit(1)
    if exclude_id is not None:
        query = query.where(Talk.id != exclude_id)
    return session.scalar(query)


def set_state(session: DbSession, talk: Talk, user: User, state: str, until: str | None,
              now: datetime) -> Write:
    """Open (optionally until a time) or close the round by hand; audited."""
    if state not in ("open", "closed"):
        raise DomainError("invalid", {"field": "state"})
    until_at = parse_until(until, now) if state == "open" else None
    if state == "open" and until_at is None and talk.starts_at <= now < talk.ends_at:
        until_at = talk.ends_at  # re-opened inside the schedule: it still ends on time
    before = describe(talk)
    talk.manual_state = state
    talk.manual_until = until_at
    return Write(talk_changed=True, step=record(session, talk, user, "talk_state", before=before, after=describe(talk)))


def parse_until(value: str | None, now: datetime) -> datetime | None:
    if value is None or value == "":
        return None
    if len(value) > 40:
        raise DomainError("invalid", {"field": "until"})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=BERLIN)
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 pushed past the calendar by an offset
        raise DomainError("invalid", {"field": "until"}) from None
    if parsed <= now:
        raise DomainError("invalid", {"field": "until"})
    return parsed


def describe(talk: Talk) -> str:
    until = talk.manual_until.isoformat() if talk.manual_until else "-"
    return f"{talk.manual_state or 'schedule'} until {until}"
