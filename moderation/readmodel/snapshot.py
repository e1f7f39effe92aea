"""The state a screen starts from (and returns to after a gap): its questions and the seq."""
from __future__ import annotations

import time
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


class SnapshotCache:
    """The part of a view's snapshot every screen of that view shares, per talk and view, kept
    while the view's seq stays and for at most `seconds` (vote counts move without a seq).

    A resync storm (30 sockets asking again and again for a talk of 900 questions) then costs one
    read per seq, not one per request. Per process; one entry per talk and view."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.entries: dict[tuple[int, str], tuple[int, float, list[dict[str, Any]]]] = {}

    def get(self, talk: Talk, view: View, seq: int) -> list[dict[str, Any]] | None:
        found = self.entries.get((talk.id, view.name))
        if found is None or found[0] != seq or time.monotonic() - found[1] > self.seconds:
            return None
        return found[2]

    def put(self, talk: Talk, view: View, seq: int, items: list[dict[str, Any]]) -> None:
        self.entries[(talk.id, view.name)] = (seq, time.monotonic(), items)


def shared(session: DbSession, talk: Talk, view: View, pause: Callable[[], None] | None) -> list[dict[str, Any]]:
    """The questions every screen of the view sees, as payloads without anything of one client."""
    shown = visible(session, talk, view, None, pause)
    ctx = payloads.load(session, talk, view.fields, shown, whole=True, pause=pause)
    return [payloads.question(q, view, ctx) for q in paced(shown, pause)]


def snapshot(session: DbSession, talk: Talk, view: View, now: datetime, client: str | None = None,
             pause: Callable[[], None] | None = None, cache: SnapshotCache | None = None) -> dict[str, Any]:
    """The state one view starts from, with the seq it was read at; an audience client's own
    questions say `mine` (and `voted`).

    `pause` is called between chunks of questions: a server gives other work its turn there, so
    that a snapshot of a full talk (1,500 questions) never holds the process for its whole length.
    All reads stay in the caller's one transaction. With a `cache`, the shared part is read once
    per seq; a client's own questions, votes and reports are always read afresh."""
    seq = current(talk, view)
    items = cache.get(talk, view, seq) if cache is not None else None
    if items is None:
        items = shared(session, talk, view, pause)
        if cache is not None:
            cache.put(talk, view, seq, items)
    if client is not None and view.own_questions:
        own = list(session.scalars(select(Question).where(Question.talk_id == talk.id, Question.client_hash == client)))
        ctx = payloads.load(session, talk, view.fields, own, client=client)
        mine = {q.id: payloads.question(q, view, ctx, own=True) for q in own}
        items = [{**item, "mine": False, "voted": item["id"] in ctx.voted, "reported": item["id"] in ctx.reported}
                 for item in items if item["id"] not in mine]
        if mine:
            items = sorted([*items, *mine.values()],
                           key=lambda item: (datetime.fromisoformat(item["created_at"]), item["id"]))
    state = {"talk": payloads.talk(talk, now), "questions": items, "seq": seq}
    if "labels" in view.fields:
        state["labels"] = curation.talk_labels(session, talk)
    if "backstage" in view.kinds:
        state["backstage"] = payloads.backstage(talk)
    return state
