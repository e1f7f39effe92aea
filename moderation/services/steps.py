"""Which of a moderator's own steps "Rückgängig" takes back, and when it has to ask first.

A step is one audited action of a moderator on a question. Undo takes back only the
moderator's own steps, newest first; never one that another moderator has built on (a later
step of theirs on the same question that still stands), and a step older than CONFIRM_AFTER
only when the moderator confirmed that very step.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from ..models import AuditEntry, Question, Talk, User
from . import DbSession
from .errors import DomainError

CONFIRM_AFTER = timedelta(minutes=3)


def newest(session: DbSession, talk: Talk, user: User, actions: tuple[str, ...]) -> AuditEntry | None:
    """The moderator's newest step in this talk that is not undone yet."""
    return session.scalar(
        select(AuditEntry).where(
            AuditEntry.talk_id == talk.id, AuditEntry.user_id == user.id,
            AuditEntry.question_id.is_not(None), AuditEntry.undone.is_(False),
            AuditEntry.action.in_(actions))
        .order_by(AuditEntry.id.desc()).limit(1))


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
    if question.status != step.to_status or (step.action == "edit" and question.text != step.after):
        raise DomainError("conflict", detail | {"reason": "changed"})
    if now is not None and not confirmed and now - step.at > CONFIRM_AFTER:
        minutes = int((now - step.at).total_seconds() // 60)
        raise DomainError("confirm", detail | {"minutes": minutes})


def summary(step: AuditEntry, question: Question) -> dict:
    """What the page shows of a step: enough to name it ("„Wie kommt…“ freigegeben")."""
    return {"id": step.id, "action": step.action, "question_id": step.question_id,
            "text": question.text, "from_status": step.from_status, "to_status": step.to_status,
            "before": step.before if step.action == "edit" else None,
            "at": step.at.isoformat().replace("+00:00", "Z")}


def describe(session: DbSession, talk: Talk, user: User, actions: tuple[str, ...]) -> dict | None:
    """The summary of the step the next undo would take back, if there is one."""
    step = newest(session, talk, user, actions)
    if step is None:
        return None
    question = session.get(Question, step.question_id)
    return summary(step, question) if question is not None else None
