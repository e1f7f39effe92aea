"""The state a screen starts from (and returns to after a gap): its questions and the seq."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..models import OPEN_STATUSES, Question, Talk
from ..services import CHUNK, DbSession, blocks, curation, paced, reports, similar
from ..services import questions as question_service
from . import payloads
from .sequence import current
from .views import View


def visible(session: DbSession, talk: Talk, view: View, client: str | None = None,
            pause: Callable[[], None] | None = None) -> list[Question]:
    """The questions one view may see (an audience client: its own too), oldest first; read in
    one statement, `pause` called between chunks of rows."""
    query = select(Question).where(Question.talk_id == talk.id)
    if not view.sees_all:
        if view.own_questions and client:
            query = query.where(Question.status.in_(view.statuses) | (Question.client_hash == client))
        else:
            query = query.where(Question.status.in_(view.statuses))
    query = query.order_by(Question.created_at, Question.id).execution_options(yield_per=CHUNK)
    return list(paced(session.scalars(query), pause))


def snapshot(session: DbSession, talk: Talk, view: View, now: datetime, client: str | None = None,
             backstage: bool = True, pause: Callable[[], None] | None = None) -> dict[str, Any]:
    """`backstage`: with the line to the podium, where the view shows it (not for the stream's overlay).

    `pause` is called between chunks of questions: a server gives other work its turn there, so
    that a snapshot of a full talk (1,500 questions) never holds the process for its whole length.
    All reads stay in the caller's one transaction."""
    shown = visible(session, talk, view, client, pause)
    counts = question_service.counts(session, talk)
    children = question_service.merged_children(session, talk) if view.staff_fields else {}
    mine = view.own_questions and client is not None
    voted = question_service.voted_by(session, talk, client) if mine and client else set()
    reported = reports.reported_by(session, talk, client) if mine and client else set()
    reported_counts = reports.counts(session, talk) if "reports" in view.staff_fields else {}
    suggested = similar.stored(session, talk.id, pause=pause) if "similar" in view.staff_fields else {}
    open_ids = {q.id for q in shown if q.status in OPEN_STATUSES}
    blocked = blocks.blocked_clients(session, talk) if "blocked" in view.staff_fields else frozenset()
    items = []
    for q in paced(shown, pause):
        own = mine and q.client_hash == client
        item = payloads.question(q, counts, view, children.get(q.id), blocked=blocked, own=own,
                                 reports=reported_counts)
        if "similar" in view.staff_fields:
            item.update(similar.payload(q, suggested.get(q.id, []), open_ids))
        if mine:
            item["mine"] = own
            item["voted"] = q.id in voted
            item["reported"] = q.id in reported
        items.append(item)
    state = {"talk": payloads.talk(talk, now), "questions": items, "seq": current(talk, view)}
    if "labels" in view.staff_fields:
        state["labels"] = curation.talk_labels(session, talk)
    if view.backstage and backstage:
        state["backstage"] = payloads.backstage(talk)
    return state
