"""The record of a talk afterwards: figures for the press office, drawn on the server."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..models import STATUSES, AuditEntry, Question, Talk
from . import DbSession, actions, reports
from . import questions as question_service

BUCKET = timedelta(minutes=10)
# A talk reopened years later, or one taking questions long before its date, spans years: the
# chart widens its bars instead of drawing one per ten minutes (299,155 bars for a 2021 talk).
MAX_BUCKETS = 200
WIDTHS = (BUCKET, timedelta(minutes=30), timedelta(hours=1), timedelta(hours=3), timedelta(hours=6),
          timedelta(hours=12), timedelta(days=1), timedelta(days=7), timedelta(days=30))


@dataclass
class Bucket:
    starts: datetime
    count: int


@dataclass
class Report:
    talk: Talk
    total: int
    by_status: dict[str, int]
    answered_share: float | None  # of the questions that were not merged into another
    buckets: list[Bucket]
    bucket_width: timedelta  # BUCKET, or wider for a long span (see bucket_width)
    top_unanswered: list[tuple[Question, int, int]]  # question, votes, upvotes
    audience_peak: int
    actions: dict[str, dict[str, int]] = field(default_factory=dict)  # username -> action -> n
    action_codes: list[str] = field(default_factory=list)  # the report's columns: actions anyone took
    labels: list[tuple[str, int, int]] = field(default_factory=list)  # label, questions, answered
    # Moderation in figures: rejected questions per reason ("" for none given), in the registry's
    # order, and the audience's reports per reason.
    reject_reasons: dict[str, int] = field(default_factory=dict)
    reports: dict[str, int] = field(default_factory=dict)
    # (source, an import's Quelle), questions, answered: per channel, most first
    channels: list[tuple[tuple[str, str | None], int, int]] = field(default_factory=list)


def build(session: DbSession, talk: Talk) -> Report:
    rows = list(session.scalars(select(Question).where(Question.talk_id == talk.id, Question.rehearsal.is_(False))
                                .order_by(Question.created_at)))
    by_status = {status: 0 for status in STATUSES}
    for q in rows:
        by_status[q.status] = by_status.get(q.status, 0) + 1
    distinct = len(rows) - by_status["merged"]
    counts = question_service.counts(session, talk)
    open_ones = [q for q in rows if q.status not in ("answered", "merged")]
    taken = per_moderator(session, talk)
    top = sorted(((q, counts.get(q.id, {}).get("votes", 0), counts.get(q.id, {}).get("upvotes", 0))
                  for q in open_ones), key=lambda item: (-item[1], -item[2], item[0].id))[:10]
    times = [q.created_at for q in rows]
    return Report(talk=talk, total=len(rows), by_status=by_status,
                  answered_share=by_status["answered"] / distinct if distinct else None,
                  buckets=buckets(talk, times), bucket_width=bucket_width(talk, times), top_unanswered=top,
                  audience_peak=talk.audience_peak, actions=taken, action_codes=columns(taken),
                  labels=labelled(rows), reject_reasons=rejected_by_reason(rows),
                  reports=reports.per_reason(session, talk), channels=by_channel(rows))


def rejected_by_reason(rows: list[Question]) -> dict[str, int]:
    """The rejected questions per reason the moderators gave ("": none), in the registry's order."""
    tally = {code: 0 for code in [*actions.REJECT_REASONS, ""]}
    for q in rows:
        if q.status == "rejected":
            tally[q.reject_reason if q.reject_reason in actions.REJECT_REASONS else ""] += 1
    return tally


def by_channel(rows: list[Question]) -> list[tuple[tuple[str, str | None], int, int]]:
    """Per channel (web, email, import with its Quelle, api:<label>): questions that came that
    way, merged ones included (each arrived by one channel), and how many of those were answered
    (a merged one counts when the question it went into was)."""
    status = {q.id: q.status for q in rows}
    tally: dict[tuple[str, str | None], list[int]] = {}
    for q in rows:
        counts = tally.setdefault((q.source, q.source_label if q.source == "import" else None), [0, 0])
        counts[0] += 1
        final = status.get(q.merged_into_id, q.status) if q.merged_into_id else q.status
        counts[1] += final == "answered"
    return sorted(((key, n, done) for key, (n, done) in tally.items()), key=lambda item: (-item[1], item[0]))


def labelled(rows: list[Question]) -> list[tuple[str, int, int]]:
    """Per moderators' label: its questions and how many of them were answered, most first."""
    tally: dict[str, list[int]] = {}
    for q in rows:
        for label in q.labels:
            counts = tally.setdefault(label.name, [0, 0])
            counts[0] += 1
            counts[1] += q.status == "answered"
    return sorted(((name, n, done) for name, (n, done) in tally.items()), key=lambda item: (-item[1], item[0]))


def span(talk: Talk, times: list[datetime]) -> tuple[datetime, datetime]:
    """From the start of the window (or the first question) to its end (or the last question)."""
    return min([talk.starts_at, *times]), max([talk.ends_at, *times])


def bucket_width(talk: Talk, times: list[datetime]) -> timedelta:
    """Ten minutes, or the narrowest of WIDTHS that keeps the chart within MAX_BUCKETS bars
    (past 30-day bars: the span divided evenly)."""
    start, end = span(talk, times)
    for width in WIDTHS:
        if (end - start) / width <= MAX_BUCKETS:
            return width
    return (end - start) / MAX_BUCKETS + timedelta(seconds=1)


def buckets(talk: Talk, times: list[datetime]) -> list[Bucket]:
    """Questions per bucket_width (ten minutes for a talk of usual length) over the span."""
    start, end = span(talk, times)
    width = bucket_width(talk, times)
    n = max(1, int((end - start) / width) + (1 if (end - start) % width else 0))
    result = [Bucket(start + i * width, 0) for i in range(n)]
    for at in times:
        index = min(int((at - start) / width), n - 1)
        result[index].count += 1
    return result


def columns(taken: dict[str, dict[str, int]]) -> list[str]:
    """The moderators' actions someone took in this talk, in the registry's order."""
    return [code for code in actions.REPORTED if any(code in counts for counts in taken.values())]


def per_moderator(session: DbSession, talk: Talk) -> dict[str, dict[str, int]]:
    """For each moderator, how often they took each moderators' action (services/actions.py)."""
    result: dict[str, dict[str, int]] = {}
    query = (select(AuditEntry.username, AuditEntry.action, func.count())
             .where(AuditEntry.talk_id == talk.id, AuditEntry.username.is_not(None),
                    AuditEntry.action.in_(actions.REPORTED), AuditEntry.rehearsal.is_(False))
             .group_by(AuditEntry.username, AuditEntry.action))
    for username, action, n in session.execute(query):
        result.setdefault(username, {})[action] = n
    return dict(sorted(result.items()))
