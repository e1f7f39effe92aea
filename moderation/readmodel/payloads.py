"""What screens receive: questions and talks as plain dicts, shaped per view.

One loader (`load`) reads what question payloads need besides the question rows — vote counts,
merged questions, stored suggestions, blocked people, a client's votes — and only what the fields
asked for need; one presenter (`question`) builds a question's payload for a view from it.
Snapshots, change broadcasts and acknowledgements all go through these two."""
from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..models import OPEN_STATUSES, Question, Talk
from ..services import DbSession, blocks, reports, similar
from ..services import questions as question_service
from ..services.windows import accepts_questions, closes_at, is_open
from .views import View

Counts = dict[int, dict[str, int]]


@dataclass
class Context:
    """What payloads read besides the questions themselves (empty: a question just asked, which has
    no votes, merged questions or suggestions yet, and whose author is not blocked)."""

    counts: Counts = field(default_factory=dict)
    children: dict[int, list[Question]] = field(default_factory=dict)
    suggested: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    open_ids: set[int] = field(default_factory=set)
    blocked: frozenset[str] = frozenset()
    client: str | None = None  # an audience client: payloads say `mine`, `voted` and `reported`
    voted: set[int] = field(default_factory=set)
    reported: set[int] = field(default_factory=set)
    reports: Counts = field(default_factory=dict)  # per question, the reports per reason


def load(session: DbSession, talk: Talk, fields: Collection[str], questions: Collection[Question], *,
         whole: bool = False, client: str | None = None, pause: Callable[[], None] | None = None) -> Context:
    """Read what payloads with these fields need for these questions. `whole`: they are every
    question of the talk (a moderator's snapshot): read per talk, not per id."""
    ctx = Context(client=client)
    if client is not None:
        ctx.voted = question_service.voted_by(session, talk, client)
        ctx.reported = reports.reported_by(session, talk, client)
    if not questions:
        return ctx
    ids = None if whole else [q.id for q in questions]
    ctx.counts = question_service.counts(session, talk, ids)
    if "merged" in fields:
        ctx.children = question_service.merged_children(session, talk, ids)
    if "similar" in fields:
        ctx.suggested = similar.stored(session, talk.id, ids, pause=pause)
        if whole:
            ctx.open_ids = {q.id for q in questions if q.status in OPEN_STATUSES}
        else:
            pointed = {item["id"] for items in ctx.suggested.values() for item in items}
            ctx.open_ids = similar.open_among(session, talk.id, pointed)
    if "blocked" in fields:
        ctx.blocked = blocks.blocked_clients(session, talk)
    if "reports" in fields:
        ctx.reports = reports.counts(session, talk, ids)
    return ctx


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def question(q: Question, view: View, ctx: Context, *, own: bool = False) -> dict[str, Any]:
    """One question as `view` sees it; `own`: as its author sees it (an unpublished answer too, and
    the view's `own_fields`)."""
    c = ctx.counts.get(q.id, {})
    data: dict[str, Any] = {
        "id": q.id, "text": q.text, "name": q.name, "status": q.status,
        "upvotes": c.get("upvotes", 0), "votes": c.get("votes", 0),
        "created_at": iso(q.created_at), "version": q.version,
        "forwarded_at": iso(q.forwarded_at),
    }
    if "answer" in view.fields:
        shown, _published = view.shown_answer((q.answer, q.answer_published or own))
        if view.answers == "all" or shown:
            data["answer"] = shown
    staff = view.staff_fields
    if staff:
        values = _staff(q, ctx)
        data.update((name, value()) for name, value in values.items() if name in staff)
        if "similar" in staff:
            data.update(similar.payload(q, ctx.suggested.get(q.id, []), ctx.open_ids))
    if own or view.answers == "own":  # its author: only when there is something to say
        mine = {"reason": _reason(q), "merged_into": q.merged_into_id}
        data.update((k, v) for k, v in mine.items() if k in view.own_fields and v is not None)
    if ctx.client is not None and view.own_questions:
        data["mine"] = q.client_hash == ctx.client
        data["voted"] = q.id in ctx.voted
        data["reported"] = q.id in ctx.reported
    return data


def _staff(q: Question, ctx: Context) -> dict[str, Callable[[], Any]]:
    """How each staff field is read (only those a view carries are)."""
    return {
        "original_text": lambda: q.original_text, "flagged": lambda: q.flagged,
        "merged_into": lambda: q.merged_into_id,
        "merged": lambda: [{"id": ch.id, "text": ch.text, "name": ch.name, "source": ch.source,
                            "source_label": ch.source_label} for ch in ctx.children.get(q.id, [])],
        "labels": lambda: [label.name for label in q.labels], "note": lambda: q.note,
        "shortlisted": lambda: q.shortlisted,
        "answer_published": lambda: q.answer_published, "blocked": lambda: q.client_hash in ctx.blocked,
        "reports": lambda: ctx.reports.get(q.id, {}), "reason": lambda: _reason(q),
        "source": lambda: q.source, "source_label": lambda: q.source_label,
    }


def _reason(q: Question) -> str | None:
    """Why a rejected question was rejected (None: no reason given, or it is not rejected)."""
    return q.reject_reason if q.status == "rejected" else None


def backstage(t: Talk) -> dict[str, Any]:
    """The line to the podium as screens receive it: `{text, by}`; text null when none is showing."""
    return {"text": t.backstage_text, "by": t.backstage_by if t.backstage_text else None}


def talk(t: Talk, now: datetime) -> dict[str, Any]:
    return {
        "slug": t.slug, "title": t.title, "starts_at": iso(t.starts_at), "ends_at": iso(t.ends_at),
        "open": is_open(t, now), "closes_at": iso(closes_at(t, now)),
        "manual_state": t.manual_state, "audience_votes": t.audience_votes, "premoderation": t.premoderation,
        "accepting": accepts_questions(t, now),
        "podium_shows_next": t.podium_shows_next,
        "rehearsal": t.rehearsal_since is not None,
    }
