"""The one result every write returns, for the edge to publish after commit."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..models import Question


@dataclass(frozen=True)
class Changed:
    """A question the write changed, with its status before (None: it is new)."""

    question: Question
    old_status: str | None


@dataclass
class Write:
    """What one request did.

    `question` is what the request was about (the acknowledgement's question); `changed` lists
    every question whose state screens must learn, published as one change (empty: nothing
    changed, a repeat or a resend); `counted` lists questions whose vote counts changed (those
    travel in coalesced batches, not as a change).
    """

    question: Question | None = None
    changed: list[Changed] = field(default_factory=list)
    created: bool = False
    talk_changed: bool = False
    counted: list[int] = field(default_factory=list)
    # Only these staff fields changed (labels, a note, suggestions): only views that carry one of
    # them hear of it. None: anything may have changed.
    fields: frozenset[str] | None = None
    # An undo: the step it took back, named as the moderator was shown it (steps.summary).
    undone: dict[str, Any] | None = None


def unchanged(question: Question) -> Write:
    return Write(question)


def changed(question: Question, *changes: Changed, created: bool = False,
            fields: frozenset[str] | None = None) -> Write:
    return Write(question, list(changes), created=created, fields=fields)
