"""The one result every write returns: a typed record of the changes it made, for the edge to
publish after commit (readmodel/publish.py). Each view decides from it what it hears of
(readmodel/views.py): a screen whose payload a change leaves as it was hears nothing of it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..models import AuditEntry, Question

Answer = tuple[str | None, bool]  # a written answer and whether it is published


@dataclass(frozen=True)
class Changed:
    """A question the write changed.

    `old_status`: its status before (None: the question is new). `fields`: which question payload
    fields changed (readmodel/payloads.py; the status is told by `old_status`); None: it is new, or
    anything may have changed. `old_answer`: its answer before, when `answer` is among the fields
    (a public view shows an answer only once it is published)."""

    question: Question
    old_status: str | None
    fields: frozenset[str] | None = None
    old_answer: Answer | None = None

    @property
    def new(self) -> bool:
        return self.old_status is None

    @property
    def status_changed(self) -> bool:
        return self.old_status != self.question.status


# Why open screens lose access (the page says it in words: messages.session_ended).
WHY = ("logged_out", "password", "deactivated", "role", "removed", "podium_link")


@dataclass(frozen=True)
class Sessions:
    """Open screens whose access may have ended: every moderator socket of one account
    (`account`, a user id), or the podium screens and overlays of one talk (`podium`, a talk id).
    Each is checked again; those that may stay, stay (readmodel/access.py)."""

    kind: Literal["account", "podium"]
    id: int


@dataclass
class Write:
    """What one request did.

    `question` is what the request was about (the acknowledgement's question). The changes:
    `changed` lists the questions it changed (published as one change; empty: nothing changed, a
    repeat or a resend), `talk_changed` the talk's payload, `backstage` the line to the podium,
    `counted` the questions whose vote counts changed (those travel in coalesced batches, not as a
    change), `ended` the screens whose access it may have ended, and why (a moderator removed from
    the talk, a renewed podium link). `step` is the audit entry of the moderator's action
    (moderators hear who did what); an undo's `undone` is the step it took back, named as the
    moderator was shown it."""

    question: Question | None = None
    changed: list[Changed] = field(default_factory=list)
    talk_changed: bool = False
    backstage: bool = False
    counted: list[int] = field(default_factory=list)
    ended: list[tuple[Sessions, str]] = field(default_factory=list)
    step: AuditEntry | None = None
    undone: dict[str, Any] | None = None

    @property
    def created(self) -> bool:
        """A new question was stored (not a resend)."""
        return any(change.new for change in self.changed)


def unchanged(question: Question) -> Write:
    return Write(question)


def changed(question: Question, *changes: Changed, step: AuditEntry | None = None) -> Write:
    return Write(question, list(changes), step=step)
