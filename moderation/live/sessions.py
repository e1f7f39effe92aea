"""Ending a staff account's sessions on every server process.

A logout, password reset, role change or deactivation bumps the account's session epoch, commits,
and then emits `logged_out` to the account's room (publish.notify_logout). The client managers
below treat that event as an order: each process that delivers it disconnects the room's sockets
right after. With REDIS_URL the event travels through the same queue channel as every broadcast,
so any broadcast published after it reaches the other processes after their sockets are gone.

A sweep (SessionSweep) also checks the epochs of every open moderator socket every few seconds:
it catches what the queue cannot carry (a CLI command without REDIS_URL, a message lost while a
process was reconnecting to Redis).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import socketio
from flask import Flask
from flask_socketio import SocketIO

from ..readmodel.publish import LOGGED_OUT
from ..readmodel.views import MODERATOR

NAMESPACE = MODERATOR.namespace
ROOM_PREFIX = "user:"  # rooms.user(id)

log = logging.getLogger("fragerunde.live")


def _end_sessions(manager: socketio.Manager, event: str, namespace: str | None, room: object) -> None:
    if event != LOGGED_OUT or namespace != NAMESPACE or not isinstance(room, str) or not room.startswith(ROOM_PREFIX):
        return
    for sid, _eio_sid in list(manager.get_participants(namespace, room)):
        manager.server.disconnect(sid, namespace=namespace, ignore_queue=True)


class LocalManager(socketio.Manager):
    """One process: `logged_out` to an account's room disconnects its sockets here."""

    def emit(self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
             callback: Any = None, to: Any = None, **kwargs: Any) -> Any:
        result = super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback,
                              to=to, **kwargs)
        _end_sessions(self, event, namespace, to or room)
        return result


class QueueManager(socketio.RedisManager):
    """Several processes over Redis: each one disconnects its own sockets of the account when the
    `logged_out` emit reaches it through the queue (its own emits are handled here too)."""

    def _handle_emit(self, message: dict) -> None:
        super()._handle_emit(message)
        _end_sessions(self, message.get("event", ""), message.get("namespace"), message.get("room"))


def client_manager(redis_url: str | None, channel: str) -> socketio.Manager:
    """The Socket.IO client manager for SocketIO.init_app; `channel` is the installation's
    REDIS_PREFIX, so that two installations (or test runs) on one Redis never hear each other."""
    if redis_url:
        return QueueManager(redis_url, channel=channel)
    return LocalManager()


class SessionSweep:
    """Every `interval` seconds, disconnect open moderator sockets whose session is no longer valid.

    `connections` maps a socket id to its connection dict (with "login": Flask-Login's id);
    `still_valid(logins)` answers which of those ids still load an account."""

    def __init__(self, app: Flask, socketio_ext: SocketIO, connections: dict[str, dict],
                 still_valid: Callable[[set[str]], set[str]], interval: float):
        self.app = app
        self.socketio = socketio_ext
        self.connections = connections
        self.still_valid = still_valid
        self.interval = interval
        self.started = False
        self.lock = threading.Lock()

    def start(self) -> None:
        with self.lock:
            if self.started or self.interval <= 0:
                return
            self.started = True
        self.socketio.start_background_task(self._run)

    def _run(self) -> None:
        while True:
            self.socketio.sleep(self.interval)
            try:
                self.sweep()
            except Exception:  # a failed sweep must not stop later ones
                log.exception("session sweep failed")

    def sweep(self) -> int:
        """Disconnect the sockets of ended sessions; returns how many."""
        open_sockets = {sid: conn["login"] for sid, conn in list(self.connections.items()) if "login" in conn}
        if not open_sockets:
            return 0
        with self.app.app_context():
            valid = self.still_valid(set(open_sockets.values()))
        ended = [sid for sid, login in open_sockets.items() if login not in valid]
        for sid in ended:
            self.socketio.server.disconnect(sid, namespace=NAMESPACE)
        if ended:
            log.info("ended sessions disconnected", extra={"sockets": len(ended)})
        return len(ended)
