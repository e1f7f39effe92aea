from __future__ import annotations

from ..models import AuditEntry, Question, Talk, User, utcnow
from . import DbSession


def record(session: DbSession, talk: Talk, user: User | None, action: str, *,
           question: Question | None = None, from_status: str | None = None,
           to_status: str | None = None, before: str | None = None, after: str | None = None,
           undoes: AuditEntry | None = None) -> AuditEntry:
    entry = AuditEntry(
        talk_id=talk.id, question_id=question.id if question else None,
        user_id=user.id if user else None, username=user.username if user else None,
        action=action, from_status=from_status, to_status=to_status,
        before=before, after=after, undoes_id=undoes.id if undoes else None, at=utcnow())
    session.add(entry)
    session.flush()
    return entry
