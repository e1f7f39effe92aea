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

# Socket.IO's address (Flask-SocketIO's default `path`).
SOCKETIO_PATH = "/socket.io/"


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
    # Flask-SocketIO runs every connect, event and disconnect in a request context for the socket's
    # first request, and Flask matches that request's URL when the context is pushed. Socket.IO's
    # address matched no route: each push raised NotFound, kept on the request with its traceback,
    # a reference cycle of a dozen frames and their locals that only the garbage collector frees
    # (thousands per second in a vote storm; the collections it forced held up broadcasts,
    # bench/RESULTS.md). Rules for the address (polling, and a WebSocket's upgrade, which werkzeug
    # matches only against rules for WebSockets) let the match succeed. Their view never runs: the
    # Socket.IO middleware answers that address before Flask does.
    app.add_url_rule(SOCKETIO_PATH, "socketio", _answered_by_socketio, methods=["GET", "POST"])
    app.add_url_rule(SOCKETIO_PATH, "socketio", _answered_by_socketio, websocket=True)


def _answered_by_socketio() -> tuple[str, int]:
    return "", 404
