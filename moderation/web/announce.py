"""What open screens must hear when the organiser changes something: commit first, then tell them."""
from __future__ import annotations

from datetime import datetime

from ..extensions import db, socketio
from ..live import broadcast, rooms
from ..services.organiser import Saved


def talk_saved(saved: Saved, now: datetime) -> None:
    """Commit a saved talk; open pages get the new window and settings, dropped moderators lose access."""
    talk = saved.talk
    outbox = broadcast.talk_changed(talk, talk.seq, now) if saved.live_changed else broadcast.Outbox()
    talk_id, slug = talk.id, talk.slug
    broadcast.commit(outbox)
    for user_id in saved.removed_moderators:
        access_ended(talk_id, slug, user_id)


def access_ended(talk_id: int, slug: str, user_id: int) -> None:
    """Tell the moderator's pages of this talk, and close those on this process; sockets on other
    processes are refused at their next event."""
    data = {"talk": slug}
    socketio.emit("access_ended", data, to=rooms.user(user_id), namespace="/moderator")
    _disconnect("/moderator", rooms.user(user_id), rooms.moderators(talk_id), tell=("access_ended", data))


def account_ended(user_id: int) -> None:
    """A disabled account or a reset password: its sockets are logged out like at logout."""
    socketio.emit("logged_out", {}, to=rooms.user(user_id), namespace="/moderator")
    _disconnect("/moderator", rooms.user(user_id))


def podium_revoked(talk_id: int) -> None:
    """The podium link was renewed: screens still on the old one are closed."""
    socketio.emit("revoked", {}, to=rooms.podium(talk_id), namespace="/podium")
    _disconnect("/podium", rooms.podium(talk_id), tell=("revoked", {}))


def _disconnect(namespace: str, room: str, *also_in: str, tell: tuple[str, dict] | None = None) -> None:
    """Close this process's sockets in all the rooms given, telling them why first.

    The room-wide emit travels through the message queue and may arrive after the disconnect;
    the direct one (ignore_queue) is sent ahead of it on the same connection."""
    manager = socketio.server.manager
    sids = {sid for sid, _eio in manager.get_participants(namespace, room)}
    for other in also_in:
        sids &= {sid for sid, _eio in manager.get_participants(namespace, other)}
    for sid in sids:
        if tell is not None:
            socketio.emit(tell[0], tell[1], to=sid, namespace=namespace, ignore_queue=True)
        socketio.server.disconnect(sid, namespace=namespace)
