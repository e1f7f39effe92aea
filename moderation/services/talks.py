"""Series and talks: seed data, lookups, podium tokens."""
from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from ..models import Series, Talk, User
from . import DbSession
from .audit import record
from .errors import DomainError
from .windows import BERLIN, berlin, is_open
from .writes import Write

SERIES = {
    "slug": "kleinstaedte",
    "title": "Kleinstädte in Deutschland – Potenziale, Herausforderungen und neue Ideen",
    "organisers": "SLpB, BBSR, DStGB und DLT, mit Unterstützung des BMI "
                  "(Pilotphase der Kleinstadtakademie)",
    "description": "Digitale Podiumsdiskussion mit anschließender Fragerunde – für alle, "
                   "die in Kleinstädten aktiv sind, und alle Interessierten.",
}
# The announcement speaks of five talks but lists four: the fifth is added when it is known.
SERIES_TALKS = (
    ("unterschaetzte-groesse", date(2021, 3, 11), "Kleinstädte in Deutschland: Unterschätzte Größe?"),
    ("wohnen", date(2021, 3, 25), "Wohnen: Ist hier noch was frei?"),
    ("arbeit-digitale-transformation", date(2021, 4, 15),
     "Arbeit und Digitale Transformation: Kommt jetzt der Run auf die Kleinstädte?"),
    ("mobilitaet", date(2021, 4, 29), "Mobilität: Schon angebunden?"),
)
STARTS, ENDS = time(18, 30), time(20, 0)
DEMO_SLUG = "demo"


def new_podium_token() -> str:
    return secrets.token_urlsafe(24)


def by_slug(session: DbSession, slug: object) -> Talk:
    if not isinstance(slug, str) or not slug or len(slug) > 80 or "\x00" in slug:  # PostgreSQL refuses NUL
        raise DomainError("not_found")
    talk = session.scalar(select(Talk).where(Talk.slug == slug))
    if talk is None:
        raise DomainError("not_found")
    return talk


def by_podium_token(session: DbSession, token: object) -> Talk:
    if not isinstance(token, str) or not token or len(token) > 64 or "\x00" in token:
        raise DomainError("forbidden")
    talk = session.scalar(select(Talk).where(Talk.podium_token == token))
    if talk is None or not secrets.compare_digest(talk.podium_token, token):
        raise DomainError("forbidden")
    return talk


def podium_tokens(session: DbSession, talk_ids: set[int]) -> dict[int, str]:
    """The podium token of each of these talks (one statement)."""
    return {talk_id: token for talk_id, token in
            session.execute(select(Talk.id, Talk.podium_token).where(Talk.id.in_(talk_ids)))}


def seed(session: DbSession, now: datetime) -> list[str]:
    """Idempotent: the series, its four talks, and a talk `demo` that is open now."""
    done: list[str] = []
    series = session.scalar(select(Series).where(Series.slug == SERIES["slug"]))
    if series is None:
        series = Series(**SERIES)
        session.add(series)
        session.flush()
        done.append(f"Reihe angelegt: {series.title}")
    for slug, day, title in SERIES_TALKS:
        if session.scalar(select(Talk).where(Talk.slug == slug)) is None:
            session.add(Talk(series_id=series.id, slug=slug, title=title, starts_at=berlin(day, STARTS),
                             ends_at=berlin(day, ENDS), podium_token=new_podium_token(), seq=0))
            done.append(f"Vortrag angelegt: {day.isoformat()} {title}")
    demo = session.scalar(select(Talk).where(Talk.slug == DEMO_SLUG))
    if demo is None:
        demo = Talk(slug=DEMO_SLUG, title="Demo: Fragerunde ausprobieren", podium_token=new_podium_token(),
                    starts_at=now, ends_at=now, seq=0)
        session.add(demo)
        done.append("Demo-Vortrag angelegt: demo")
    if not is_open(demo, now) or demo.ends_at - now < timedelta(hours=1):
        local = now.astimezone(BERLIN)
        demo.starts_at = (local - timedelta(minutes=30)).astimezone(now.tzinfo)
        demo.ends_at = (local + timedelta(hours=4)).astimezone(now.tzinfo)
        demo.manual_state = None
        demo.manual_until = None
        done.append("Demo-Vortrag ist jetzt geöffnet")
    session.flush()
    return done


def listing(session: DbSession) -> tuple[list[Series], list[Talk]]:
    """All series with their talks, and the talks outside any series."""
    series = list(session.scalars(select(Series).order_by(Series.title)))
    loose = list(session.scalars(select(Talk).where(Talk.series_id.is_(None)).order_by(Talk.starts_at)))
    return series, loose


def set_podium_next(session: DbSession, talk: Talk, user: User, show: bool) -> Write:
    """Whether the podium lists the questions after the current one; audited, every screen hears of it."""
    if talk.podium_shows_next == show:
        return Write()
    step = record(session, talk, user, "podium_next", before="on" if talk.podium_shows_next else "off",
                  after="on" if show else "off")
    talk.podium_shows_next = show
    return Write(talk_changed=True, step=step)
