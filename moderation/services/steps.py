"""Which of a moderator's own steps "Rückgängig" takes back, when it has to ask first, and how.

A step is one audited action of a moderator on a question, of an action the registry declares
undoable (`actions.UNDOABLE`). Undo takes back only the moderator's own steps, newest first;
exactly the step it was shown (`step`), never another; never one that another moderator has built
on (a later step of theirs on the same question that still stands), never one whose question is no
longer as the step left it, and a step older than CONFIRM_AFTER only when the moderator confirmed
that very step. `undo_step` (describe) and `undo` name the same step by the same rule.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from ..models import AuditEntry, Question, Talk, User
from . import DbSession, actions, curation, questions
from .audit import record
from .errors import DomainError
from .writes import Changed, Write, changed

CONFIRM_AFTER = timedelta(minutes=3)


@dataclass(frozen=True)
class Kind:
    """How one kind of step (`actions.Undo.kind`) is taken back: `stands` says whether the question
    is still as the step left it; `revert` takes the step back and lists what changed."""

    stands: Callable[[DbSession, AuditEntry, Question], bool]
    revert: Callable[[DbSession, Talk, User, AuditEntry, Question, datetime | None], list[Changed]]


KINDS: dict[str, Kind] = {
    "status": Kind(questions.status_stands, questions.revert_status),
    "text": Kind(questions.text_stands, questions.revert_edit),
    "merge": Kind(questions.merge_stands, questions.revert_merge),
    "answer": Kind(curation.answer_stands, curation.revert_answer),
    "block": Kind(curation.block_stands, curation.revert_block),
    "unblock": Kind(curation.unblock_stands, curation.revert_unblock),
}


def _kind(step: AuditEntry) -> Kind:
    action = actions.get(step.action)
    assert action is not None and action.undo is not None, step.action
    return KINDS[action.undo.kind]


def newest(session: DbSession, talk: Talk, user: User) -> AuditEntry | None:
    """The moderator's newest step in this talk that is not undone yet."""
    return session.scalar(
        select(AuditEntry).where(
            AuditEntry.talk_id == talk.id, AuditEntry.user_id == user.id,
            AuditEntry.question_id.is_not(None), AuditEntry.undone.is_(False),
            AuditEntry.action.in_(actions.UNDOABLE))
        .order_by(AuditEntry.id.desc()).limit(1))


def _newest_by(step: AuditEntry, talk: Talk, user: User) -> bool:
    """Whether `step`, recorded just now, is what `newest` finds: the same conditions."""
    return (step.talk_id == talk.id and step.user_id == user.id and step.question_id is not None
            and not step.undone and step.action in actions.UNDOABLE)


def built_on(session: DbSession, step: AuditEntry) -> AuditEntry | None:
    """The first later step of another moderator on the same question that still stands."""
    return session.scalar(
        select(AuditEntry).where(
            AuditEntry.question_id == step.question_id, AuditEntry.id > step.id,
            AuditEntry.user_id.is_not(None), AuditEntry.user_id != step.user_id,
            AuditEntry.undone.is_(False), AuditEntry.action != "undo")
        .order_by(AuditEntry.id).limit(1))


def check(session: DbSession, step: AuditEntry, question: Question, *, expected: object,
          confirmed: bool, now: datetime | None) -> None:
    """Refuse to undo `step` with `conflict` (and the reason) or `confirm` (what it would change)."""
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int)):
        raise DomainError("invalid", {"field": "step"})
    detail = {"step": summary(step, question), "question": question}
    if expected is not None and expected != step.id:
        raise DomainError("conflict", detail | {"reason": "moved"})
    other = built_on(session, step)
    if other is not None:
        raise DomainError("conflict", detail | {"reason": "built_on", "by": other.username or "",
                                                "their": other.action})
    if not _kind(step).stands(session, step, question):
        raise DomainError("conflict", detail | {"reason": "changed"})
    if now is not None and not confirmed and now - step.at > CONFIRM_AFTER:
        minutes = int((now - step.at).total_seconds() // 60)
        raise DomainError("confirm", detail | {"minutes": minutes})


def summary(step: AuditEntry, question: Question) -> dict[str, Any]:
    """What the page shows of a step: enough to name it ("„Wie kommt…“ freigegeben")."""
    return {"id": step.id, "action": step.action, "question_id": step.question_id,
            "text": question.text, "from_status": step.from_status, "to_status": step.to_status,
            "before": step.before if step.action == "edit" else None,
            "at": step.at.isoformat().replace("+00:00", "Z")}


def describe(session: DbSession, talk: Talk, user: User, written: AuditEntry | None = None) -> dict[str, Any] | None:
    """The summary of the step the next undo would take back, if there is one. `written`, the step
    the moderator's event has just recorded, is that step if undo takes back its kind: no query."""
    step = written if written is not None and _newest_by(written, talk, user) else newest(session, talk, user)
    if step is None:
        return None
    question = session.get(Question, step.question_id)
    return summary(step, question) if question is not None else None


def undo(session: DbSession, talk: Talk, user: User, now: datetime | None = None, *,
         step: object = None, confirmed: bool = False) -> Write:
    """Take back this moderator's newest step in this talk, as a new audited entry.

    `step` is the id of the step the moderator was shown: another newest step is a conflict.
    The write's `undone` is the step taken back, named as it was shown."""
    last = newest(session, talk, user)
    if last is None:
        raise DomainError("not_found", {"what": "undo"})
    question = session.get(Question, last.question_id)
    if question is None:
        raise DomainError("not_found", {"what": "undo"})
    check(session, last, question, expected=step, confirmed=confirmed, now=now)
    undone = summary(last, question)
    old = question.status
    changes = _kind(last).revert(session, talk, user, last, question, now)
    questions.flush_or_conflict(session, question)
    last.undone = True
    entry = record(session, talk, user, "undo", question=question, from_status=old,
                   to_status=question.status, before=last.after, after=last.before, undoes=last)
    write = changed(question, *changes, step=entry)
    write.undone = undone
    return write
