"""The Probelauf: an admin rehearses a talk with the team before it begins.

While it runs every page works as live (the round is open by hand) and says "Probelauf"; every
question asked meanwhile is the rehearsal's (`Question.rehearsal`), and so is every step on one
of them and every step of the moderators on the round (`AuditEntry.rehearsal`). Ending it removes
all of that — questions, votes, upvotes, reports, blocks, suggestions, steps, audit entries —
and puts the round back as it was before (its state by hand, the line to the podium, the peak of
connected devices); the talk's settings stay as the organiser set them. Reports and the
documentation never include a rehearsal's questions, even while it runs.

A Probelauf cannot start while the round is open for real: the questions of real people would
become the rehearsal's and be removed with it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select, update

from ..models import (
    AuditEntry,
    Block,
    DismissedSimilar,
    Question,
    QuestionLabel,
    QuestionReport,
    SimilarSuggestion,
    Talk,
    Upvote,
    User,
    Vote,
    utcnow,
)
from . import DbSession
from .audit import record
from .errors import DomainError
from .windows import is_open
from .writes import Write


def running(talk: Talk) -> bool:
    return talk.rehearsal_since is not None


def start(session: DbSession, talk: Talk, by: User, now: datetime) -> Write:
    """Start a Probelauf: the round opens by hand until it ends. Again while one runs: nothing."""
    if running(talk):
        return Write()
    if is_open(talk, now):
        raise DomainError("invalid", {"reason": "open"})
    talk.rehearsal_saved = {
        "manual_state": talk.manual_state,
        "manual_until": talk.manual_until.isoformat() if talk.manual_until else None,
        "audience_peak": talk.audience_peak,
        "backstage_text": talk.backstage_text, "backstage_by": talk.backstage_by,
    }
    record(session, talk, by, "rehearsal_start")
    # Wall-clock time, like the stamps of the votes, reports and blocks it is compared with.
    talk.rehearsal_since = utcnow()
    talk.manual_state, talk.manual_until = "open", None
    session.flush()
    return Write(talk_changed=True)


def end(session: DbSession, talk: Talk, by: User) -> tuple[Write, int]:
    """End the Probelauf and remove what it left; the write (every screen starts over) and the
    number of questions removed. Without a Probelauf: nothing."""
    since = talk.rehearsal_since
    if since is None:
        return Write(), 0
    ids = select(Question.id).where(Question.talk_id == talk.id, Question.rehearsal.is_(True)).scalar_subquery()
    in_talk = select(Question.id).where(Question.talk_id == talk.id).scalar_subquery()
    removed = session.scalar(select(func.count()).select_from(Question).where(
        Question.talk_id == talk.id, Question.rehearsal.is_(True))) or 0
    # A real question a moderator merged into a rehearsal's question stands alone again.
    session.execute(update(Question).where(Question.talk_id == talk.id, Question.rehearsal.is_(False),
                                           Question.merged_into_id.in_(ids))
                    .values(merged_into_id=None, status="pending", version=Question.version + 1))
    # What people did meanwhile, on the rehearsal's questions or on real ones.
    for model, stamp in ((Vote, Vote.created_at), (Upvote, Upvote.created_at)):
        session.execute(delete(model).where(model.question_id.in_(in_talk),
                                            or_(model.question_id.in_(ids), stamp >= since)))
    session.execute(delete(QuestionReport).where(QuestionReport.talk_id == talk.id, or_(
        QuestionReport.question_id.in_(ids), QuestionReport.created_at >= since)))
    session.execute(delete(Block).where(Block.talk_id == talk.id, Block.created_at >= since))
    session.execute(delete(DismissedSimilar).where(DismissedSimilar.talk_id == talk.id, or_(
        DismissedSimilar.at >= since, DismissedSimilar.question_id.in_(ids), DismissedSimilar.other_id.in_(ids))))
    session.execute(delete(SimilarSuggestion).where(SimilarSuggestion.question_id.in_(ids)))
    session.execute(delete(QuestionLabel).where(QuestionLabel.question_id.in_(ids)))
    session.execute(delete(AuditEntry).where(AuditEntry.talk_id == talk.id, or_(
        AuditEntry.rehearsal.is_(True), AuditEntry.question_id.in_(ids))))
    session.execute(update(Question).where(Question.talk_id == talk.id, Question.rehearsal.is_(True))
                    .values(merged_into_id=None))
    session.execute(delete(Question).where(Question.talk_id == talk.id, Question.rehearsal.is_(True)))
    saved = talk.rehearsal_saved or {}
    until = saved.get("manual_until")
    talk.manual_state = saved.get("manual_state")
    talk.manual_until = datetime.fromisoformat(until) if until else None
    talk.audience_peak = int(saved.get("audience_peak") or 0)
    talk.backstage_text, talk.backstage_by = saved.get("backstage_text"), saved.get("backstage_by")
    talk.rehearsal_since, talk.rehearsal_saved = None, None
    session.flush()
    session.expire_all()
    record(session, talk, by, "rehearsal_end", after=str(removed))
    return Write(talk_changed=True), removed
