from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from flask_socketio import join_room

from ..extensions import db
from ..models import Talk
from ..readmodel import payloads, rooms
from ..readmodel.views import AUDIENCE
from ..services import DbSession
from ..services import questions as question_service
from ..services import talks as talk_service
from ..services.errors import DomainError
from ..services.writes import Write
from . import events
from .base import LiveNamespace, acknowledged

log = logging.getLogger("fragerunde.live")


class AudienceNamespace(LiveNamespace):
    view = AUDIENCE

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
        join_room(AUDIENCE.room(talk.id))
        join_room(rooms.client(talk.id, client))
        self.send_snapshot(talk, client)

    @acknowledged(events.Empty)
    def on_resync(self, conn: dict[str, Any], event: events.Empty) -> dict[str, Any]:
        self.send_snapshot(self.talk(conn), conn["client"])
        return {}

    @acknowledged(events.Submission)
    def on_submit(self, conn: dict[str, Any], event: events.Submission) -> dict[str, Any]:
        client, now, address = conn["client"], self.now(), self.address()
        limits = current_app.extensions["rate_limits"]
        created = []

        def work(session: DbSession, talk: Talk) -> tuple[Write, dict[str, Any]]:
            write = question_service.submit(
                session, talk, text=event.text, name=event.name, client=client,
                client_msg_id=event.client_msg_id, now=now,
                admit=lambda: limits.check("SUBMIT", client=client, address=address))
            assert write.question is not None
            created.append(write.created)
            return write, {"question": payloads.question(write.question, {}, AUDIENCE) | {"mine": True}}

        answer = self.grouped(conn, work)
        if created[0]:
            log.info("question submitted", extra={"talk": conn["talk_id"], "question": answer["question"]["id"]})
        return answer

    @acknowledged(events.AudienceVote)
    def on_vote(self, conn: dict[str, Any], event: events.AudienceVote) -> dict[str, Any]:
        client = conn["client"]
        self.limit("VOTE", client=client)

        def work(session: DbSession, talk: Talk) -> tuple[Write, dict[str, Any]]:
            write = question_service.set_vote(session, talk, client, event.question_id, event.value)
            return write, {"question_id": write.counted[0], "value": event.value}

        return self.grouped(conn, work)
