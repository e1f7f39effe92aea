from __future__ import annotations

import logging
from typing import Any

from flask import current_app, request
from flask_socketio import join_room

from .. import audience_ids
from ..extensions import db
from ..models import Talk
from ..readmodel import payloads, rooms
from ..readmodel.views import AUDIENCE, View
from ..services import DbSession, organiser, reports, windows
from ..services import questions as question_service
from ..services import talks as talk_service
from ..services.errors import DomainError
from ..services.writes import Write
from ..workers.group import Together
from . import events
from .base import LiveNamespace, acknowledged

log = logging.getLogger("fragerunde.live")


class AudienceNamespace(LiveNamespace):
    view = AUDIENCE

    def __init__(self, view: View):
        super().__init__(view)
        self.peaks: dict[int, int] = {}  # talk id -> highest count this process has stored

    def on_connect(self, auth: object = None) -> None:
        """The audience id: one this server signed (audience_ids), as `client_id` in the auth or
        as the question page's cookie that the handshake carries; else an id the client chose,
        which counts against its address's new identities (LIMIT_IDENTITY_PER_ADDRESS)."""
        self.admit_connect()
        if not isinstance(auth, dict):
            raise ConnectionRefusedError("forbidden")
        secret = current_app.config["SECRET_KEY"]
        client_id = audience_ids.from_handshake(secret, auth, request.cookies)
        if client_id is None:
            client_id = audience_ids.chosen(auth)
            if client_id is None:
                raise ConnectionRefusedError("forbidden")
            limits = current_app.extensions["rate_limits"]
            if limits.hit("IDENTITY", address=self.address()) is not None:
                raise ConnectionRefusedError("rate_limited")
            limits.mark_fresh(question_service.client_hash(secret, client_id))
        try:
            talk = talk_service.by_slug(db.session, auth.get("talk"))
        except DomainError:
            raise ConnectionRefusedError("not_found") from None
        client = question_service.client_hash(secret, client_id)
        self.connections[self.sid()] = {"talk_id": talk.id, "client": client}
        current_app.extensions["rate_limits"].note_place(talk.id, client, self.address())
        join_room(AUDIENCE.room(talk.id))
        join_room(rooms.client(talk.id, client))
        self.note_audience(talk)
        self.send_snapshot(talk, client)

    def note_audience(self, talk: Talk) -> None:
        """Record the peak of audience sockets connected to this process while the round is open."""
        if not windows.is_open(talk, self.now()):
            return
        connected = sum(1 for conn in self.connections.values() if conn["talk_id"] == talk.id)
        if connected > self.peaks.get(talk.id, 0):
            self.peaks[talk.id] = connected
            organiser.note_audience(db.session, talk.id, connected)
            db.session.commit()

    @acknowledged(events.Empty)
    def on_resync(self, conn: dict[str, Any], event: events.Empty) -> dict[str, Any]:
        self.limit("RESYNC", client=conn["client"])
        self.send_snapshot(self.talk(conn), conn["client"])
        return {}

    @acknowledged(events.Submission)
    def on_submit(self, conn: dict[str, Any], event: events.Submission) -> dict[str, Any]:
        """Written with the questions asked beside it (questions.submit_all)."""
        client, address = conn["client"], self.address()
        limits = current_app.extensions["rate_limits"]
        limits.note_place(conn["talk_id"], client, address)
        held = limits.held(conn["talk_id"], address)
        created = []

        def answer(write: Write) -> dict[str, Any]:
            assert write.question is not None
            created.append(write.created)
            return {"question": payloads.question(write.question, AUDIENCE, payloads.Context(client=client), own=True)}

        asked = question_service.Asked(
            event.text, event.name, client, event.client_msg_id, self.now(),
            admit=lambda: limits.check("SUBMIT", client=client, address=address),
            name_in_record=bool(event.name_in_record), held=held)
        answered = self.grouped(conn, Together(question_service.submit_all, asked, answer))
        if created[0]:
            log.info("question submitted", extra={"talk": conn["talk_id"], "question": answered["question"]["id"]})
        return answered

    @acknowledged(events.AudienceVote)
    def on_vote(self, conn: dict[str, Any], event: events.AudienceVote) -> dict[str, Any]:
        """Written with the votes sent beside it (questions.set_votes)."""
        client = conn["client"]
        # a vote given (not taken back) counts against the address's votes for this question
        given = {"question": event.question_id} if event.value else None
        self.limit("VOTE", client=client, per_address=given)
        # many ids handed out just now, from one address, voting for one question: flag it
        limits = current_app.extensions["rate_limits"]
        fresh = bool(event.value) and limits.fresh_vote(client, self.address(), event.question_id)
        ballot = question_service.Ballot(client, event.question_id, event.value, fresh)
        return self.grouped(conn, Together(question_service.set_votes, ballot,
                                           lambda write: {"question_id": write.counted[0], "value": event.value}))

    @acknowledged(events.Report)
    def on_report(self, conn: dict[str, Any], event: events.Report) -> dict[str, Any]:
        """"Melden": once per person and question; the same again is `ok` and changes nothing.
        Only a new report counts against the limits (LIMIT_REPORT_PER_CLIENT / _PER_ADDRESS)."""
        client, address = conn["client"], self.address()
        limits = current_app.extensions["rate_limits"]

        def work(session: DbSession, talk: Talk) -> tuple[Write, dict[str, Any]]:
            write = reports.report(session, talk, client, event.question_id, event.reason,
                                   admit=lambda: limits.check("REPORT", client=client, address=address))
            return write, {"question_id": event.question_id}

        return self.grouped(conn, work)
