"""Who sees what: the one table that snapshots, change broadcasts and vote batches iterate over.

A view is one kind of screen. It declares which questions it shows (statuses), which fields its
question payloads carry, and which kinds of change it hears of at all; `hears` decides from a
write's typed change record (services/writes.py) whether a change alters what the view shows. A
view that would show the same as before hears nothing and counts nothing: blocking a person,
a note, labels, an unpublished answer or a new suggestion reach neither the audience nor the
podium."""
from __future__ import annotations

from dataclasses import dataclass

from ..models import PODIUM_STATUSES, PUBLIC_STATUSES, STATUSES, Question
from ..services.writes import Answer, Changed
from . import rooms

# Every screen's question payload (readmodel/payloads.py).
BASE_FIELDS = frozenset({"id", "text", "name", "status", "upvotes", "votes", "created_at", "version",
                         "forwarded_at"})
# Question fields only staff may read: the moderators' working material, never an audience's or
# the podium's. `blocked` says that the author may no longer take part, never who they are;
# `reports` how many people reported it per reason, never who. `reason` (why it was rejected)
# and `merged_into` reach the question's own author too (OWN_FIELDS). `source` is the channel
# (web, email, import, api:<label>), `source_label` an import's "Quelle". `shortlisted` is the
# moderators' shared "Vormerken".
STAFF_FIELDS = frozenset({"original_text", "flagged", "merged_into", "merged", "similar",
                          "labels", "note", "shortlisted", "answer_published", "blocked", "reports", "reason",
                          "source", "source_label"})
# Of STAFF_FIELDS, those a client sees on its own questions: why its question was not accepted,
# where it was merged to (only when there is something to say).
OWN_FIELDS = frozenset({"reason", "merged_into"})
# The kinds of change besides questions (services/writes.Write), and the talk's topic map
# ("Themen", drawn by workers/similar.py; no seq: a page asks for the current map with `topics`).
KINDS = frozenset({"question", "talk", "backstage", "votes", "topics"})


@dataclass(frozen=True)
class View:
    """One kind of screen: its Socket.IO namespace and room, what its payloads carry, what it hears."""

    name: str
    namespace: str
    room_name: str  # "author": the room of the question's author (rooms.client)
    statuses: frozenset[str]  # questions in these statuses are shown
    fields: frozenset[str]  # the question payload's fields
    kinds: frozenset[str]  # which kinds of change it hears of (KINDS)
    seq_field: str  # the Talk column that counts the changes this view is told of
    answers: str = "none"  # written answers: "all", "published", "own" (the author's, always), "none"
    own_questions: bool = False  # a snapshot also shows the client's own questions, whatever their status
    own_fields: frozenset[str] = frozenset()  # fields its payloads of a client's own questions add
    advances: bool = True  # telling it takes its next number; else it is told under the current one
    within: str | None = None  # its sockets are in that view's room too: it hears only what differs
    vote_batches: int = 0  # vote counts go out with every n-th batch (workers/votes.py); 0: never
    hears_who: bool = False  # a question change tells `by` (who) and `action` (what) too

    def room(self, talk_id: int) -> str:
        return f"talk:{talk_id}:{self.room_name}"

    def room_of(self, talk_id: int, question: Question) -> str | None:
        """Where this view's message about `question` goes (None: nobody of this view sees it)."""
        if self.room_name == "author":
            return rooms.client(talk_id, question.client_hash) if question.client_hash else None
        return self.room(talk_id)

    @property
    def staff_fields(self) -> frozenset[str]:
        """The staff-only fields it carries on every question (not only on a client's own)."""
        return (self.fields & STAFF_FIELDS) - self.own_fields

    def sees(self, status: str | None) -> bool:
        return status in self.statuses

    @property
    def sees_all(self) -> bool:
        return self.statuses == frozenset(STATUSES)

    def shown_answer(self, answer: Answer) -> tuple[str | None, bool | None]:
        """What the payload shows of an answer: its text (and publication, where it is a field)."""
        text, published = answer
        visible = self.answers in ("all", "own") or (self.answers == "published" and published)
        return (text if visible else None), (published if "answer_published" in self.fields else None)

    def hears(self, change: Changed) -> bool:
        """Whether this view's payload of the question is different after the change: a question
        it shows now or showed before, whose shown status or fields changed."""
        if "question" not in self.kinds:
            return False
        was, now = self.sees(change.old_status), self.sees(change.question.status)
        if not (was or now):
            return False
        if change.new or change.fields is None or change.status_changed:
            return True
        shown = (change.fields & self.fields) - {"status", "answer", "answer_published"}
        if shown:
            return True
        if change.fields & {"answer", "answer_published"}:
            q = change.question
            return change.old_answer is None or \
                self.shown_answer(change.old_answer) != self.shown_answer((q.answer, q.answer_published))
        return False


MODERATOR = View("moderator", "/moderator", "moderators", frozenset(STATUSES),
                 fields=BASE_FIELDS | {"answer"} | STAFF_FIELDS, kinds=KINDS, seq_field="seq", answers="all",
                 vote_batches=1, hears_who=True)
AUDIENCE = View("audience", "/audience", "audience", frozenset(PUBLIC_STATUSES), fields=BASE_FIELDS | {"answer"},
                kinds=frozenset({"question", "talk", "votes"}), seq_field="audience_seq", answers="published",
                own_questions=True, own_fields=OWN_FIELDS, vote_batches=4)
# The author of a question, on the audience namespace: sees their own questions in any status,
# their answer before it is published, why it was rejected and where it was merged to; told under
# the audience's current number.
AUTHOR = View("author", "/audience", "author", frozenset(STATUSES), fields=BASE_FIELDS | {"answer"} | OWN_FIELDS,
              kinds=frozenset({"question"}), seq_field="audience_seq", answers="own", own_fields=OWN_FIELDS,
              advances=False, within="audience")
PODIUM = View("podium", "/podium", "podium", frozenset(PODIUM_STATUSES), fields=BASE_FIELDS,
              kinds=frozenset({"question", "talk", "backstage", "votes"}), seq_field="podium_seq", vote_batches=4)
# The stream's overlay (`/podium/<token>?overlay=1`): the podium's questions, never the line to it.
OVERLAY = View("overlay", "/podium", "overlay", frozenset(PODIUM_STATUSES), fields=BASE_FIELDS,
               kinds=frozenset({"question", "talk", "votes"}), seq_field="overlay_seq", vote_batches=4)
VIEWS = (MODERATOR, AUDIENCE, AUTHOR, PODIUM, OVERLAY)
BY_NAME = {view.name: view for view in VIEWS}
