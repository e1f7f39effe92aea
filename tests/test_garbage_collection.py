"""The serving process collects garbage less often and never scans what it started with
(serving.GC_THRESHOLDS: with thousands of sockets a full collection stopped every broadcast)."""
from __future__ import annotations

import gc

from moderation import serving


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
