"""Publishing: build what each view's room learns of a write before commit; send it after.

`commit(outbox)` is the one place where a change becomes durable and then visible. Who hears
what is the View table's (views.py): each view hears of a change only when its own payload
changed, under its own next number.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db, socketio
from ..models import OPEN_STATUSES, Question, Talk
from ..services import DbSession
from ..services.writes import Changed, Sessions, Write
from . import payloads
from .access import end_sessions
from .sequence import advance, advance_each
from .views import VIEWS, View

# Fields after whose change a question's similar-question suggestions are computed again.
SUGGESTED_FROM = frozenset({"text", "merged_into"})


@dataclass
class Outbox:
    talk_id: int | None = None
    messages: list[tuple[str, dict[str, Any], str, str]] = field(default_factory=list)
    counted: list[int] = field(default_factory=list)  # questions whose vote counts changed
    told: dict[str, int] = field(default_factory=dict)  # view name -> the seq it was told this under
    questions: list[int] = field(default_factory=list)  # written questions: suggestions to compute
    ended: list[tuple[Sessions, str]] = field(default_factory=list)  # screens whose access ended
    shown: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)  # (view, question id) -> payload

    def add(self, event: str, data: dict[str, Any], room: str, namespace: str) -> None:
        self.messages.append((event, data, room, namespace))

    def send(self) -> None:
        for event, data, room, namespace in self.messages:
            socketio.emit(event, data, to=room, namespace=namespace)
        if self.counted and self.talk_id is not None:
            batcher = current_app.extensions["vote_batcher"]
            for question_id in self.counted:
                batcher.mark(self.talk_id, question_id)
        if self.questions and self.talk_id is not None:
            current_app.extensions["similar_worker"].mark(self.talk_id, self.questions)
        for who, why in self.ended:
            end_sessions(who, why)


def _moves_suggestions(change: Changed) -> bool:
    """Suggestions pair open questions by their texts: a change moves them when it adds a question,
    edits a text or a merge, or takes a question into or out of the open ones. An approval or a
    forward does none of that, and the similar worker is not woken while its broadcast goes out."""
    return (change.new or change.fields is None or bool(change.fields & SUGGESTED_FROM)
            or (change.old_status in OPEN_STATUSES) != (change.question.status in OPEN_STATUSES))


def _hears(view: View, write: Write) -> list[Changed]:
    return [change for change in write.changed if view.hears(change)]


def outbox(session: DbSession, talk: Talk, write: Write, now: datetime) -> Outbox:
    """What each view learns of a write, under that view's next seq; a view whose payloads the
    write leaves as they were hears nothing (an author hears of their own question under the
    audience's current seq)."""
    return outboxes(session, talk, [write], now)[0]


def outboxes(session: DbSession, talk: Talk, writes: Sequence[Write], now: datetime) -> list[Outbox]:
    """outbox() for several writes of one transaction, in order: their numbers are taken in one
    statement and what their payloads read is read once (a group of questions asked at once)."""
    boxes, heard, told = [], [], []
    for write in writes:
        box = Outbox(talk_id=talk.id, counted=list(write.counted), ended=list(write.ended))
        box.questions = [c.question.id for c in write.changed if _moves_suggestions(c)]
        hears = {view.name: _hears(view, write) for view in VIEWS}
        boxes.append(box)
        heard.append(hears)
        told.append([view for view in VIEWS if hears[view.name] or (write.talk_changed and "talk" in view.kinds)
                     or (write.backstage and "backstage" in view.kinds)])
    if not any(told):
        return boxes
    numbers = advance_each(session, talk, told)
    # A question just asked has no votes, merged questions or suggestions yet, and its author is
    # not blocked (or it would have been refused): it reads none of them.
    known = {c.question.id: c.question for views, hears in zip(told, heard, strict=True)
             for view in views for c in hears[view.name] if not c.new}
    _as_committed(session, list(known))
    fields = set().union(*(view.fields for views in told for view in views))
    ctx = payloads.load(session, talk, fields, list(known.values()))
    for write, box, views, hears, seqs in zip(writes, boxes, told, heard, numbers, strict=True):
        if views:
            _fill(box, talk, write, views, hears, seqs, ctx, now)
    return boxes


def _as_committed(session: DbSession, question_ids: list[int]) -> None:
    """Read these questions again, now that this write holds its numbers (the talk's row lock: no
    other write is numbered until this one commits). A question read before that (the similar
    worker reads a question, then finds its suggestions changed) may since have been changed by a
    write numbered and told first (on PostgreSQL; SQLite's writers queue). This write is told after
    that one, so it must show the change. Labels come in the same statement (a join, not selectin's
    second round trip)."""
    if question_ids:
        session.execute(select(Question).where(Question.id.in_(question_ids)).options(joinedload(Question.labels))
                        .execution_options(populate_existing=True)).unique().all()


def _fill(box: Outbox, talk: Talk, write: Write, told: list[View], heard: dict[str, list[Changed]],
          seqs: dict[str, int], ctx: payloads.Context, now: datetime) -> None:
    box.told = {view.name: seqs[view.name] for view in told if view.advances}
    sent = box.shown  # also for `within`
    for view in told:
        seq = seqs[view.name]
        if write.talk_changed and "talk" in view.kinds:
            box.add("talk", {"talk": payloads.talk(talk, now), "seq": seq}, view.room(talk.id), view.namespace)
        if write.backstage and "backstage" in view.kinds:
            box.add("backstage", payloads.backstage(talk) | {"seq": seq}, view.room(talk.id), view.namespace)
        for change in heard[view.name]:
            q = change.question
            room = view.room_of(talk.id, q)
            if room is None:
                continue
            payload = payloads.question(q, view, ctx)
            sent[view.name, q.id] = payload
            if view.within is not None and sent.get((view.within, q.id)) == payload:
                continue  # its sockets have just heard exactly this in the other view's room
            message = {"question": payload, "seq": seq}
            if view.hears_who and write.step is not None:
                message |= {"by": write.step.username, "action": write.step.action}
            box.add("question", message, room, view.namespace)


def restart(session: DbSession, talk: Talk, now: datetime) -> Outbox:
    """Every screen of the talk starts over (a Probelauf ended and took its questions along):
    each view's number rises by two and the `talk` event carries the second, so that every client
    sees a gap and asks for a fresh snapshot (docs/protocol.md, section 4)."""
    told = [view for view in VIEWS if "talk" in view.kinds]
    advance(session, talk, told)
    seqs = advance(session, talk, told)
    box = Outbox(talk_id=talk.id)
    for view in told:
        box.add("talk", {"talk": payloads.talk(talk, now), "seq": seqs[view.name]}, view.room(talk.id), view.namespace)
    return box


def topics(talk_id: int, topic_map: list[dict[str, Any]]) -> Outbox:
    """A talk's new topic map ("Themen"), for the views that show it (moderators only): no seq, as
    it changes no question (a page that missed one asks with `topics`)."""
    box = Outbox(talk_id=talk_id)
    for view in VIEWS:
        if "topics" in view.kinds:
            box.add("topics", {"topics": topic_map}, view.room(talk_id), view.namespace)
    return box


def commit(box: Outbox) -> None:
    """Commit, then emit: an acknowledged change is on disk before any screen shows it."""
    db.session.commit()
    box.send()

