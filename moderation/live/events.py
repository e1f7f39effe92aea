"""Event payloads, parsed at the edge into typed values: services get ints and strings.

A field of the wrong type (a string id, a bool for a number, a list for a text) is refused as
`invalid` with the field's name, before any service runs. Texts lose the code points XML
forbids (U+FFFF, lone surrogates, C0 controls) here, whatever the service does with them.
"""
from __future__ import annotations

import types
from dataclasses import MISSING, dataclass, fields
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from ..services.errors import DomainError
from ..services.text import printable

T = TypeVar("T")
MAX_ITEMS = 50  # a list field longer than this is refused before any service runs


@dataclass(frozen=True)
class Empty:
    """`resync {}`, `undo {}`: nothing to read."""


@dataclass(frozen=True)
class Submission:
    client_msg_id: str
    text: str
    name: str | None = None
    name_in_record: bool | None = False  # "Meinen Namen in der Dokumentation nennen"; null: no


@dataclass(frozen=True)
class AudienceVote:
    question_id: int
    value: int


@dataclass(frozen=True)
class Report:
    """"Melden": one of services/actions.REPORT_REASONS."""
    question_id: int
    reason: str


@dataclass(frozen=True)
class Reject:
    """`reason`: one of services/actions.REJECT_REASONS, or none."""
    question_id: int
    version: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class QuestionAction:
    """approve, reject, forward, answered: `version` guards against acting on a stale card."""
    question_id: int
    version: int | None = None


@dataclass(frozen=True)
class Upvote:
    question_id: int
    value: int = 1


@dataclass(frozen=True)
class Edit:
    question_id: int
    version: int
    text: str


@dataclass(frozen=True)
class Merge:
    question_id: int
    into_id: int
    version: int | None = None


@dataclass(frozen=True)
class Undo:
    """`step`: the id of the step the moderator was shown; `confirm`: yes, also an older one."""
    step: int | None = None
    confirm: bool = False


@dataclass(frozen=True)
class DismissSimilar:
    question_id: int
    other_id: int


@dataclass(frozen=True)
class TalkState:
    state: str
    until: str | None = None


@dataclass(frozen=True)
class Editing:
    question_id: int | None = None


@dataclass(frozen=True)
class Labels:
    """The question's labels, all of them: names the talk does not have yet are created."""
    question_id: int
    labels: list[str]


@dataclass(frozen=True)
class Note:
    """Moderators' private note; "" clears it."""
    question_id: int
    text: str


@dataclass(frozen=True)
class Shortlist:
    """"Vormerken" (true) or "Vorgemerkt" pressed again (false)."""
    question_id: int
    on: bool


@dataclass(frozen=True)
class Backstage:
    """The line to the podium; "" clears it."""
    text: str


@dataclass(frozen=True)
class Answer:
    """A written answer; "" withdraws it, `publish` shows it to the whole audience."""
    question_id: int
    text: str
    publish: bool = False


@dataclass(frozen=True)
class PodiumOrder:
    """The forwarded questions in the order the podium shows them, the current one first."""
    order: list[int]


@dataclass(frozen=True)
class Person:
    """block / unblock: the person behind this question."""
    question_id: int


def _is(kind: Any, value: object) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if get_origin(kind) is list:
        (item,) = get_args(kind)
        return isinstance(value, list) and len(value) <= MAX_ITEMS and all(_is(item, v) for v in value)
    return isinstance(value, kind)


@cache
def _schema(cls: Any) -> list[tuple[str, Any, bool, Any]]:
    """(name, type, may be None, default) per field."""
    hints = get_type_hints(cls)
    schema = []
    for f in fields(cls):
        hint = hints[f.name]
        optional = get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint)
        kind = next(a for a in get_args(hint) if a is not type(None)) if optional else hint
        schema.append((f.name, kind, optional, f.default))
    return schema


def _printable(value: Any) -> Any:
    """Texts (and lists of texts) without the code points XML forbids (services.text.printable)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value


def parse(cls: type[T], data: dict[str, Any]) -> T:
    values: dict[str, Any] = {}
    for name, kind, optional, default in _schema(cls):  # type: ignore[arg-type]
        value = data.get(name, None if default is MISSING else default)
        if value is None and optional:
            values[name] = None
        elif _is(kind, value):
            values[name] = _printable(value)
        else:
            raise DomainError("invalid", {"field": name})
    return cls(**values)
