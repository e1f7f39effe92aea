"""Socket.IO: authenticate on connect, authorise and parse every event, call a service,
then publish (commit, emit to the views' rooms) and acknowledge."""
from __future__ import annotations

from flask import Flask

from ..extensions import socketio
from ..readmodel.group import GroupCommit
from ..readmodel.votes import VoteBatcher
from .audience import AudienceNamespace
from .idle import close_idle_sessions
from .moderator import ModeratorNamespace
from .podium import PodiumNamespace


def register(app: Flask) -> None:
    for namespace in (AudienceNamespace, ModeratorNamespace, PodiumNamespace):
        socketio.on_namespace(namespace(namespace.view))
    close_idle_sessions(socketio.server, app.config["NAMESPACE_CONNECT_TIMEOUT"])
    app.extensions["vote_batcher"] = VoteBatcher(app, socketio, app.config["VOTE_FLUSH_SECONDS"])
    app.extensions["group_commit"] = GroupCommit(app, socketio, app.config["GROUP_COMMIT_MAX"])
