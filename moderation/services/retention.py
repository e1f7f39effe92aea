"""Retention: the content of old talks is deleted; the talks themselves stay listed."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update

from ..models import (
    AuditEntry,
    Block,
    IntakeToken,
    MailMessage,
    Question,
    QuestionLabel,
    QuestionVector,
    Talk,
    Upvote,
    Vote,
)
from . import DbSession


def purge(session: DbSession, cutoff: datetime) -> dict[str, int]:
    # Mails that waited for an admin since before the cutoff lose their words and sender's hash.
    session.execute(update(MailMessage).where(MailMessage.status == "waiting", MailMessage.received_at < cutoff)
                    .values(status="discarded", text=None, name=None, subject=None, sender_hash=None))
    talk_ids = list(session.scalars(select(Talk.id).where(Talk.ends_at < cutoff)))
    if not talk_ids:
        return {"talks": 0, "questions": 0, "votes": 0}
    session.execute(delete(MailMessage).where(MailMessage.talk_id.in_(talk_ids)))
    session.execute(delete(IntakeToken).where(IntakeToken.talk_id.in_(talk_ids)))
    question_ids = select(Question.id).where(Question.talk_id.in_(talk_ids))
    votes = session.scalar(select(func.count()).select_from(Vote).where(Vote.question_id.in_(question_ids)))
    session.execute(delete(Vote).where(Vote.question_id.in_(question_ids)))
    session.execute(delete(Upvote).where(Upvote.question_id.in_(question_ids)))
    session.execute(delete(QuestionLabel).where(QuestionLabel.question_id.in_(question_ids)))
    session.execute(delete(Block).where(Block.talk_id.in_(talk_ids)))
    session.execute(delete(QuestionVector).where(QuestionVector.talk_id.in_(talk_ids)))  # made from the texts
    session.execute(update(Talk).where(Talk.id.in_(talk_ids)).values(backstage_text=None, backstage_by=None))
    # Audit entries stay (who did what, when) but lose the texts they quoted.
    session.execute(update(AuditEntry).where(AuditEntry.talk_id.in_(talk_ids))
                    .values(before=None, after=None, question_id=None))
    session.execute(update(Question).where(Question.talk_id.in_(talk_ids))
                    .values(merged_into_id=None))
    questions = session.execute(delete(Question).where(Question.talk_id.in_(talk_ids))).rowcount  # type: ignore[attr-defined]
    return {"talks": len(talk_ids), "questions": questions, "votes": votes}
