from __future__ import annotations

import logging

from flask import current_app
from flask_login import current_user
from flask_socketio import disconnect, emit, join_room

from .. import payloads
from ..extensions import db
from ..models import User
from ..services import accounts
from ..services import questions as question_service
from ..services import talks as talk_service
from ..services import windows
from ..services.errors import DomainError
from . import broadcast, rooms
from .base import LiveNamespace, acknowledged

log = logging.getLogger("fragerunde.live")


class ModeratorNamespace(LiveNamespace):
    """The live queue. Every event re-checks the account: a logout voids open sockets too."""

    view = "moderator"

    def on_connect(self, auth: object = None) -> None:
        if not current_user.is_authenticated:
            raise ConnectionRefusedError("forbidden")
        if not isinstance(auth, dict):
            raise ConnectionRefusedError("invalid")
        try:
            talk = talk_service.by_slug(db.session, auth.get("talk"))
        except DomainError:
            raise ConnectionRefusedError("not_found") from None
        user = current_user._get_current_object()
        self.connections[self.sid()] = {"talk_id": talk.id, "login": user.get_id(),
                                        "username": user.username}
        join_room(rooms.moderators(talk.id))
        join_room(rooms.user(user.id))
        log.info("moderator connected", extra={"talk": talk.id, "user": user.id})
        self.send_snapshot(talk)

    def on_disconnect(self, reason: object = None) -> None:
        conn = self.connections.get(self.sid())
        if conn and conn.get("editing"):
            emit("editing", {"question_id": conn["editing"], "user": None},
                      to=rooms.moderators(conn["talk_id"]))
        super().on_disconnect(reason)

    def user(self, conn: dict) -> User:
        user = accounts.load(db.session, conn["login"])
        if user is None:
            disconnect()
            raise DomainError("forbidden")
        return user

    @acknowledged
    def on_resync(self, conn: dict, data: dict) -> dict:
        self.user(conn)
        self.send_snapshot(self.talk(conn))
        return {}

    def _transition(self, conn: dict, data: dict, action: str) -> dict:
        user, talk = self.user(conn), self.talk(conn)
        change = question_service.transition(db.session, talk, user, action, data.get("question_id"),
                                             data.get("version"), self.now())
        return self._publish(talk, [change], action)

    def _publish(self, talk, changes, action: str) -> dict:
        outbox = broadcast.changes(db.session, talk, changes)
        answer = self.fresh(changes[0].question.id)
        talk_id = talk.id
        broadcast.commit(outbox)
        log.info("moderator action", extra={"talk": talk_id, "action": action, "question": answer["id"]})
        return {"question": answer}

    @acknowledged
    def on_approve(self, conn: dict, data: dict) -> dict:
        return self._transition(conn, data, "approve")

    @acknowledged
    def on_reject(self, conn: dict, data: dict) -> dict:
        return self._transition(conn, data, "reject")

    @acknowledged
    def on_forward(self, conn: dict, data: dict) -> dict:
        return self._transition(conn, data, "forward")

    @acknowledged
    def on_answered(self, conn: dict, data: dict) -> dict:
        return self._transition(conn, data, "answered")

    @acknowledged
    def on_recall(self, conn: dict, data: dict) -> dict:
        return self._transition(conn, data, "recall")

    @acknowledged
    def on_edit(self, conn: dict, data: dict) -> dict:
        user, talk = self.user(conn), self.talk(conn)
        change = question_service.edit(db.session, talk, user, data.get("question_id"), data.get("text"),
                                       data.get("version"))
        return self._publish(talk, [change], "edit")

    @acknowledged
    def on_merge(self, conn: dict, data: dict) -> dict:
        user, talk = self.user(conn), self.talk(conn)
        changes = question_service.merge(db.session, talk, user, data.get("question_id"), data.get("into_id"),
                                         data.get("version"))
        return self._publish(talk, changes, "merge")

    @acknowledged
    def on_undo(self, conn: dict, data: dict) -> dict:
        user, talk = self.user(conn), self.talk(conn)
        changes = question_service.undo(db.session, talk, user, self.now())
        return self._publish(talk, changes, "undo")

    @acknowledged
    def on_upvote(self, conn: dict, data: dict) -> dict:
        user, talk = self.user(conn), self.talk(conn)
        question = question_service.set_upvote(db.session, talk, user, data.get("question_id"),
                                               data.get("value", 1))
        owner = question.merged_into_id or question.id
        counts = question_service.counts(db.session, talk, [owner])
        db.session.commit()  # expires `talk`: reading talk.id now would begin a new transaction
        current_app.extensions["vote_batcher"].mark(conn["talk_id"], owner)
        return {"question_id": owner, **counts.get(owner, {"upvotes": 0, "votes": 0})}

    @acknowledged
    def on_talk_state(self, conn: dict, data: dict) -> dict:
        user, talk = self.user(conn), self.talk(conn)
        now = self.now()
        windows.set_state(db.session, talk, user, data.get("state"), data.get("until"), now)
        seq = talk.seq
        outbox = broadcast.talk_changed(talk, seq, now)
        answer = payloads.talk(talk, now)
        broadcast.commit(outbox)
        log.info("talk state", extra={"talk": conn["talk_id"], "state": answer["open"]})
        return {"talk": answer}

    @acknowledged
    def on_editing(self, conn: dict, data: dict) -> dict:
        """Presence: tell the other moderators who is editing which question right now."""
        self.user(conn)
        question_id = data.get("question_id")
        if question_id is not None and (isinstance(question_id, bool) or not isinstance(question_id, int)):
            raise DomainError("invalid", {"field": "question_id"})
        previous = conn.get("editing")
        conn["editing"] = question_id
        room = rooms.moderators(conn["talk_id"])
        if previous is not None and previous != question_id:
            emit("editing", {"question_id": previous, "user": None}, to=room, skip_sid=self.sid())
        if question_id is not None:
            emit("editing", {"question_id": question_id, "user": conn["username"]}, to=room,
                      skip_sid=self.sid())
        return {}
