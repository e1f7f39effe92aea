from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import current_app
from flask_login import current_user
from flask_socketio import emit, join_room

from ..extensions import db
from ..models import Talk, User
from ..readmodel import payloads, publish, rooms
from ..readmodel.views import MODERATOR
from ..services import actions, curation, organiser, similar, steps, windows
from ..services import questions as question_service
from ..services import talks as talk_service
from ..services.errors import DomainError
from ..services.writes import Write
from . import events
from .base import LiveNamespace, acknowledged

log = logging.getLogger("fragerunde.live")


class ModeratorNamespace(LiveNamespace):
    """The live queue. Every event re-checks the account: a logout voids open sockets too."""

    view = MODERATOR

    def on_connect(self, auth: object = None) -> None:
        self.admit_connect()
        if not current_user.is_authenticated:
            raise ConnectionRefusedError("forbidden")
        if not isinstance(auth, dict):
            raise ConnectionRefusedError("invalid")
        try:
            talk = talk_service.by_slug(db.session, auth.get("talk"))
        except DomainError:
            raise ConnectionRefusedError("not_found") from None
        user = current_user._get_current_object()
        if not organiser.may_moderate(db.session, user, talk):
            raise ConnectionRefusedError("forbidden")
        self.connections[self.sid()] = {"talk_id": talk.id, "login": user.get_id(),
                                        "username": user.username, "slug": talk.slug}
        join_room(MODERATOR.room(talk.id))
        join_room(rooms.user(user.id))
        current_app.extensions["access"].start()
        log.info("moderator connected", extra={"talk": talk.id, "user": user.id})
        db.session.rollback()
        current_app.extensions["similar_worker"].mark(talk.id, [])  # questions stored before it ran
        self.send_snapshot(talk)

    def on_disconnect(self, reason: object = None) -> None:
        conn = self.connections.get(self.sid())
        if conn and conn.get("editing"):
            emit("editing", {"question_id": conn["editing"], "user": None}, to=MODERATOR.room(conn["talk_id"]))
        super().on_disconnect(reason)

    def moderating(self, conn: dict[str, Any]) -> tuple[User, Talk]:
        """The account behind the socket and its talk, if the account still may moderate it (one
        statement: organiser.seat); else the socket ends. Both are returned so that the event holds
        the talk it checked (the session keeps only what is held: asked again, it would read the
        talk again).

        Checked at every event too: an end of access that no order reached (readmodel/access.py)
        ends this socket at its next event at the latest."""
        talk, user, may = organiser.seat(db.session, conn["login"], conn["talk_id"])
        if talk is None:
            raise DomainError("not_found")
        if user is None or not may:
            why = "logged_out" if user is None else "removed"
            current_app.extensions["access"].end(self.namespace, self.sid(), why)
            raise DomainError("forbidden")
        return user, talk

    def ended(self, conns: Mapping[str, dict[str, Any]]) -> dict[str, str]:
        """Of these sockets, those whose login is void or whose account no longer moderates the talk."""
        return organiser.ended_moderation(db.session, {sid: (conn["login"], conn["talk_id"])
                                                       for sid, conn in conns.items()})

    @acknowledged(events.Empty)
    def on_resync(self, conn: dict[str, Any], event: events.Empty) -> dict[str, Any]:
        user, talk = self.moderating(conn)
        self.limit("RESYNC", account=str(user.id))
        self.send_snapshot(talk)
        return {}

    @acknowledged(events.Empty)
    def on_topics(self, conn: dict[str, Any], event: events.Empty) -> dict[str, Any]:
        """The talk's topic map ("Themen"), as the similar worker last drew it."""
        self.moderating(conn)
        db.session.rollback()
        return {"topics": current_app.extensions["similar_worker"].current_map(conn["talk_id"]).payload()}

    def _publish_question(self, talk: Talk, user: User, write: Write, **extra: Any) -> dict[str, Any]:
        """Publish a write about a question and answer with that question as it is now: as the
        moderators are told it (read once for both), or read afresh if their view of it is unchanged.

        The other moderators hear who did it; the answer names the step an undo would take back."""
        assert write.question is not None
        talk_id, question_id = talk.id, write.question.id
        action = write.step.action if write.step else None
        box = publish.outbox(db.session, talk, write, self.now())
        answer = {"question": box.shown.get((self.view.name, question_id)) or self.fresh(question_id),
                  "step": steps.describe(db.session, talk, user, write.step), **extra}
        publish.commit(box)
        log.info("moderator action", extra={"talk": talk_id, "action": action, "question": question_id})
        return answer

    def _transition(self, conn: dict[str, Any], event: events.QuestionAction | events.Reject,
                    action: str) -> dict[str, Any]:
        user, talk = self.moderating(conn)
        write = question_service.transition(db.session, talk, user, action, event.question_id,
                                            event.version, self.now(), reason=getattr(event, "reason", None))
        return self._publish_question(talk, user, write)

    @acknowledged(events.Edit)
    def on_edit(self, conn: dict[str, Any], event: events.Edit) -> dict[str, Any]:
        user, talk = self.moderating(conn)
        write = question_service.edit(db.session, talk, user, event.question_id, event.text, event.version)
        return self._publish_question(talk, user, write)

    @acknowledged(events.Merge)
    def on_merge(self, conn: dict[str, Any], event: events.Merge) -> dict[str, Any]:
        user, talk = self.moderating(conn)
        write = question_service.merge(db.session, talk, user, event.question_id, event.into_id, event.version)
        return self._publish_question(talk, user, write)

    @acknowledged(events.PodiumOrder)
    def on_podium_order(self, conn: dict[str, Any], event: events.PodiumOrder) -> dict[str, Any]:
        """The order on the podium; its first question is on screen now ("Jetzt zeigen")."""
        user, talk = self.moderating(conn)
        write = question_service.order_podium(db.session, talk, user, event.order)
        return self._publish_question(talk, user, write)

    @acknowledged(events.DismissSimilar)
    def on_dismiss_similar(self, conn: dict[str, Any], event: events.DismissSimilar) -> dict[str, Any]:
        """A wrong suggestion, dismissed for good: the pair is never suggested again."""
        user, talk = self.moderating(conn)
        write = similar.dismiss(db.session, talk, user, event.question_id, event.other_id)
        return self._publish_question(talk, user, write)

    @acknowledged(events.Undo)
    def on_undo(self, conn: dict[str, Any], event: events.Undo) -> dict[str, Any]:
        user, talk = self.moderating(conn)
        write = steps.undo(db.session, talk, user, self.now(), step=event.step, confirmed=event.confirm)
        return self._publish_question(talk, user, write, undone=write.undone)

    @acknowledged(events.Empty)
    def on_undo_step(self, conn: dict[str, Any], event: events.Empty) -> dict[str, Any]:
        """The step the next undo would take back (for the undo button's name)."""
        user, talk = self.moderating(conn)
        step = steps.describe(db.session, talk, user)
        db.session.rollback()
        return {"step": step}

    @acknowledged(events.Upvote)
    def on_upvote(self, conn: dict[str, Any], event: events.Upvote) -> dict[str, Any]:
        user, talk = self.moderating(conn)
        write = question_service.set_upvote(db.session, talk, user, event.question_id, event.value)
        owner = write.counted[0]
        counts = question_service.counts(db.session, talk, [owner])
        return self.publish(talk, write, {"question_id": owner, **counts.get(owner, {"upvotes": 0, "votes": 0})})

    @acknowledged(events.TalkState)
    def on_talk_state(self, conn: dict[str, Any], event: events.TalkState) -> dict[str, Any]:
        user, talk = self.moderating(conn)
        now = self.now()
        write = windows.set_state(db.session, talk, user, event.state, event.until, now)
        answer = {"talk": payloads.talk(talk, now)}
        self.publish(talk, write, answer)
        log.info("talk state", extra={"talk": conn["talk_id"], "state": answer["talk"]["open"]})
        return answer

    @acknowledged(events.Editing)
    def on_editing(self, conn: dict[str, Any], event: events.Editing) -> dict[str, Any]:
        """Presence: tell the other moderators who is editing which question right now."""
        self.moderating(conn)
        previous = conn.get("editing")
        conn["editing"] = event.question_id
        room = MODERATOR.room(conn["talk_id"])
        if previous is not None and previous != event.question_id:
            emit("editing", {"question_id": previous, "user": None}, to=room, skip_sid=self.sid())
        if event.question_id is not None:
            emit("editing", {"question_id": event.question_id, "user": conn["username"]}, to=room,
                 skip_sid=self.sid())
        return {}

    # --- curation: labels, notes, written answers, blocking, the line to the podium -----------

    def _curator(self, conn: dict[str, Any]) -> tuple[User, Talk]:
        """The account and talk of a curation event, counted against the account's limit."""
        user, talk = self.moderating(conn)
        self.limit("CURATE", account=str(user.id))
        return user, talk

    @acknowledged(events.Labels)
    def on_labels(self, conn: dict[str, Any], event: events.Labels) -> dict[str, Any]:
        user, talk = self._curator(conn)
        write = curation.set_labels(db.session, talk, user, event.question_id, event.labels)
        return self._publish_question(talk, user, write)

    @acknowledged(events.Note)
    def on_note(self, conn: dict[str, Any], event: events.Note) -> dict[str, Any]:
        user, talk = self._curator(conn)
        write = curation.set_note(db.session, talk, user, event.question_id, event.text)
        return self._publish_question(talk, user, write)

    @acknowledged(events.Shortlist)
    def on_shortlist(self, conn: dict[str, Any], event: events.Shortlist) -> dict[str, Any]:
        user, talk = self._curator(conn)
        write = curation.set_shortlisted(db.session, talk, user, event.question_id, event.on)
        return self._publish_question(talk, user, write)

    @acknowledged(events.Answer)
    def on_answer(self, conn: dict[str, Any], event: events.Answer) -> dict[str, Any]:
        user, talk = self._curator(conn)
        write = curation.set_answer(db.session, talk, user, event.question_id, event.text, event.publish)
        return self._publish_question(talk, user, write)

    @acknowledged(events.Person)
    def on_block(self, conn: dict[str, Any], event: events.Person) -> dict[str, Any]:
        user, talk = self._curator(conn)
        write = curation.block(db.session, talk, user, event.question_id)
        self._hold_place(talk, write, blocked=True)
        return self._publish_question(talk, user, write)

    @acknowledged(events.Person)
    def on_unblock(self, conn: dict[str, Any], event: events.Person) -> dict[str, Any]:
        user, talk = self._curator(conn)
        write = curation.unblock(db.session, talk, user, event.question_id)
        self._hold_place(talk, write, blocked=False)
        return self._publish_question(talk, user, write)

    @staticmethod
    def _hold_place(talk: Talk, write: Write, blocked: bool) -> None:
        """New identities from where the blocked person was seen go to moderation (ratelimit.py)."""
        if write.changed and write.question is not None and write.question.client_hash:
            current_app.extensions["rate_limits"].block_place(talk.id, write.question.client_hash, blocked)

    @acknowledged(events.Backstage)
    def on_backstage(self, conn: dict[str, Any], event: events.Backstage) -> dict[str, Any]:
        user, talk = self._curator(conn)
        write = curation.set_backstage(db.session, talk, user, event.text)
        return self.publish(talk, write, {"backstage": payloads.backstage(talk)})


# A transition's payload, where it carries more than the question (and its version).
MOVE_PAYLOADS: dict[str, type[events.QuestionAction | events.Reject]] = {"reject": events.Reject}


def _move(action: str) -> Any:
    """The event handler of one status transition of the action registry (`approve`, `recall`, …)."""
    def handler(self: ModeratorNamespace, conn: dict[str, Any],
                event: events.QuestionAction | events.Reject) -> dict[str, Any]:
        return self._transition(conn, event, action)
    handler.__name__ = f"on_{action}"
    return acknowledged(MOVE_PAYLOADS.get(action, events.QuestionAction))(handler)


for _action in actions.TRANSITIONS:  # a new transition in the registry is a new event here
    setattr(ModeratorNamespace, f"on_{_action}", _move(_action))
