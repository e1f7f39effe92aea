"""The app's notion of now: the real clock, or the one a test sets as config CLOCK."""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from .models import utcnow


def now() -> datetime:
    return current_app.config.get("CLOCK", utcnow)()
