"""Work a server process does beside answering requests: reading the intake mailbox."""
from __future__ import annotations

from flask import Flask

from ..extensions import socketio


def start(app: Flask) -> None:
    """Called by the server (moderation/serving.py) in the process that serves, never by
    `flask` commands or tests that only build an app."""
    from . import mailbox
    mailbox.start(app, socketio)
