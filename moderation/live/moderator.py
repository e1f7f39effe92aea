from __future__ import annotations

import logging
from typing import Any

from flask_login import current_user
from flask_socketio import disconnect, emit, join_room

from ..extensions import db
from ..models import Talk, User
from ..readmodel import payloads, rooms
from ..readmodel.views import MODERATOR
from ..services import accounts, windows
from ..services import questions as question_service
from ..services import talks as talk_service
from ..services.errors import DomainError
from ..services.writes import Write
from . import events
from .base import LiveNamespace, acknowledged

log = logging.getLogger("fragerunde.live")


class ModeratorNamespace(LiveNamespace):
    """The live queue. Every event re-checks the account: a logout voids open sockets too."""

    view = MODERATOR

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
        join_room(MODERATOR.room(talk.id))
        join_room(rooms.user(user.id))
        log.info("moderator connected", extra={"talk": talk.id, "user": user.id})
        self.send_snapshot(talk)

    def on_disconnect(self, reason: object = None) -> None:
        conn = self.connections.get(self.sid())
        if conn and conn.get("editing"):
            emit("editing", {"question_id": conn["editing"], "user": None}, to=MODERATOR.room(conn["talk_id"]))
        super().on_disconnect(reason)

    def user(self, conn: dict[str, Any]) -> User:
        user = accounts.load(db.session, conn["login"])
        if user is None:
            disconnect()
            raise DomainError("forbidden")
        return user

    @acknowledged(events.Empty)
    def on_resync(self, conn: dict[str, Any], event: events.Empty) -> dict[str, Any]:
        self.user(conn)
        self.send_snapshot(self.talk(conn))
        return {}

    def _publish_question(self, conn: dict[str, Any], talk: Talk, write: Write, action: str) -> dict[str, Any]:
        """Publish a write about a question and answer with that question as it is now."""
        assert write.question is not None
        answer = {"question": self.fresh(write.question.id)}
        question_id = write.question.id
        self.publish(talk, write, answer)
        log.info("moderator action", extra={"talk": conn["talk_id"], "action": action, "question": question_id})
        return answer

    def _transition(self, conn: dict[str, Any], event: events.QuestionAction, action: str) -> dict[str, Any]:
        user, talk = self.user(conn), self.talk(conn)
        write = question_service.transition(db.session, talk, user, action, event.question_id,
                                            event.version, self.now())
        return self._publish_question(conn, talk, write, action)

    @acknowledged(events.QuestionAction)
    def on_approve(self, conn: dict[str, Any], event: events.QuestionAction) -> dict[str, Any]:
        return self._transition(conn, event, "approve")

    @acknowledged(events.QuestionAction)
    def on_reject(self, conn: dict[str, Any], event: events.QuestionAction) -> dict[str, Any]:
        return self._transition(conn, event, "reject")

    @acknowledged(events.QuestionAction)
    def on_forward(self, conn: dict[str, Any], event: events.QuestionAction) -> dict[str, Any]:
        return self._transition(conn, event, "forward")

    @acknowledged(events.QuestionAction)
    def on_answered(self, conn: dict[str, Any], event: events.QuestionAction) -> dict[str, Any]:
        return self._transition(conn, event, "answered")

    @acknowledged(events.Edit)
    def on_edit(self, conn: dict[str, Any], event: events.Edit) -> dict[str, Any]:
        user, talk = self.user(conn), self.talk(conn)
        write = question_service.edit(db.session, talk, user, event.question_id, event.text, event.version)
        return self._publish_question(conn, talk, write, "edit")

    @acknowledged(events.Merge)
    def on_merge(self, conn: dict[str, Any], event: events.Merge) -> dict[str, Any]:
        user, talk = self.user(conn), self.talk(conn)
        write = question_service.merge(db.session, talk, user, event.question_id, event.into_id, event.version)
        return self._publish_question(conn, talk, write, "merge")

    @acknowledged(events.Empty)
    def on_undo(self, conn: dict[str, Any], event: events.Empty) -> dict[str, Any]:
        user, talk = self.user(conn), self.talk(conn)
        write = question_service.undo(db.session, talk, user, self.now())
        return self._publish_question(conn, talk, write, "undo")

    @acknowledged(events.Upvote)
    def on_upvote(self, conn: dict[str, Any], event: events.Upvote) -> dict[str, Any]:
        user, talk = self.user(conn), self.talk(conn)
        write = question_service.set_upvote(db.session, talk, user, event.question_id, event.value)
        owner = write.counted[0]
        counts = question_service.counts(db.session, talk, [owner])
        return self.publish(talk, write, {"question_id": owner, **counts.get(owner, {"upvotes": 0, "votes": 0})})

    @acknowledged(events.TalkState)
    def on_talk_state(self, conn: dict[str, Any], event: events.TalkState) -> dict[str, Any]:
        user, talk = self.user(conn), self.talk(conn)
        now = self.now()
        write = windows.set_state(db.session, talk, user, event.state, event.until, now)
        answer = {"talk": payloads.talk(talk, now)}
        self.publish(talk, write, answer)
        log.info("talk state", extra={"talk": conn["talk_id"], "state": answer["talk"]["open"]})
        return answer

    @acknowledged(events.Editing)
    def on_editing(self, conn: dict[str, Any], event: events.Editing) -> dict[str, Any]:
        """Presence: tell the other moderators who is editing which question right now."""
        self.user(conn)
        previous = conn.get("editing")
        conn["editing"] = event.question_id
        room = MODERATOR.room(conn["talk_id"])
        if previous is not None and previous != event.question_id:
            emit("editing", {"question_id": previous, "user": None}, to=room, skip_sid=self.sid())
        if event.question_id is not None:
            emit("editing", {"question_id": event.question_id, "user": conn["username"]}, to=room,
                 skip_sid=self.sid())
        return {}
