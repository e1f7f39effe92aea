from __future__ import annotations

import logging

from flask import current_app
from flask_socketio import join_room

from .. import payloads
from ..extensions import db
from ..services import questions as question_service
from ..services import talks as talk_service
from ..services.errors import DomainError
from . import broadcast, rooms
from .base import LiveNamespace, acknowledged

log = logging.getLogger("fragerunde.live")


class AudienceNamespace(LiveNamespace):
    def on_connect(self, auth: object = None) -> None:
        if not isinstance(auth, dict):
            raise ConnectionRefusedError("forbidden")
        client_id = auth.get("client_id")
        if not isinstance(client_id, str) or not (8 <= len(client_id) <= 64) or not client_id.isascii():
            raise ConnectionRefusedError("forbidden")
        try:
            talk = talk_service.by_slug(db.session, auth.get("talk"))
        except DomainError:
            raise ConnectionRefusedError("not_found") from None
        client = question_service.client_hash(current_app.config["SECRET_KEY"], client_id)
        self.connections[self.sid()] = {"talk_id": talk.id, "client": client}
        join_room(rooms.audience(talk.id))
        join_room(rooms.client(talk.id, client))
        self.send_snapshot(talk, client)

    @acknowledged
    def on_resync(self, conn: dict, data: dict) -> dict:
        self.send_snapshot(self.talk(conn), conn["client"])
        return {}

    @acknowledged
    def on_submit(self, conn: dict, data: dict) -> dict:
        talk = self.talk(conn)
        change = question_service.submit(
            db.session, talk, text=data.get("text"), name=data.get("name"), client=conn["client"],
            client_msg_id=data.get("client_msg_id"), now=self.now(),
            admit=lambda: self.limit("SUBMIT", client=conn["client"]))
        answer = payloads.question(change.question, {}, "audience") | {"mine": True}
        broadcast.commit(broadcast.changes(db.session, talk, [change]))
        if change.created:
            log.info("question submitted", extra={"talk": conn["talk_id"], "question": answer["id"]})
        return {"question": answer}

    @acknowledged
    def on_vote(self, conn: dict, data: dict) -> dict:
        talk = self.talk(conn)
        self.limit("VOTE", client=conn["client"])
        question = question_service.set_vote(db.session, talk, conn["client"], data.get("question_id"),
                                             data.get("value"))
        question_id = question.merged_into_id or question.id
        db.session.commit()  # expires `talk`: reading talk.id now would begin a new transaction
        current_app.extensions["vote_batcher"].mark(conn["talk_id"], question_id)
        return {"question_id": question_id, "value": data["value"]}
