"""The shared shape of every namespace: per-connection state, error answers, logging."""
from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Any, Callable

from flask import current_app, request
from flask_socketio import Namespace, emit

from .. import payloads
from ..extensions import db
from ..messages import error
from ..models import Question, Talk, utcnow
from ..services import questions as question_service
from ..services.errors import DomainError
from . import broadcast

log = logging.getLogger("fragerunde.live")


def acknowledged(handler: Callable) -> Callable:
    """Turn a handler into `{ok: true, ...}` or `{ok: false, error, message}`; never raise."""
    @functools.wraps(handler)
    def wrapper(self: "LiveNamespace", data: Any = None, *rest: Any) -> dict:
        event = handler.__name__.removeprefix("on_")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            return error(DomainError("invalid"))
        conn = self.connections.get(request.sid)
        if conn is None:
            return error(DomainError("forbidden"))
        try:
            return {"ok": True, **handler(self, conn, data)}
        except DomainError as exc:
            db.session.rollback()
            log.info("event refused", extra={"event": event, "ns": self.namespace, "code": exc.code})
            answer = error(exc)
            if isinstance(exc.detail.get("question"), Question) and self.view == "moderator":
                answer["question"] = self.fresh(exc.detail["question"].id)
            return answer
        except Exception:
            db.session.rollback()
            log.exception("event failed", extra={"event": event, "ns": self.namespace})
            return error(DomainError("internal"))
    return wrapper


class LiveNamespace(Namespace):
    """Keeps what was established at connect per socket id; unknown events answer `invalid`."""

    view = "audience"

    def __init__(self, namespace: str):
        super().__init__(namespace)
        self.connections: dict[str, dict] = {}

    def fresh(self, question_id: int) -> dict | None:
        """The question as it is stored now, for an answer that refuses a stale change."""
        question = db.session.get(Question, question_id)
        if question is None:
            return None
        counts = question_service.counts(db.session, question.talk, [question.id])
        return payloads.question(question, counts, self.view)

    def trigger_event(self, event: str, *args: Any) -> Any:
        if event not in ("connect", "disconnect") and not callable(getattr(self, "on_" + (event or ""), None)):
            return error(DomainError("invalid"))
        if self._sent_by_client(event, args[0] if args else None):
            return error(DomainError("invalid"))
        return super().trigger_event(event, *args)

    def _sent_by_client(self, event: str, sid: Any) -> bool:
        """A client may emit an event named `connect` or `disconnect`: it must not re-run either.

        At a real connect the socket is not in `connections` yet; during a real disconnect
        python-socketio already counts it as gone."""
        if event == "connect":
            return sid in self.connections
        if event == "disconnect":
            return self.socketio.server.manager.is_connected(sid, self.namespace)
        return False

    def on_disconnect(self, reason: Any = None) -> None:
        self.connections.pop(request.sid, None)

    def send_snapshot(self, talk: Talk, client: str | None = None) -> None:
        """The state this connection may see, with the seq it was read at."""
        snapshot = broadcast.snapshot(db.session, talk, self.view, self.now(), client)
        db.session.rollback()
        emit("snapshot", snapshot, to=self.sid())

    @staticmethod
    def sid() -> str:
        return request.sid  # type: ignore[attr-defined]

    @staticmethod
    def talk(conn: dict) -> Talk:
        talk = db.session.get(Talk, conn["talk_id"])
        if talk is None:
            raise DomainError("not_found")
        return talk

    def limit(self, kind: str, **keys: str) -> None:
        current_app.extensions["rate_limits"].check(kind, address=self.address(), **keys)

    @staticmethod
    def now() -> datetime:
        return current_app.config.get("CLOCK", utcnow)()

    @staticmethod
    def address() -> str | None:
        return request.remote_addr
