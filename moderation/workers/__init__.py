"""The server's background work, each piece a loop of `loop.Loop`: the group writer (group.py),
the vote batcher (votes.py), the similar-question worker (similar.py) and the intake mailbox
(mailbox.py); live/ also runs the session sweep and the idle-session sweep through it. Each starts
with the first work it is given, as a background task of the server's async mode, and outlives any
one failed round."""
from __future__ import annotations

from flask import Flask

from ..extensions import socketio


def start(app: Flask) -> None:
    """Called by the server (moderation/serving.py) in the process that serves, never by
    `flask` commands or tests that only build an app."""
    from . import mailbox
    mailbox.start(app, socketio)
