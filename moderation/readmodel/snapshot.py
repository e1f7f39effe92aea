"""The state a screen starts from (and returns to after a gap): its questions and the seq."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..models import Question, Talk
from ..services import CHUNK, DbSession, curation, paced
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
             pause: Callable[[], None] | None = None) -> dict[str, Any]:
    """The state one view starts from, with the seq it was read at; an audience client's own
    questions say `mine` (and `voted`).

    `pause` is called between chunks of questions: a server gives other work its turn there, so
    that a snapshot of a full talk (1,500 questions) never holds the process for its whole length.
    All reads stay in the caller's one transaction."""
    shown = visible(session, talk, view, client, pause)
    mine = client if view.own_questions else None
    ctx = payloads.load(session, talk, view.fields, shown, whole=True, client=mine, pause=pause)
    items = [payloads.question(q, view, ctx, own=mine is not None and q.client_hash == mine)
             for q in paced(shown, pause)]
    state = {"talk": payloads.talk(talk, now), "questions": items, "seq": current(talk, view)}
    if "labels" in view.fields:
        state["labels"] = curation.talk_labels(session, talk)
    if "backstage" in view.kinds:
        state["backstage"] = payloads.backstage(talk)
    return state
