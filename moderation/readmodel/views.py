"""Who sees what: the one table that snapshots, change broadcasts and vote batches iterate over."""
from __future__ import annotations

from dataclasses import dataclass

from ..models import PODIUM_STATUSES, PUBLIC_STATUSES, STATUSES


@dataclass(frozen=True)
class View:
    """One kind of screen: its Socket.IO namespace and room, and what its payloads may carry."""

    name: str
    namespace: str
    room_name: str
    statuses: frozenset[str]  # questions in these statuses are shown
    staff_fields: bool  # original text, flags, merged duplicates, similar questions
    own_questions: bool  # a client also sees its own questions, whatever their status
    seq_field: str  # the Talk column that counts the changes this view is told of

    def room(self, talk_id: int) -> str:
        return f"talk:{talk_id}:{self.room_name}"

    def sees(self, status: str | None) -> bool:
        return status in self.statuses

    @property
    def sees_all(self) -> bool:
        return self.statuses == frozenset(STATUSES)


MODERATOR = View("moderator", "/moderator", "moderators", frozenset(STATUSES),
                 staff_fields=True, own_questions=False, seq_field="seq")
AUDIENCE = View("audience", "/audience", "audience", frozenset(PUBLIC_STATUSES),
                staff_fields=False, own_questions=True, seq_field="audience_seq")
PODIUM = View("podium", "/podium", "podium", frozenset(PODIUM_STATUSES),
              staff_fields=False, own_questions=False, seq_field="podium_seq")
VIEWS = (MODERATOR, AUDIENCE, PODIUM)
