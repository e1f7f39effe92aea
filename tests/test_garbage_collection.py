"""The serving process collects garbage less often and never scans what it started with
(serving.GC_THRESHOLDS: with thousands of sockets a full collection stopped every broadcast), and a
socket event leaves no garbage that only a collection frees."""
from __future__ import annotations

import gc

import pytest
from flask import request
from werkzeug.test import EnvironBuilder

from moderation import serving
from moderation.live import SOCKETIO_PATH


def test_serve_freezes_the_start_and_collects_the_youngest_less_often(app, monkeypatch):
    seen = {}

    def run(server):
        seen.update(threshold=gc.get_threshold(), frozen=gc.get_freeze_count())

    monkeypatch.setitem(app.config, "ASYNC_MODE", "threading")
    monkeypatch.setattr(serving.ThreadedServer, "run", run)
    before = gc.get_threshold()
    try:
        serving.serve(app, "127.0.0.1", 0)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert seen["threshold"] == serving.GC_THRESHOLDS != before
    assert seen["frozen"] > 10_000  # the modules, the app and its extensions


@pytest.mark.parametrize("method, transport", [("GET", "websocket"), ("GET", "polling"), ("POST", "polling")])
def test_a_socket_events_request_context_is_not_left_to_the_collector(app, method, transport):
    """Flask-SocketIO pushes a request context for the socket's first request at every connect,
    event and disconnect. Its URL matches a route: no NotFound is raised and kept on the request
    with its traceback, a cycle of frames that held the whole context until a collection."""
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade"} if transport == "websocket" else {}
    environ = EnvironBuilder(SOCKETIO_PATH, query_string=f"EIO=4&transport={transport}", method=method,
                             headers=upgrade).get_environ()
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(20):
            with app.request_context(environ):
                assert request.routing_exception is None and request.endpoint == "socketio"
        gc.collect()
        left = {type(o).__name__ for o in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert not left & {"RequestContext", "Request", "AppContext", "NotFound", "WebsocketMismatch"}, left
