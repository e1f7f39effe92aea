"""Build what each room sees before commit; send it after commit."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from .. import payloads
from ..extensions import db, socketio
from ..models import OPEN_STATUSES, PODIUM_STATUSES, PUBLIC_STATUSES, Talk
from ..services import duplicates
from ..services import questions as question_service
from ..services.questions import Change
from . import rooms


@dataclass
class Outbox:
    messages: list[tuple[str, dict, str, str]] = field(default_factory=list)

    def add(self, event: str, data: dict, room: str, namespace: str) -> None:
        self.messages.append((event, data, room, namespace))

    def send(self) -> None:
        for event, data, room, namespace in self.messages:
            socketio.emit(event, data, to=room, namespace=namespace)


def changes(session: Session, talk: Talk, changed: list[Change]) -> Outbox:
    """Every room learns of every change: the question where it may see it, else only the seq."""
    outbox = Outbox()
    changed = [c for change in changed for c in (change, *change.related) if c.seq is not None]
    if not changed:
        return outbox
    counts = question_service.counts(session, talk, [c.question.id for c in changed])
    children = question_service.merged_children(session, talk)
    suggest = {c.question.id for c in changed if c.question.status in OPEN_STATUSES}
    similar = duplicates.similar(question_service.visible(session, talk, "moderator"), only=suggest) \
        if suggest else {}
    for change in changed:
        q, seq = change.question, change.seq
        staff = payloads.question(q, counts, "moderator", children.get(q.id)) | {"similar": similar.get(q.id, [])}
        outbox.add("question", {"question": staff, "seq": seq}, rooms.moderators(talk.id), "/moderator")
        public = payloads.question(q, counts, "audience")
        if q.status in PUBLIC_STATUSES or change.old_status in PUBLIC_STATUSES:
            outbox.add("question", {"question": public, "seq": seq}, rooms.audience(talk.id), "/audience")
        else:
            if q.client_hash:
                outbox.add("question", {"question": public, "seq": seq},
                           rooms.client(talk.id, q.client_hash), "/audience")
            outbox.add("seq", {"seq": seq}, rooms.audience(talk.id), "/audience")
        if q.status in PODIUM_STATUSES or change.old_status in PODIUM_STATUSES:
            outbox.add("question", {"question": public, "seq": seq}, rooms.podium(talk.id), "/podium")
        else:
            outbox.add("seq", {"seq": seq}, rooms.podium(talk.id), "/podium")
    return outbox


def talk_changed(talk: Talk, seq: int, now: datetime) -> Outbox:
    outbox = Outbox()
    data = {"talk": payloads.talk(talk, now), "seq": seq}
    for room, namespace in ((rooms.moderators(talk.id), "/moderator"),
                            (rooms.audience(talk.id), "/audience"), (rooms.podium(talk.id), "/podium")):
        outbox.add("talk", data, room, namespace)
    return outbox


def commit(outbox: Outbox) -> None:
    """The one place where a change becomes durable and then visible: commit, then emit."""
    db.session.commit()
    outbox.send()


def snapshot(session: Session, talk: Talk, view: str, now: datetime, client: str | None = None) -> dict:
    shown = question_service.visible(session, talk, view, client)
    counts = question_service.counts(session, talk)
    children = question_service.merged_children(session, talk) if view == "moderator" else {}
    voted = question_service.voted_by(session, talk, client) if view == "audience" and client else set()
    similar = duplicates.similar(shown) if view == "moderator" else {}
    items = []
    for q in shown:
        item = payloads.question(q, counts, view, children.get(q.id))
        if view == "moderator":
            item["similar"] = similar.get(q.id, [])
        if view == "audience" and client:
            item["mine"] = q.client_hash == client
            item["voted"] = q.id in voted
        items.append(item)
    return {"talk": payloads.talk(talk, now), "questions": items, "seq": talk.seq}
