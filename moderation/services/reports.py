""""Melden": the audience reports a public question (Digital Services Act, Art. 16).

A report is one audience identity (the keyed client hash, never an address) saying one public
question is insulting, false, advertising or off topic: stored once per person and question,
counted per reason for the moderators, never shown to the audience or the podium, and never
hiding a question by itself — moderators decide (a question several people reported is marked
on the desk, `FLAG_AT`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, func, select

from ..models import PUBLIC_STATUSES, Question, QuestionReport, Talk, utcnow
from . import DbSession, actions, blocks, insert_for
from .errors import DomainError
from .questions import MAX_ID
from .writes import Changed, Write, changed, unchanged

# The desk marks a question once this many people reported it (it is never hidden by itself).
FLAG_AT = 2

Counts = dict[int, dict[str, int]]


def report(session: DbSession, talk: Talk, client: str, question_id: int, reason: str,
           admit: Callable[[], None] | None = None) -> Write:
    """Report a public question once; the same person again (for any reason) is `ok` and changes
    nothing. `admit` (the caller's rate limit) runs only before a new report is stored."""
    if reason not in actions.REPORT_REASONS:
        raise DomainError("invalid", {"field": "reason"})
    question = session.get(Question, question_id) if 0 < question_id < MAX_ID else None
    if question is None or question.talk_id != talk.id or question.status not in PUBLIC_STATUSES:
        blocks.refuse_blocked(session, talk, client)
        raise DomainError("not_found")
    blocks.refuse_blocked(session, talk, client)
    if _exists(session, question.id, client):
        return unchanged(question)
    if admit is not None:
        admit()
    stored = session.execute(_insert(session).returning(QuestionReport.id), {
        "talk_id": talk.id, "question_id": question.id, "client_hash": client, "reason": reason,
        "created_at": utcnow()}).first()
    if stored is None:  # the same person, a moment earlier on another connection
        return unchanged(question)
    return changed(question, Changed(question, question.status, actions.changes("report")))


def _exists(session: DbSession, question_id: int, client: str) -> bool:
    return session.scalar(select(QuestionReport.id).where(
        QuestionReport.question_id == question_id, QuestionReport.client_hash == client)) is not None


_INSERTS: dict[str, Any] = {}


def _insert(session: DbSession) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for this database: a concurrent second report of the same
    person is the same report."""
    dialect = session.get_bind().dialect.name
    if dialect not in _INSERTS:
        table = cast(Table, QuestionReport.__table__)
        _INSERTS[dialect] = insert_for(session)(table).on_conflict_do_nothing(
            index_elements=[table.c.question_id, table.c.client_hash])
    return _INSERTS[dialect]


def counts(session: DbSession, talk: Talk, question_ids: list[int] | None = None) -> Counts:
    """Per question, how many people reported it for each reason (only reported questions)."""
    query = (select(QuestionReport.question_id, QuestionReport.reason, func.count())
             .where(QuestionReport.talk_id == talk.id)
             .group_by(QuestionReport.question_id, QuestionReport.reason))
    if question_ids is not None:
        query = query.where(QuestionReport.question_id.in_(question_ids))
    result: Counts = {}
    for question_id, reason, n in session.execute(query):
        result.setdefault(question_id, {})[reason] = n
    return result


def reported_by(session: DbSession, talk: Talk, client: str) -> set[int]:
    """The questions of this talk this audience identity has reported (its page says so)."""
    return set(session.scalars(select(QuestionReport.question_id).where(
        QuestionReport.talk_id == talk.id, QuestionReport.client_hash == client)))


def per_reason(session: DbSession, talk: Talk) -> dict[str, int]:
    """Reports per reason over the talk's questions outside a Probelauf, in the registry's order
    (for the report)."""
    query = (select(QuestionReport.reason, func.count()).join(Question, Question.id == QuestionReport.question_id)
             .where(QuestionReport.talk_id == talk.id, Question.rehearsal.is_(False))
             .group_by(QuestionReport.reason))
    if talk.rehearsal_since is not None:
        query = query.where(QuestionReport.created_at < talk.rehearsal_since)
    found = dict(session.execute(query).tuples().all())
    return {code: found.get(code, 0) for code in actions.REPORT_REASONS}
