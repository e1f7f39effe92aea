"""The organiser's side of talks: create and edit them, who moderates them, their state."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from sqlalchemy import delete, func, select, update

from ..models import Question, Talk, TalkModerator, User
from . import DbSession, accounts, documentation
from .audit import record
from .errors import DomainError
from .talks import new_podium_token
from .windows import BERLIN, is_open
from .writes import Sessions, Write

K = TypeVar("K")

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Words of the application's own addresses: a talk named `new` could never be reached at
# /admin/talks/new, one named `export.csv` or `report` would read as a page of another.
RESERVED_SLUGS = frozenset({
    "new", "neu", "admin", "api", "audit", "barrierefreiheit", "datenschutz", "desk", "dokumentation",
    "export", "healthz", "import", "login", "logout", "mail", "moderate", "podium", "podium-next", "qr",
    "regeln", "report", "series", "socket-io", "static", "t", "talks", "tokens", "users"})
STATES = ("planned", "open", "ended")


@dataclass
class TalkInput:
    """What the talk form carries, already typed; times are Berlin wall-clock times."""
    title: str
    slug: str
    day: date
    begins: time
    ends: time
    series_id: int | None = None
    description: str = ""
    audience_votes: bool = True
    premoderation: bool = True
    early_questions: bool = False
    moderator_ids: list[int] = field(default_factory=list)
    recording_url: str | None = None  # "Aufzeichnung"
    record_published: bool = False  # "Dokumentation veröffentlichen"


@dataclass
class Saved:
    talk: Talk
    created: bool
    write: Write  # talk_changed when open pages show something that changed; `ended`: who was removed

    @property
    def live_changed(self) -> bool:
        return self.write.talk_changed


def wall_clock(day: date, at: time) -> datetime:
    """A Berlin wall-clock time as aware UTC; a time the DST switch skips is refused."""
    local = datetime.combine(day, at, tzinfo=BERLIN)
    utc = local.astimezone(UTC)
    if utc.astimezone(BERLIN).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise DomainError("invalid", {"field": "begins", "reason": "dst_gap"})
    return utc


OVERNIGHT = timedelta(hours=12)


def days_to_end(begins: time, ends: time) -> int | None:
    """0 when the round ends on its day, 1 when an end before the beginning is the next day's (a
    round from 23:00 to 01:00: the form holds one day and two times), None when neither fits
    (the end equal to the beginning, or a round that would last more than OVERNIGHT: a typo)."""
    if ends > begins:
        return 0
    span = datetime.combine(date.min + timedelta(days=1), ends) - datetime.combine(date.min, begins)
    return 1 if timedelta(0) < span <= OVERNIGHT else None


def window(data: TalkInput) -> tuple[datetime, datetime]:
    try:
        starts = wall_clock(data.day, data.begins)
    except DomainError:
        raise DomainError("invalid", {"field": "begins", "reason": "dst_gap"}) from None
    days = days_to_end(data.begins, data.ends)
    if days is None:
        raise DomainError("invalid", {"field": "ends", "reason": "before_start"})
    try:
        ends = wall_clock(data.day + timedelta(days=days), data.ends)
    except DomainError:
        raise DomainError("invalid", {"field": "ends", "reason": "dst_gap"}) from None
    return starts, ends


def save(session: DbSession, talk: Talk | None, data: TalkInput, by: User) -> Saved:
    """Create a talk (talk=None) or change one; audited on the talk's log."""
    title = data.title.strip()
    if not title or len(title) > 300:
        raise DomainError("invalid", {"field": "title"})
    if not SLUG.fullmatch(data.slug) or len(data.slug) > 80:
        raise DomainError("invalid", {"field": "slug", "reason": "format"})
    if data.slug in RESERVED_SLUGS and (talk is None or talk.slug != data.slug):
        raise DomainError("invalid", {"field": "slug", "reason": "reserved"})
    clash = session.scalar(select(Talk.id).where(Talk.slug == data.slug))
    if clash is not None and (talk is None or clash != talk.id):
        raise DomainError("invalid", {"field": "slug", "reason": "taken"})
    starts, ends = window(data)
    recording = documentation.recording_url(data.recording_url)
    created = talk is None
    if talk is None:
        talk = Talk(podium_token=new_podium_token(), seq=0, audience_peak=0)
        session.add(talk)
        before = None
    else:
        before = describe(session, talk)
    live_before = (talk.starts_at, talk.ends_at, talk.audience_votes, talk.title, talk.early_questions,
                   talk.premoderation)
    talk.title, talk.slug, talk.series_id = title, data.slug, data.series_id
    talk.starts_at, talk.ends_at = starts, ends
    talk.description = data.description.strip()
    talk.audience_votes, talk.premoderation = data.audience_votes, data.premoderation
    talk.early_questions = data.early_questions
    talk.recording_url = recording
    published_before = bool(talk.record_published)
    talk.record_published = data.record_published
    session.flush()
    removed = assign(session, talk, data.moderator_ids)
    record(session, talk, by, "talk_created" if created else "talk_changed", before=before,
           after=describe(session, talk))
    if talk.record_published != published_before:
        record(session, talk, by, "record_published" if talk.record_published else "record_withdrawn")
    live_after = (talk.starts_at, talk.ends_at, talk.audience_votes, talk.title, talk.early_questions,
                  talk.premoderation)
    write = Write(talk_changed=not created and live_before != live_after,
                  ended=[(Sessions("account", user_id), "removed") for user_id in removed])
    return Saved(talk, created, write)


def describe(session: DbSession, talk: Talk) -> str:
    names = ", ".join(u.username for u in moderators(session, talk))
    return (f"{talk.slug} · {talk.title} · {talk.starts_at:%Y-%m-%d %H:%M}–{talk.ends_at:%H:%M} UTC · "
            f"Stimmen {'an' if talk.audience_votes else 'aus'} · "
            f"Vorab-Moderation {'an' if talk.premoderation else 'aus'} · "
            f"vorab {'an' if talk.early_questions else 'aus'} · Moderation: {names or '–'} · "
            f"Aufzeichnung: {talk.recording_url or '–'} · "
            f"Dokumentation {'veröffentlicht' if talk.record_published else 'nicht veröffentlicht'}")


def assign(session: DbSession, talk: Talk, user_ids: list[int]) -> list[int]:
    """Set who moderates the talk; returns the ids whose assignment ended."""
    wanted = set(session.scalars(select(User.id).where(User.id.in_(set(user_ids))))) if user_ids else set()
    current = set(session.scalars(select(TalkModerator.user_id).where(TalkModerator.talk_id == talk.id)))
    removed = current - wanted
    if removed:
        session.execute(delete(TalkModerator).where(TalkModerator.talk_id == talk.id,
                                                    TalkModerator.user_id.in_(removed)))
    for user_id in wanted - current:
        session.add(TalkModerator(talk_id=talk.id, user_id=user_id))
    session.flush()
    return sorted(removed)


def moderators(session: DbSession, talk: Talk) -> list[User]:
    return list(session.scalars(select(User).join(TalkModerator, TalkModerator.user_id == User.id)
                                .where(TalkModerator.talk_id == talk.id).order_by(User.username)))


def may_moderate(session: DbSession, user: User, talk: Talk) -> bool:
    """Admins moderate every talk; moderators the talks they are assigned to.

    A talk nobody is assigned to yet is open to every moderator, so that talks from before
    assignments existed (and the seed's `demo`) keep their moderators."""
    assigned = _assigned(session, {talk.id})[talk.id]
    return _moderates(user, bool(assigned), user.id in assigned)


def seat(session: DbSession, login: str, talk_id: int) -> tuple[Talk | None, User | None, bool]:
    """A moderator's screen at a talk, checked at each of its events in one statement: the talk,
    the account its Flask-Login id still loads (None: logged out, new password, deactivated), and
    whether that account may moderate the talk (may_moderate)."""
    assignment = select(TalkModerator.user_id).where(TalkModerator.talk_id == Talk.id)
    row = session.execute(
        select(Talk, User, assignment.exists(), assignment.where(TalkModerator.user_id == User.id).exists())
        .outerjoin(User, User.id == accounts.login_user_id(login)).where(Talk.id == talk_id)).first()
    if row is None:
        return None, None, False
    talk, user, anyone_assigned, assigned = row
    if not accounts.loads(user, login):
        return talk, None, False
    return talk, user, _moderates(user, anyone_assigned, assigned)


def _moderates(user: User, anyone_assigned: bool, assigned: bool) -> bool:
    return user.active and (user.is_admin or not anyone_assigned or assigned)


def _assigned(session: DbSession, talk_ids: set[int]) -> dict[int, set[int]]:
    """Per talk, the ids of the accounts assigned to moderate it."""
    result: dict[int, set[int]] = {talk_id: set() for talk_id in talk_ids}
    for talk_id, user_id in session.execute(select(TalkModerator.talk_id, TalkModerator.user_id)
                                            .where(TalkModerator.talk_id.in_(talk_ids))):
        result[talk_id].add(user_id)
    return result


def ended_moderation(session: DbSession, seats: dict[K, tuple[str, int]]) -> dict[K, str]:
    """Of these seats at a talk's queue (a login id, a talk id), those whose access ended, and why:
    `logged_out` (the login no longer loads an active account: logged out, new password,
    deactivated) or `removed` (the account no longer moderates the talk). Three statements."""
    users = {user.get_id(): user for user in accounts.load_all(session, {login for login, _ in seats.values()})}
    assigned = _assigned(session, {talk_id for _, talk_id in seats.values()})
    ended: dict[K, str] = {}
    for key, (login, talk_id) in seats.items():
        user = users.get(login)
        if user is None:
            ended[key] = "logged_out"
        elif not _moderates(user, bool(assigned[talk_id]), user.id in assigned[talk_id]):
            ended[key] = "removed"
    return ended


def state(talk: Talk, now: datetime) -> str:
    """planned / open / ended, as the talk list shows it."""
    if is_open(talk, now):
        return "open"
    return "ended" if now >= talk.ends_at else "planned"


def question_counts(session: DbSession) -> dict[int, dict[str, int]]:
    """Per talk: questions in total and per status."""
    result: dict[int, dict[str, int]] = {}
    for talk_id, status, n in session.execute(
            select(Question.talk_id, Question.status, func.count()).group_by(Question.talk_id, Question.status)):
        counts = result.setdefault(talk_id, {"total": 0})
        counts[status] = n
        counts["total"] += n
    return result


def rotate_podium_token(session: DbSession, talk: Talk, by: User) -> Write:
    """A new podium link: the old one stops working at once, and the screens open with it close."""
    talk.podium_token = new_podium_token()
    step = record(session, talk, by, "podium_link", after="erneuert")
    session.flush()
    return Write(ended=[(Sessions("podium", talk.id), "podium_link")], step=step)


def note_audience(session: DbSession, talk_id: int, connected: int) -> None:
    """Raise the talk's recorded peak of connected audience sockets (one UPDATE, never lowers it)."""
    session.execute(update(Talk).where(Talk.id == talk_id, Talk.audience_peak < connected)
                    .values(audience_peak=connected))
