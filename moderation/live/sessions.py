"""Ending access on every server process (the orders come from readmodel/access.end_sessions).

The client managers below carry the orders: each process that receives one — through the Redis
queue with REDIS_URL, else the process that sent it — checks the named sockets it holds against
the database again (`Access.check`) and closes those whose access ended, telling them why
(`session_ended {why}`). An order travels in the same channel as every broadcast, so a broadcast
published after it reaches the other processes after those sockets are gone.

A sweep (`Access.sweep`) checks every open moderator and podium socket the same way every few
seconds: it catches what the queue cannot carry (a CLI command without REDIS_URL, a message lost
while a process was reconnecting to Redis).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import socketio
from flask import Flask

from ..extensions import begin_read_only, db
from ..readmodel.access import ENDED, ORDER
from ..workers.loop import Loop

log = logging.getLogger("fragerunde.live")
Order = Callable[[str, str, dict[str, Any]], None]  # (namespace, room, {why})


class Orders:
    """A client manager that hands orders to end sessions to `on_order` instead of delivering them."""

    on_order: Order | None = None

    def _order(self, namespace: object, room: object, data: object) -> None:
        if self.on_order is not None and isinstance(namespace, str) and isinstance(room, str) \
                and isinstance(data, dict):
            self.on_order(namespace, room, data)


class LocalManager(Orders, socketio.Manager):
    """One process."""

    def emit(self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
             callback: Any = None, to: Any = None, **kwargs: Any) -> Any:
        if event == ORDER:
            return self._order(namespace, to or room, data)
        return super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback,
                            to=to, **kwargs)


class QueueManager(Orders, socketio.RedisManager):
    """Several processes over Redis: every process (the sender too) handles each order here."""

    def _handle_emit(self, message: dict) -> None:
        if message.get("event") == ORDER:
            data = message.get("data")
            return self._order(message.get("namespace"), message.get("room"),
                               data[0] if isinstance(data, list) and data else data)
        return super()._handle_emit(message)


def client_manager(redis_url: str | None, channel: str) -> socketio.Manager:
    """The Socket.IO client manager for SocketIO.init_app; `channel` is the installation's
    REDIS_PREFIX, so that two installations (or test runs) on one Redis never hear each other."""
    if redis_url:
        return QueueManager(redis_url, channel=channel)
    return LocalManager()


class Guarded(Protocol):
    """A namespace whose sockets' access can end: its connection table, and which of the given
    sockets may no longer stay, with why (read in an app context)."""

    connections: dict[str, dict[str, Any]]

    def ended(self, conns: Mapping[str, dict[str, Any]]) -> dict[str, str]: ...


class Access:
    """Checks open sockets again and closes those whose access ended (orders and the sweep)."""

    def __init__(self, app: Flask, server: socketio.Server, namespaces: Mapping[str, Guarded],
                 sweep_every: float):
        self.app = app
        self.server = server
        self.namespaces = namespaces
        self.sweeper = Loop("session sweep", server, self._sweep, sweep_every)

    def start(self) -> None:
        """Sweep from now on (with the first guarded socket); never with SESSION_SWEEP_SECONDS 0."""
        if self.sweeper.every > 0:
            self.sweeper.start()

    def order(self, namespace: str, room: str, data: dict[str, Any]) -> None:
        """An order to end sessions reached this process: check its sockets in that room."""
        sids = [sid for sid, _eio in self.server.manager.get_participants(namespace, room)]
        why = data.get("why")
        self.check(namespace, sids, why if isinstance(why, str) else None)

    def check(self, namespace: str, sids: list[str], why: str | None = None) -> int:
        """Close those of these sockets whose access ended; `why` (else the check's own reason)."""
        guarded = self.namespaces.get(namespace)
        if guarded is None:
            return 0
        conns = {sid: conn for sid in sids if (conn := guarded.connections.get(sid)) is not None}
        if not conns:
            return 0
        with self.app.app_context():  # a session of its own, reading only: the sender may hold one
            try:
                begin_read_only(db.session)
                ended = guarded.ended(conns)
            finally:
                db.session.rollback()
        for sid, reason in ended.items():
            self.end(namespace, sid, why or reason)
        if ended:
            log.info("sessions ended", extra={"ns": namespace, "sockets": len(ended), "why": why or "sweep"})
        return len(ended)

    def end(self, namespace: str, sid: str, why: str) -> None:
        """Tell one socket of this process why its access ended, then close it."""
        self.server.emit(ENDED, {"why": why}, to=sid, namespace=namespace, ignore_queue=True)
        self.server.disconnect(sid, namespace=namespace, ignore_queue=True)

    def sweep(self) -> int:
        """Check every open socket of the guarded namespaces; how many were closed."""
        return sum(self.check(namespace, list(guarded.connections)) for namespace, guarded in self.namespaces.items())

    def _sweep(self) -> None:
        self.sweep()
