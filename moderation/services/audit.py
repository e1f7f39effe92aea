from __future__ import annotations

from ..models import AuditEntry, Question, Talk, User, utcnow
from . import DbSession, actions


def record(session: DbSession, talk: Talk, user: User | None, action: str, *,
           question: Question | None = None, from_status: str | None = None,
           to_status: str | None = None, before: str | None = None, after: str | None = None,
           undoes: AuditEntry | None = None) -> AuditEntry:
    entry = AuditEntry(
        talk_id=talk.id, question_id=question.id if question else None,
        user_id=user.id if user else None, username=user.username if user else None,
        action=action, from_status=from_status, to_status=to_status,
        before=before, after=after, undoes_id=undoes.id if undoes else None, at=utcnow(),
        rehearsal=of_rehearsal(talk, action, question))
    session.add(entry)
    session.flush()
    return entry


def of_rehearsal(talk: Talk, action: str, question: Question | None) -> bool:
    """An entry belongs to a running Probelauf (and goes with it) when it is about one of its
    questions, or about the round as a whole and taken by the moderators; the organiser's entries
    (starting and ending the Probelauf among them) stay."""
    if talk.rehearsal_since is None:
        return False
    if question is not None:
        return bool(question.rehearsal)
    declared = actions.get(action)
    return declared is not None and declared.moderator
