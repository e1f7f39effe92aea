"""What open screens must hear when the organiser changes something: commit first, then tell them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ..extensions import db, socketio
from ..models import Talk
from ..readmodel import publish, rooms
from ..readmodel.views import MODERATOR, PODIUM
from ..services.organiser import Saved
from ..services.writes import Write


def talk_saved(saved: Saved, now: datetime) -> None:
    """Commit a saved talk; open pages get the new window and settings, dropped moderators lose access."""
    talk_id, slug = saved.talk.id, saved.talk.slug
    publish.commit(publish.outbox(db.session, saved.talk, saved.write, now))
    for user_id in saved.removed_moderators:
        access_ended(talk_id, slug, user_id)


def talk_changed(talk: Talk, write: Write, now: datetime) -> None:
    """Commit a change of the talk; open pages hear of it."""
    publish.commit(publish.outbox(db.session, talk, write, now))


def restarted(talk: Talk, write: Write, now: datetime) -> None:
    """Commit the end of a Probelauf; every open page of the talk then starts over."""
    publish.commit(publish.restart(db.session, talk, now) if write.talk_changed else publish.Outbox())


def access_ended(talk_id: int, slug: str, user_id: int) -> None:
    """Tell the moderator's pages (they show it on the page of this talk), and close this process's
    sockets of the talk; sockets on other processes are refused at their next event."""
    data = {"talk": slug}
    socketio.emit("access_ended", data, to=rooms.user(user_id), namespace=MODERATOR.namespace)
    _disconnect(MODERATOR.namespace, rooms.user(user_id), MODERATOR.room(talk_id), tell=("access_ended", data))


def account_ended(user_id: int) -> None:
    """A disabled account or a reset password: its sockets are logged out like at logout."""
    socketio.emit("logged_out", {}, to=rooms.user(user_id), namespace=MODERATOR.namespace)
    _disconnect(MODERATOR.namespace, rooms.user(user_id), tell=("logged_out", {}))


def podium_revoked(talk_id: int) -> None:
    """The podium link was renewed: screens still on the old one are closed."""
    socketio.emit("revoked", {}, to=PODIUM.room(talk_id), namespace=PODIUM.namespace)
    _disconnect(PODIUM.namespace, PODIUM.room(talk_id), tell=("revoked", {}))


def _disconnect(namespace: str, room: str, *also_in: str, tell: tuple[str, dict[str, Any]]) -> None:
    """Close this process's sockets in all the rooms given, telling them why first.

    The room-wide emit travels through the message queue and may arrive after the disconnect;
    the direct one (ignore_queue) goes ahead of it on the same connection."""
    manager = socketio.server.manager
    sids = {sid for sid, _eio in manager.get_participants(namespace, room)}
    for other in also_in:
        sids &= {sid for sid, _eio in manager.get_participants(namespace, other)}
    for sid in sids:
        socketio.emit(tell[0], tell[1], to=sid, namespace=namespace, ignore_queue=True)
        socketio.server.disconnect(sid, namespace=namespace)
