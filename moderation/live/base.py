"""The shared shape of every namespace: per-connection state, parsing, error answers, publishing."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app, request
from flask_socketio import Namespace, emit

from .. import clock
from ..extensions import begin_read_only, db
from ..messages import error
from ..models import Question, Talk
from ..readmodel import payloads, publish
from ..readmodel.snapshot import snapshot
from ..readmodel.views import View
from ..services.errors import DomainError
from ..services.writes import Write
from ..workers.group import Together, Work
from .events import parse

log = logging.getLogger("fragerunde.live")
Handler = Callable[[Any, dict[str, Any], Any], dict[str, Any]]


def acknowledged(payload: type) -> Callable[[Handler], Callable[..., dict[str, Any]]]:
    """Parse the event's dict into `payload`, run the handler, and answer `{ok: true, ...}` or
    `{ok: false, error, message}`; never raise."""
    def decorate(handler: Handler) -> Callable[..., dict[str, Any]]:
        @functools.wraps(handler)
        def wrapper(self: LiveNamespace, data: Any = None, *rest: Any) -> dict[str, Any]:
            event = handler.__name__.removeprefix("on_")
            if data is None:
                data = {}
            if not isinstance(data, dict):
                return error(DomainError("invalid"))
            conn = self.connections.get(request.sid)  # type: ignore[attr-defined]
            if conn is None:
                return error(DomainError("forbidden"))
            try:
                return {"ok": True, **handler(self, conn, parse(payload, data))}
            except DomainError as exc:
                db.session.rollback()
                log.info("event refused", extra={"event": event, "ns": self.namespace, "code": exc.code})
                answer = error(exc)
                if isinstance(exc.detail.get("question"), Question) and self.view.staff_fields:
                    answer["question"] = self.fresh(exc.detail["question"].id)
                return answer
            except Exception:
                db.session.rollback()
                log.exception("event failed", extra={"event": event, "ns": self.namespace})
                return error(DomainError("internal"))
        return wrapper
    return decorate


class LiveNamespace(Namespace):
    """Keeps what was established at connect per socket id; unknown events answer `invalid`."""

    view: View

    def __init__(self, view: View):
        super().__init__(view.namespace)
        self.connections: dict[str, dict[str, Any]] = {}

    def fresh(self, question_id: int) -> dict[str, Any] | None:
        """The question as it is stored now, as this view sees it (for an acknowledgement)."""
        question = db.session.get(Question, question_id)
        if question is None:
            return None
        ctx = payloads.load(db.session, question.talk, self.view.fields, [question])
        return payloads.question(question, self.view, ctx)

    def publish(self, talk: Talk, write: Write, answer: dict[str, Any]) -> dict[str, Any]:
        """Commit the write, then tell every view; `answer` was read before the commit expired it."""
        publish.commit(publish.outbox(db.session, talk, write, self.now()))
        return answer

    def grouped(self, conn: dict[str, Any], work: Work | Together, savepoint: bool = True) -> dict[str, Any]:
        """Run `work` in the next group transaction (workers/group.py); its answer once committed."""
        db.session.rollback()  # hold no transaction (on SQLite: the writer lock) while the writer works
        return current_app.extensions["group_commit"].run(conn["talk_id"], work, savepoint)

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
            return bool(self.socketio.server.manager.is_connected(sid, self.namespace))
        return False

    def on_disconnect(self, reason: Any = None) -> None:
        self.connections.pop(request.sid, None)  # type: ignore[attr-defined]

    def send_snapshot(self, talk: Talk, client: str | None = None, view: View | None = None) -> None:
        """The state this connection may see, with the seq it was read at: read in one transaction
        of its own that takes no writer lock, pausing between chunks for other sockets' work."""
        db.session.rollback()
        begin_read_only(db.session)
        state = snapshot(db.session, talk, view or self.view, self.now(), client,
                         pause=lambda: self.socketio.sleep(0), cache=current_app.extensions["snapshots"])
        db.session.rollback()
        emit("snapshot", state, to=self.sid())

    @staticmethod
    def sid() -> str:
        return request.sid  # type: ignore[attr-defined]

    @staticmethod
    def talk(conn: dict[str, Any]) -> Talk:
        talk = db.session.get(Talk, conn["talk_id"])
        if talk is None:
            raise DomainError("not_found")
        return talk

    def limit(self, kind: str, **keys: Any) -> None:
        current_app.extensions["rate_limits"].check(kind, address=self.address(), **keys)

    def admit_connect(self) -> None:
        """Connects per address are limited (LIMIT_CONNECT_PER_ADDRESS): refuse with `rate_limited`."""
        if current_app.extensions["rate_limits"].hit("CONNECT", address=self.address()) is not None:
            raise ConnectionRefusedError("rate_limited")

    @staticmethod
    def now() -> datetime:
        return clock.now()

    @staticmethod
    def address() -> str | None:
        return request.remote_addr
