"""Curation beyond yes and no: labels, private notes, written answers, blocking one person,
and the line to the podium. Labels and notes are the moderators' own; the read model keeps them
out of audience and podium payloads (`readmodel.views.STAFF_FIELDS`)."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..models import AuditEntry, Block, Label, Question, Talk, User, utcnow
from . import DbSession, actions
from .audit import record
from .blocks import is_blocked
from .errors import DomainError
from .questions import flush_or_conflict, get
from .text import normalise
from .writes import Answer, Changed, Write, changed, unchanged

MAX_LABEL = 40
MAX_LABELS_PER_QUESTION = 10
MAX_LABELS_PER_TALK = 100
MAX_NOTE = 500
MAX_ANSWER = 1000
MAX_BACKSTAGE = 200
# Written answers: for questions that made it past moderation, reached by the panel or not.
ANSWERABLE = ("approved", "forwarded", "answered")


def _text(value: object, limit: int, field: str) -> str | None:
    """Normalised text of at most `limit` characters; empty (clearing) is None."""
    if not isinstance(value, str):
        raise DomainError("invalid", {"field": field})
    text = normalise(value)
    if len(text) > limit:
        raise DomainError("too_long", {"max": limit, "field": field})
    return text or None


def talk_labels(session: DbSession, talk: Talk) -> list[str]:
    return list(session.scalars(select(Label.name).where(Label.talk_id == talk.id).order_by(Label.name)))


def set_labels(session: DbSession, talk: Talk, user: User, question_id: int, names: list[str]) -> Write:
    """Set a question's labels; names not used in this talk before are created (matched ignoring case)."""
    question = get(session, talk, question_id)
    wanted: dict[str, str] = {}
    for raw in names:
        name = _text(raw, MAX_LABEL, "label")
        if name:
            wanted.setdefault(name.casefold(), name)
    if len(wanted) > MAX_LABELS_PER_QUESTION:
        raise DomainError("invalid", {"field": "labels"})
    known = {label.name.casefold(): label for label in
             session.scalars(select(Label).where(Label.talk_id == talk.id))}
    new = [key for key in wanted if key not in known]
    if new and len(known) + len(new) > MAX_LABELS_PER_TALK:
        raise DomainError("invalid", {"field": "labels"})
    for key in new:
        known[key] = Label(talk_id=talk.id, name=wanted[key])
        session.add(known[key])
    labels = sorted((known[key] for key in wanted), key=lambda label: label.name)
    before = [label.name for label in question.labels]
    if [label.name for label in labels] == before:
        return unchanged(question)
    question.labels = labels
    session.flush()
    step = record(session, talk, user, "labels", question=question, from_status=question.status,
                  to_status=question.status, before=", ".join(before),
                  after=", ".join(label.name for label in labels))
    return changed(question, Changed(question, question.status, actions.changes("labels")), step=step)


def set_note(session: DbSession, talk: Talk, user: User, question_id: int, text: str) -> Write:
    """The moderators' private note on a question; empty clears it."""
    question = get(session, talk, question_id)
    note = _text(text, MAX_NOTE, "note")
    if note == question.note:
        return unchanged(question)
    before = question.note
    question.note = note
    flush_or_conflict(session, question)
    step = record(session, talk, user, "note", question=question, from_status=question.status,
                  to_status=question.status, before=before, after=note)
    return changed(question, Changed(question, question.status, actions.changes("note")), step=step)


_SHORTLIST = {True: "vorgemerkt", False: "nicht vorgemerkt"}  # the audit log's before/after


def set_shortlisted(session: DbSession, talk: Talk, user: User, question_id: int, on: bool) -> Write:
    """"Vormerken": puts a question on the talk's shortlist, shared by its moderators (or takes it off)."""
    question = get(session, talk, question_id)
    if question.shortlisted == on:
        return unchanged(question)
    # A plain UPDATE, not the ORM's: the star is the moderators' bookmark, not a change of the
    # question, so it keeps the version a card's next move is sent with ("Vormerken", then at once
    # "Ans Podium" was refused as changed meanwhile).
    session.execute(update(Question).where(Question.id == question.id).values(shortlisted=on)
                    .execution_options(synchronize_session=False))
    set_committed_value(question, "shortlisted", on)
    step = record(session, talk, user, "shortlist", question=question, from_status=question.status,
                  to_status=question.status, before=_SHORTLIST[not on], after=_SHORTLIST[on])
    return changed(question, Changed(question, question.status, actions.changes("shortlist")), step=step)


def _answer_state(answer: str | None, published: bool) -> str:
    return json.dumps({"text": answer, "published": published}, ensure_ascii=False)


def set_answer(session: DbSession, talk: Talk, user: User, question_id: int, text: str, publish: bool) -> Write:
    """Write (or edit) an answer: its author always sees it, the audience once it is published.
    An empty text withdraws it."""
    question = get(session, talk, question_id)
    if question.status not in ANSWERABLE:
        raise DomainError("invalid", {"status": question.status, "question": question})
    answer = _text(text, MAX_ANSWER, "answer")
    published = bool(publish and answer)
    if (answer, published) == (question.answer, question.answer_published):
        return unchanged(question)
    old: Answer = (question.answer, question.answer_published)
    question.answer, question.answer_published = answer, published
    flush_or_conflict(session, question)
    step = record(session, talk, user, "answer", question=question, from_status=question.status,
                  to_status=question.status, before=_answer_state(*old), after=_answer_state(answer, published))
    return changed(question, _answered(question, old), step=step)


def _answered(question: Question, old: Answer) -> Changed:
    """An answer changed: the audience hears of it only when what it shows of the answer changed."""
    return Changed(question, question.status, actions.changes("answer"), old_answer=old)


def _authored(session: DbSession, talk: Talk, client: str) -> list[Question]:
    return list(session.scalars(select(Question).where(Question.talk_id == talk.id, Question.client_hash == client)
                                .order_by(Question.id)))


def block(session: DbSession, talk: Talk, user: User, question_id: int) -> Write:
    """Stop the person behind this question from submitting and voting in this talk; their
    pending questions are rejected. Every card of theirs changes (moderators see "gesperrt")."""
    question = get(session, talk, question_id)
    client = question.client_hash
    if not client:
        raise DomainError("invalid", {"field": "question_id"})
    if is_blocked(session, talk, client):
        return unchanged(question)
    session.add(Block(talk_id=talk.id, client_hash=client, user_id=user.id, created_at=utcnow()))
    authored = _authored(session, talk, client)
    old = {q.id: q.status for q in authored}
    rejected = [q for q in authored if q.status == "pending"]
    for q in rejected:
        q.status = "rejected"
    session.flush()
    step = record(session, talk, user, "block", question=question, from_status=old[question.id],
                  to_status=question.status, before=",".join(str(q.id) for q in rejected))
    return changed(question, *_person(question, authored, "block", old), step=step)


def _person(question: Question, authored: list[Question], action: str,
            old: dict[int, str] | None = None) -> list[Changed]:
    """A block, an unblock or their undo changed every question of one person."""
    return [Changed(q, (old or {}).get(q.id, q.status),
                    actions.changes(action) if q.id == question.id else actions.touches(action)) for q in authored]


def unblock(session: DbSession, talk: Talk, user: User, question_id: int) -> Write:
    """Let the person take part again; questions rejected by the block stay rejected (undo restores them)."""
    question = get(session, talk, question_id)
    client = question.client_hash
    if not client or not is_blocked(session, talk, client):
        return unchanged(question)
    session.execute(delete(Block).where(Block.talk_id == talk.id, Block.client_hash == client))
    step = record(session, talk, user, "unblock", question=question, from_status=question.status,
                  to_status=question.status)
    return changed(question, *_person(question, _authored(session, talk, client), "unblock"), step=step)


# Taking steps back (services/steps.py): whether the question is still as the step left it, and
# the step reverted.

def answer_stands(session: DbSession, step: AuditEntry, question: Question) -> bool:
    return _answer_state(question.answer, question.answer_published) == step.after


def revert_answer(session: DbSession, talk: Talk, user: User, step: AuditEntry, question: Question,
                  now: datetime | None) -> list[Changed]:
    state = json.loads(step.before or "{}")
    old: Answer = (question.answer, question.answer_published)
    question.answer, question.answer_published = state.get("text"), bool(state.get("published"))
    return [_answered(question, old)]


def block_stands(session: DbSession, step: AuditEntry, question: Question) -> bool:
    return bool(question.client_hash) and is_blocked(session, question.talk, question.client_hash or "")


def revert_block(session: DbSession, talk: Talk, user: User, step: AuditEntry, question: Question,
                 now: datetime | None) -> list[Changed]:
    """The block is lifted; the questions it rejected are pending again (if still rejected)."""
    client = question.client_hash or ""
    session.execute(delete(Block).where(Block.talk_id == talk.id, Block.client_hash == client))
    restored = {int(i) for i in (step.before or "").split(",") if i}
    authored = _authored(session, talk, client)
    old = {q.id: q.status for q in authored}
    for q in authored:
        if q.id in restored and q.status == "rejected":
            q.status = "pending"
    session.flush()
    return _person(question, authored, "block", old)


def unblock_stands(session: DbSession, step: AuditEntry, question: Question) -> bool:
    return not block_stands(session, step, question)


def revert_unblock(session: DbSession, talk: Talk, user: User, step: AuditEntry, question: Question,
                   now: datetime | None) -> list[Changed]:
    client = question.client_hash or ""
    session.add(Block(talk_id=talk.id, client_hash=client, user_id=user.id, created_at=utcnow()))
    session.flush()
    return _person(question, _authored(session, talk, client), "unblock")


def set_backstage(session: DbSession, talk: Talk, user: User, text: str) -> Write:
    """The line to the podium; empty clears it. The same line again changes nothing."""
    line = _text(text, MAX_BACKSTAGE, "backstage")
    if line == talk.backstage_text:
        return Write()
    before = talk.backstage_text
    talk.backstage_text, talk.backstage_by = line, user.username if line else None
    session.flush()
    return Write(backstage=True, step=record(session, talk, user, "backstage", before=before, after=line))
