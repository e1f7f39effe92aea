"""The state a screen starts from (and returns to after a gap): its questions and the seq."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..models import Question, Talk
from ..services import DbSession, duplicates
from ..services import questions as question_service
from . import payloads
from .sequence import current
from .views import View


def visible(session: DbSession, talk: Talk, view: View, client: str | None = None) -> list[Question]:
    """The questions one view may see (an audience client: its own too), oldest first."""
    query = select(Question).where(Question.talk_id == talk.id)
    if not view.sees_all:
        if view.own_questions and client:
            query = query.where(Question.status.in_(view.statuses) | (Question.client_hash == client))
        else:
            query = query.where(Question.status.in_(view.statuses))
    return list(session.scalars(query.order_by(Question.created_at, Question.id)))


def snapshot(session: DbSession, talk: Talk, view: View, now: datetime, client: str | None = None) -> dict[str, Any]:
    shown = visible(session, talk, view, client)
    counts = question_service.counts(session, talk)
    children = question_service.merged_children(session, talk) if view.staff_fields else {}
    mine = view.own_questions and client is not None
    voted = question_service.voted_by(session, talk, client) if mine and client else set()
    similar = duplicates.similar(shown) if view.staff_fields else {}
    items = []
    for q in shown:
        item = payloads.question(q, counts, view, children.get(q.id))
        if view.staff_fields:
            item["similar"] = similar.get(q.id, [])
        if mine:
            item["mine"] = q.client_hash == client
            item["voted"] = q.id in voted
        items.append(item)
    return {"talk": payloads.talk(talk, now), "questions": items, "seq": current(talk, view)}
