"""The Dokumentation of a talk: what was asked and answered, published by an admin afterwards.

Only what the audience could see anyway goes in, and less: the questions that reached the
public, as the moderators last worded them (the originals stay in the audit log), the written
answers that were published, and a name only where its asker ticked "Meinen Namen in der
Dokumentation nennen". Never a rejected, merged-away or pending question, never a question of a
Probelauf, never a label, note, report, vote count or unpublished answer: the entries are built
here from those few fields, so a template cannot show more than this module hands it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import func, select

from ..models import STATUSES, Question, Talk
from . import DbSession
from .errors import DomainError

# Open questions after the round: answered in writing (published), to be answered in writing
# (the moderators drafted an answer), or not reached.
IN_WRITING, LATER, NOT_REACHED = "in_writing", "later", "not_reached"
SHOWN = ("approved", "forwarded", "answered")  # the statuses the audience saw; nothing else goes in
YOUTUBE = ("youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be")
MAX_RECORDING_URL = 500
# A moment this long after the scheduled end (an extended round) still gets its time; later ones
# (or earlier than the start) are outside the talk and its recording: no time, no link.
OVERRUN = timedelta(hours=1)


@dataclass(frozen=True)
class Entry:
    """One question as the documentation shows it, and nothing more."""

    number: int  # its place in the documentation (1, 2, …), not the question's id
    text: str
    name: str | None  # only with the asker's consent
    answer: str | None  # only a published written answer
    since_start: timedelta | None = None  # answered live: when it came up, from the talk's start
    link: str | None = None  # that moment in the recording
    state: str = ""  # open questions: IN_WRITING, LATER, NOT_REACHED

    @property
    def clock(self) -> str:
        """"00:34": hours and minutes since the start of the talk."""
        minutes = int(self.since_start.total_seconds() // 60) if self.since_start else 0
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    @property
    def seconds(self) -> int:
        return int(self.since_start.total_seconds()) if self.since_start else 0


@dataclass
class Documentation:
    talk: Talk
    answered: list[Entry] = field(default_factory=list)  # in the order they were answered
    open: list[Entry] = field(default_factory=list)  # oldest first
    counts: dict[str, int] = field(default_factory=dict)  # per status, outside a Probelauf; and "total"

    @property
    def in_writing(self) -> int:
        """Questions with a published written answer (live answers included)."""
        return sum(1 for e in [*self.answered, *self.open] if e.answer)


def moment(question: Question, talk: Talk) -> timedelta | None:
    """When an answered question came up, from the talk's start: put on the podium, or (answered
    without that) marked answered. None when that was outside the talk (its time would point
    nowhere in the recording)."""
    at = question.forwarded_at or question.answered_at
    if at is None or not talk.starts_at <= at <= talk.ends_at + OVERRUN:
        return None
    return at - talk.starts_at


def recording_link(url: str | None, seconds: int) -> str | None:
    """The recording at that moment: YouTube's `t` parameter, else a media fragment `#t=` (W3C
    Media Fragments; players of video files and most platforms follow it)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.hostname in YOUTUBE:
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "t"]
        query.append(("t", f"{seconds}s"))
        return urlunsplit(parts._replace(query=urlencode(query), fragment=""))
    return urlunsplit(parts._replace(fragment=f"t={seconds}"))


def recording_url(value: str | None) -> str | None:
    """An admin's "Aufzeichnung": an http(s) link of at most 500 characters, else refused."""
    value = (value or "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if len(value) > MAX_RECORDING_URL or parts.scheme not in ("http", "https") or not parts.netloc \
            or any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise DomainError("invalid", {"field": "recording_url"})
    return value


def counts(session: DbSession, talk: Talk) -> dict[str, int]:
    """Questions per status outside a Probelauf, and in total."""
    found = dict(session.execute(
        select(Question.status, func.count()).where(Question.talk_id == talk.id, Question.rehearsal.is_(False))
        .group_by(Question.status)).tuples().all())
    result = {status: found.get(status, 0) for status in STATUSES}
    result["total"] = sum(found.values())
    return result


def build(session: DbSession, talk: Talk) -> Documentation:
    """The documentation as it stands: published or not (the route decides who may read it)."""
    shown = list(session.scalars(select(Question).where(
        Question.talk_id == talk.id, Question.rehearsal.is_(False),
        Question.status.in_(SHOWN))))
    doc = Documentation(talk=talk, counts=counts(session, talk))
    answered = sorted((q for q in shown if q.status == "answered"),
                      key=lambda q: (q.answered_at or talk.starts_at, q.id))
    for n, q in enumerate(answered, 1):
        since = moment(q, talk)
        link = recording_link(talk.recording_url, int(since.total_seconds())) if since is not None else None
        doc.answered.append(Entry(n, q.text, _name(q), _answer(q), since_start=since, link=link))
    still_open = sorted((q for q in shown if q.status != "answered"), key=lambda q: (q.created_at, q.id))
    for n, q in enumerate(still_open, len(answered) + 1):
        state = IN_WRITING if q.answer_published and q.answer else LATER if q.answer else NOT_REACHED
        doc.open.append(Entry(n, q.text, _name(q), _answer(q), state=state))
    return doc


def _name(q: Question) -> str | None:
    return q.name if q.name and q.name_in_record else None


def _answer(q: Question) -> str | None:
    return q.answer if q.answer and q.answer_published else None
