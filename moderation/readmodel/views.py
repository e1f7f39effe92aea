"""Who sees what: the one table that snapshots, change broadcasts and vote batches iterate over."""
from __future__ import annotations

from dataclasses import dataclass

from ..models import PODIUM_STATUSES, PUBLIC_STATUSES, STATUSES

# Question fields only staff may read: the moderators' working material, never an audience's or
# the podium's. `blocked` says that the author may no longer take part, never who they are;
# `reports` how many people reported it per reason, never who. `reason` (why it was rejected)
# and `merged_into` reach the question's own author too (`View.own_fields`). `source` is the
# channel (web, email, import, api:<label>), `source_label` an import's "Quelle".
STAFF_FIELDS = frozenset({"original_text", "flagged", "merged_into", "merged", "similar",
                          "labels", "note", "answer_published", "blocked", "reports", "reason",
                          "source", "source_label"})


@dataclass(frozen=True)
class View:
    """One kind of screen: its Socket.IO namespace and room, and what its payloads may carry."""

    name: str
    namespace: str
    room_name: str
    statuses: frozenset[str]  # questions in these statuses are shown
    staff_fields: frozenset[str]  # which of STAFF_FIELDS its question payloads carry
    own_questions: bool  # a client also sees its own questions, whatever their status
    seq_field: str  # the Talk column that counts the changes this view is told of
    answers: str = "none"  # written answers: "all", "published" (and the author's own), "none"
    backstage_room: str | None = None  # where the line to the podium (`backstage {text, by}`) goes
    vote_batches: int = 1  # vote counts go out with every n-th batch (readmodel/votes.py)
    # Of STAFF_FIELDS, those a client sees on its own questions only: why its question was not
    # accepted (`reason`), where it was merged to (`merged_into`).
    own_fields: frozenset[str] = frozenset()

    def room(self, talk_id: int) -> str:
        return f"talk:{talk_id}:{self.room_name}"

    @property
    def backstage(self) -> bool:
        return self.backstage_room is not None

    def backstage_in(self, talk_id: int) -> str:
        """The room of the screens that show the line: a podium screen, not the stream's overlay."""
        return f"talk:{talk_id}:{self.backstage_room}"

    def sees(self, status: str | None) -> bool:
        return status in self.statuses

    @property
    def sees_all(self) -> bool:
        return self.statuses == frozenset(STATUSES)

    def shows_answer(self, published: bool, own: bool = False) -> bool:
        return self.answers == "all" or (self.answers == "published" and (published or own))


MODERATOR = View("moderator", "/moderator", "moderators", frozenset(STATUSES),
                 staff_fields=STAFF_FIELDS, own_questions=False, seq_field="seq", answers="all",
                 backstage_room="moderators")
AUDIENCE = View("audience", "/audience", "audience", frozenset(PUBLIC_STATUSES),
                staff_fields=frozenset(), own_questions=True, seq_field="audience_seq", answers="published",
                vote_batches=4, own_fields=frozenset({"reason", "merged_into"}))
PODIUM = View("podium", "/podium", "podium", frozenset(PODIUM_STATUSES),
              staff_fields=frozenset(), own_questions=False, seq_field="podium_seq", backstage_room="backstage",
              vote_batches=4)
VIEWS = (MODERATOR, AUDIENCE, PODIUM)
