"""Socket.IO: authenticate on connect, authorise and parse every event, call a service,
then publish (commit, emit to the views' rooms) and acknowledge."""
from __future__ import annotations

from flask import Flask

from ..extensions import socketio
from ..workers.group import GroupCommit
from ..workers.similar import SimilarWorker
from ..workers.votes import VoteBatcher
from .audience import AudienceNamespace
from .idle import close_idle_sessions
from .moderator import ModeratorNamespace
from .podium import PodiumNamespace
from .sessions import Access


def register(app: Flask) -> None:
    moderators, podiums = ModeratorNamespace(ModeratorNamespace.view), PodiumNamespace(PodiumNamespace.view)
    for namespace in (AudienceNamespace(AudienceNamespace.view), moderators, podiums):
        socketio.on_namespace(namespace)
    close_idle_sessions(socketio.server, app.config["NAMESPACE_CONNECT_TIMEOUT"])
    app.extensions["vote_batcher"] = VoteBatcher(app, socketio, app.config["VOTE_FLUSH_SECONDS"])
    app.extensions["similar_worker"] = SimilarWorker(app, socketio, app.config["SIMILAR_DELAY_SECONDS"])
    app.extensions["group_commit"] = GroupCommit(app, socketio, app.config["GROUP_COMMIT_MAX"])
    access = Access(app, socketio.server, {moderators.namespace: moderators, podiums.namespace: podiums},
                    app.config["SESSION_SWEEP_SECONDS"])
    socketio.server.manager.on_order = access.order
    app.extensions["access"] = access
