"""Ending access: the one way open screens lose it, whatever ended it — a logout, a new password,
a deactivated account, a changed role, a moderator removed from a talk, a renewed podium link.

`end_sessions(who, why)` runs after the commit that ended it. It sends an order through the
Socket.IO client manager (the Redis queue with REDIS_URL, else this process only), in the same
channel as every broadcast; each server process checks the named sockets it holds against the
database again and closes those that may no longer see what they see, telling them why
(`session_ended {why}`): live/sessions.py. So a broadcast published after the order reaches every
process after those sockets are gone. A sweep on each process checks every open moderator and
podium socket the same way, for what no order carried (a CLI command without REDIS_URL).
"""
from __future__ import annotations

from ..extensions import socketio
from ..services.writes import WHY, Sessions
from . import rooms
from .views import MODERATOR, OVERLAY, PODIUM

ORDER = "fragerunde:end_sessions"  # an order between server processes, never sent to a client
ENDED = "session_ended"  # what a closed socket hears first: {why}


def account(user_id: int) -> Sessions:
    return Sessions("account", user_id)


def podium(talk_id: int) -> Sessions:
    return Sessions("podium", talk_id)


def rooms_of(who: Sessions) -> list[tuple[str, str]]:
    """The (namespace, room) pairs whose sockets the order names."""
    if who.kind == "account":
        return [(MODERATOR.namespace, rooms.user(who.id))]
    return [(view.namespace, view.room(who.id)) for view in (PODIUM, OVERLAY)]


def end_sessions(who: Sessions, why: str) -> None:
    """After commit: every process closes the sockets of `who` whose access ended, saying `why`."""
    assert why in WHY, why
    for namespace, room in rooms_of(who):
        socketio.emit(ORDER, {"why": why}, to=room, namespace=namespace)
