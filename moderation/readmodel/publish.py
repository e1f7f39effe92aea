"""Publishing: build what each view's room learns of a write before commit; send it after.

`commit(outbox)` is the one place where a change becomes durable and then visible.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app

from ..extensions import db, socketio
from ..models import Question, Talk, User
from ..services import DbSession, blocks, reports, similar
from ..services import questions as question_service
from ..services.writes import Write
from . import payloads, rooms
from .sequence import advance
from .views import MODERATOR, VIEWS


@dataclass
class Outbox:
    talk_id: int | None = None
    messages: list[tuple[str, dict[str, Any], str, str]] = field(default_factory=list)
    counted: list[int] = field(default_factory=list)  # questions whose vote counts changed
    told: dict[str, int] = field(default_factory=dict)  # view name -> the seq it was told this under
    questions: list[int] = field(default_factory=list)  # written questions: suggestions to compute

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


def outbox(session: DbSession, talk: Talk, write: Write, now: datetime) -> Outbox:
    """What each view learns of a write, under that view's next seq; a view that can see none of
    it hears nothing (an audience client still gets its own question, under the current seq)."""
    box = Outbox(talk_id=talk.id, counted=list(write.counted))
    if not write.changed and not write.talk_changed:
        return box
    told = [view for view in VIEWS if write.talk_changed or (
        (write.fields is None or write.fields & view.staff_fields)
        and any(view.sees(c.question.status) or view.sees(c.old_status) for c in write.changed))]
    seqs = advance(session, talk, told)
    box.told = {view.name: seqs[view.name] for view in told}
    if write.talk_changed:
        for view in VIEWS:
            box.add("talk", {"talk": payloads.talk(talk, now), "seq": seqs[view.name]},
                    view.room(talk.id), view.namespace)
    if not write.changed:
        return box
    ids = [c.question.id for c in write.changed]
    box.questions = ids
    counts: payloads.Counts = {}
    children: dict[int, list[Question]] = {}
    suggested: dict[int, list[dict[str, Any]]] = {}
    open_ids: set[int] = set()
    blocked: frozenset[str] = frozenset()
    reported: payloads.Counts = {}
    # A question just asked has no votes, merged questions or suggestions yet, and its author is
    # not blocked (or it would have been refused): a submission reads none of them.
    if not (write.created and len(write.changed) == 1):
        counts = question_service.counts(session, talk, ids)
        children = question_service.merged_children(session, talk, ids)
        suggested = similar.stored(session, talk.id, ids)
        open_ids = similar.open_among(session, talk.id, {s["id"] for items in suggested.values() for s in items})
        blocked = blocks.blocked_clients(session, talk)
        reported = reports.counts(session, talk, ids)
    for change in write.changed:
        q = change.question
        for view in VIEWS:
            if write.fields is not None and view not in told:
                continue
            payload = payloads.question(q, counts, view, children.get(q.id), blocked=blocked, reports=reported)
            if "similar" in view.staff_fields:
                payload.update(similar.payload(q, suggested.get(q.id, []), open_ids))
            message = {"question": payload, "seq": seqs[view.name]}
            author = rooms.client(talk.id, q.client_hash) if view.own_questions and q.client_hash else None
            # Its author may see more of a question than everybody else (an unpublished answer).
            own = payloads.question(q, counts, view, children.get(q.id), own=True) if author else payload
            if view.sees(q.status) or view.sees(change.old_status):
                box.add("question", message, view.room(talk.id), view.namespace)
                if author and own != payload:
                    box.add("question", {"question": own, "seq": seqs[view.name]}, author, view.namespace)
            elif author:
                box.add("question", {"question": own, "seq": seqs[view.name]}, author, view.namespace)
    return box


def restart(session: DbSession, talk: Talk, now: datetime) -> Outbox:
    """Every screen of the talk starts over (a Probelauf ended and took its questions along):
    each view's number rises by two and the `talk` event carries the second, so that every client
    sees a gap and asks for a fresh snapshot (docs/protocol.md, section 4)."""
    advance(session, talk, VIEWS)
    seqs = advance(session, talk, VIEWS)
    box = Outbox(talk_id=talk.id)
    for view in VIEWS:
        box.add("talk", {"talk": payloads.talk(talk, now), "seq": seqs[view.name]}, view.room(talk.id), view.namespace)
    return box


def backstage(talk: Talk) -> Outbox:
    """The line to the podium, for the views that show it (after commit: `commit(box)`)."""
    box = Outbox(talk_id=talk.id)
    for view in VIEWS:
        if view.backstage:
            box.add("backstage", payloads.backstage(talk), view.backstage_in(talk.id), view.namespace)
    return box


def commit(box: Outbox) -> None:
    """Commit, then emit: an acknowledged change is on disk before any screen shows it."""
    db.session.commit()
    box.send()


LOGGED_OUT = "logged_out"


def notify_logout(user: User) -> None:
    """After the account's session epoch changed (and was committed): its open moderator sockets
    hear `logged_out` and are disconnected, on every server process (live/sessions.py)."""
    socketio.emit(LOGGED_OUT, {}, to=rooms.user(user.id), namespace=MODERATOR.namespace)
