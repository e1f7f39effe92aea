"""What screens receive: questions and talks as plain dicts, shaped per view."""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from ..models import Question, Talk
from ..services.windows import accepts_questions, closes_at, is_open
from .views import View

Counts = dict[int, dict[str, int]]


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def question(q: Question, counts: Counts, view: View, children: list[Question] | None = None, *,
             blocked: Collection[str] = (), own: bool = False, reports: Counts | None = None) -> dict[str, Any]:
    """One question as `view` sees it; `own`: for its author; `blocked`: the talk's blocked
    clients; `reports`: the reports per question and reason (services/reports.py)."""
    c = counts.get(q.id, {})
    data: dict[str, Any] = {
        "id": q.id, "text": q.text, "name": q.name, "status": q.status,
        "upvotes": c.get("upvotes", 0), "votes": c.get("votes", 0),
        "created_at": iso(q.created_at), "version": q.version,
        "forwarded_at": iso(q.forwarded_at),
    }
    if view.answers == "all" or (q.answer and view.shows_answer(q.answer_published, own)):
        data["answer"] = q.answer
    if view.staff_fields:
        staff = {
            "original_text": q.original_text, "flagged": q.flagged, "merged_into": q.merged_into_id,
            "merged": [{"id": ch.id, "text": ch.text, "name": ch.name, "source": ch.source,
                        "source_label": ch.source_label} for ch in children or []],
            "labels": [label.name for label in q.labels], "note": q.note,
            "answer_published": q.answer_published, "blocked": q.client_hash in blocked,
            "reports": (reports or {}).get(q.id, {}), "reason": _reason(q),
            "source": q.source, "source_label": q.source_label}
        data.update((k, v) for k, v in staff.items() if k in view.staff_fields)
    if own:  # its author: why it was not accepted, where it went (only when there is something to say)
        mine = {"reason": _reason(q), "merged_into": q.merged_into_id}
        data.update((k, v) for k, v in mine.items() if k in view.own_fields and v is not None)
    return data


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
        "manual_state": t.manual_state, "audience_votes": t.audience_votes,
        "accepting": accepts_questions(t, now),
        "podium_shows_next": t.podium_shows_next,
        "rehearsal": t.rehearsal_since is not None,
    }
