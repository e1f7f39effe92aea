"""Socket.IO: authenticate on connect, authorise and validate every event, call a service,
commit, then emit to the talk's rooms, then acknowledge."""
from __future__ import annotations

from flask import Flask

from ..extensions import socketio
from .audience import AudienceNamespace
from .idle import close_idle_sessions
from .moderator import ModeratorNamespace
from .podium import PodiumNamespace
from .votes import VoteBatcher


def register(app: Flask) -> None:
    socketio.on_namespace(AudienceNamespace("/audience"))
    socketio.on_namespace(ModeratorNamespace("/moderator"))
    socketio.on_namespace(PodiumNamespace("/podium"))
    close_idle_sessions(socketio.server, app.config["NAMESPACE_CONNECT_TIMEOUT"])
    app.extensions["vote_batcher"] = VoteBatcher(app, socketio, app.config["VOTE_FLUSH_SECONDS"])
