"""Publishing: build what each view's room learns of a write before commit; send it after.

`commit(outbox)` is the one place where a change becomes durable and then visible.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app

from ..extensions import db, socketio
from ..models import OPEN_STATUSES, Talk, User
from ..services import DbSession, duplicates
from ..services import questions as question_service
from ..services.writes import Write
from . import payloads, rooms
from .sequence import advance
from .snapshot import visible
from .views import MODERATOR, VIEWS


@dataclass
class Outbox:
    talk_id: int | None = None
    messages: list[tuple[str, dict[str, Any], str, str]] = field(default_factory=list)
    counted: list[int] = field(default_factory=list)  # questions whose vote counts changed
    told: dict[str, int] = field(default_factory=dict)  # view name -> the seq it was told this under

    def add(self, event: str, data: dict[str, Any], room: str, namespace: str) -> None:
        self.messages.append((event, data, room, namespace))

    def send(self) -> None:
        for event, data, room, namespace in self.messages:
            socketio.emit(event, data, to=room, namespace=namespace)
        if self.counted and self.talk_id is not None:
            batcher = current_app.extensions["vote_batcher"]
            for question_id in self.counted:
                batcher.mark(self.talk_id, question_id)


def outbox(session: DbSession, talk: Talk, write: Write, now: datetime) -> Outbox:
    """What each view learns of a write, under that view's next seq; a view that can see none of
    it hears nothing (an audience client still gets its own question, under the current seq)."""
    box = Outbox(talk_id=talk.id, counted=list(write.counted))
    if not write.changed and not write.talk_changed:
        return box
    told = [view for view in VIEWS if write.talk_changed or any(
        view.sees(c.question.status) or view.sees(c.old_status) for c in write.changed)]
    seqs = advance(session, talk, told)
    box.told = {view.name: seqs[view.name] for view in told}
    if write.talk_changed:
        for view in VIEWS:
            box.add("talk", {"talk": payloads.talk(talk, now), "seq": seqs[view.name]},
                    view.room(talk.id), view.namespace)
    if not write.changed:
        return box
    ids = [c.question.id for c in write.changed]
    counts = question_service.counts(session, talk, ids)
    children = question_service.merged_children(session, talk)
    suggest = {c.question.id for c in write.changed if c.question.status in OPEN_STATUSES}
    similar = duplicates.similar(visible(session, talk, MODERATOR), only=suggest) if suggest else {}
    for change in write.changed:
        q = change.question
        for view in VIEWS:
            payload = payloads.question(q, counts, view, children.get(q.id))
            if view.staff_fields:
                payload["similar"] = similar.get(q.id, [])
            message = {"question": payload, "seq": seqs[view.name]}
            if view.sees(q.status) or view.sees(change.old_status):
                box.add("question", message, view.room(talk.id), view.namespace)
            elif view.own_questions and q.client_hash:
                box.add("question", message, rooms.client(talk.id, q.client_hash), view.namespace)
    return box


def commit(box: Outbox) -> None:
    """Commit, then emit: an acknowledged change is on disk before any screen shows it."""
    db.session.commit()
    box.send()


def notify_logout(user: User) -> None:
    """Tell the account's open moderator sockets that their session ended, and close them.

    Sockets on other server processes are refused at their next event (the epoch changed)."""
    room = rooms.user(user.id)
    socketio.emit("logged_out", {}, to=room, namespace=MODERATOR.namespace)
    for sid, _eio_sid in list(socketio.server.manager.get_participants(MODERATOR.namespace, room)):
        socketio.server.disconnect(sid, namespace=MODERATOR.namespace)
