from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app
from flask_socketio import join_room

from ..extensions import db
from ..readmodel.views import OVERLAY, PODIUM
from ..services import talks as talk_service
from ..services.errors import DomainError
from . import events
from .base import LiveNamespace, acknowledged


class PodiumNamespace(LiveNamespace):
    """Read-only: forwarded and answered questions of the one talk the token belongs to."""

    view = PODIUM

    def on_connect(self, auth: object = None) -> None:
        self.admit_connect()
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            talk = talk_service.by_podium_token(db.session, token)
        except DomainError:
            raise ConnectionRefusedError("forbidden") from None
        # The stream's overlay (`?overlay=1`) is a view of its own: it never learns the line to the podium.
        view = OVERLAY if isinstance(auth, dict) and auth.get("overlay") is True else PODIUM
        self.connections[self.sid()] = {"talk_id": talk.id, "token": token, "view": view}
        join_room(view.room(talk.id))
        current_app.extensions["access"].start()
        self.send_snapshot(talk, view=view)

    @acknowledged(events.Empty)
    def on_resync(self, conn: dict[str, Any], event: events.Empty) -> dict[str, Any]:
        talk = self.talk(conn)
        if talk.podium_token != conn["token"]:
            current_app.extensions["access"].end(self.namespace, self.sid(), "podium_link")
            raise DomainError("forbidden")
        self.limit("RESYNC", token=f"podium-{talk.id}")  # the link itself stays out of the store
        self.send_snapshot(talk, view=conn["view"])
        return {}

    def ended(self, conns: Mapping[str, dict[str, Any]]) -> dict[str, str]:
        """Of these sockets, those opened with a podium link that is no longer the talk's."""
        tokens = talk_service.podium_tokens(db.session, {conn["talk_id"] for conn in conns.values()})
        return {sid: "podium_link" for sid, conn in conns.items() if tokens.get(conn["talk_id"]) != conn["token"]}
