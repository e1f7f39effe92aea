"""What screens receive: questions and talks as plain dicts, shaped per view."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import Question, Talk
from ..services.windows import closes_at, is_open
from .views import View

Counts = dict[int, dict[str, int]]


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def question(q: Question, counts: Counts, view: View, children: list[Question] | None = None) -> dict[str, Any]:
    c = counts.get(q.id, {})
    data: dict[str, Any] = {
        "id": q.id, "text": q.text, "name": q.name, "status": q.status,
        "upvotes": c.get("upvotes", 0), "votes": c.get("votes", 0),
        "created_at": iso(q.created_at), "version": q.version,
        "forwarded_at": iso(q.forwarded_at),
    }
    if view.staff_fields:
        data.update(
            original_text=q.original_text, flagged=q.flagged, merged_into=q.merged_into_id,
            merged=[{"id": ch.id, "text": ch.text, "name": ch.name} for ch in children or []])
    return data


def talk(t: Talk, now: datetime) -> dict[str, Any]:
    return {
        "slug": t.slug, "title": t.title, "starts_at": iso(t.starts_at), "ends_at": iso(t.ends_at),
        "open": is_open(t, now), "closes_at": iso(closes_at(t, now)),
        "manual_state": t.manual_state, "audience_votes": t.audience_votes,
    }
