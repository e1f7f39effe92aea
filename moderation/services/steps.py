"""Which of a moderator's own steps "Rückgängig" takes back, and when it has to ask first.

A step is one audited action of a moderator on a question. Undo takes back only the
moderator's own steps, newest first; never one that another moderator has built on (a later
step of theirs on the same question that still stands), and a step older than CONFIRM_AFTER
only when the moderator confirmed that very step.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Question, Talk, Transition, User
from .errors import DomainError

CONFIRM_AFTER = timedelta(minutes=3)


def newest(session: Session, talk: Talk, user: User, actions: tuple[str, ...]) -> Transition | None:
    """The moderator's newest step in this talk that is not undone yet."""
    return session.scalar(
        select(Transition).where(
            Transition.talk_id == talk.id, Transition.user_id == user.id,
            Transition.question_id.is_not(None), Transition.undone.is_(False),
            Transition.action.in_(actions))
        .order_by(Transition.id.desc()).limit(1))


def built_on(session: Session, step: Transition) -> Transition | None:
    """The first later step of another moderator on the same question that still stands."""
    return session.scalar(
        select(Transition).where(
            Transition.question_id == step.question_id, Transition.id > step.id,
            Transition.user_id.is_not(None), Transition.user_id != step.user_id,
            Transition.undone.is_(False), Transition.action != "undo")
        .order_by(Transition.id).limit(1))


def check(session: Session, step: Transition, question: Question, *, expected: object,
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


def summary(step: Transition, question: Question) -> dict:
    """What the page shows of a step: enough to name it ("„Wie kommt…“ freigegeben")."""
    return {"id": step.id, "action": step.action, "question_id": step.question_id,
            "text": question.text, "from_status": step.from_status, "to_status": step.to_status,
            "before": step.before if step.action == "edit" else None,
            "at": step.at.isoformat().replace("+00:00", "Z")}


def describe(session: Session, talk: Talk, user: User, actions: tuple[str, ...]) -> dict | None:
    """The summary of the step the next undo would take back, if there is one."""
    step = newest(session, talk, user, actions)
    if step is None:
        return None
    question = session.get(Question, step.question_id)
    return summary(step, question) if question is not None else None
