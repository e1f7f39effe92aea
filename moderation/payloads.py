"""What screens receive: questions and talks as plain dicts, shaped per audience."""
from __future__ import annotations

from datetime import datetime

from .models import Question, Talk
from .services.windows import closes_at, is_open


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def question(q: Question, counts: dict[int, dict[str, int]], view: str,
             children: list[Question] | None = None) -> dict:
    c = counts.get(q.id, {})
    data = {
        "id": q.id, "text": q.text, "name": q.name, "status": q.status,
        "upvotes": c.get("upvotes", 0), "votes": c.get("votes", 0),
        "created_at": iso(q.created_at), "version": q.version,
        "forwarded_at": iso(q.forwarded_at),
    }
    if view == "moderator":
        data.update(
            original_text=q.original_text, flagged=q.flagged, merged_into=q.merged_into_id,
            merged=[{"id": ch.id, "text": ch.text, "name": ch.name} for ch in children or []])
    return data


def talk(t: Talk, now: datetime) -> dict:
    return {
        "slug": t.slug, "title": t.title, "starts_at": iso(t.starts_at), "ends_at": iso(t.ends_at),
        "open": is_open(t, now), "closes_at": iso(closes_at(t, now)),
        "manual_state": t.manual_state, "audience_votes": t.audience_votes,
        "podium_shows_next": t.podium_shows_next,
    }
