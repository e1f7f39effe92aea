"""The moderator's desk as data for the page: which action a card offers in which status, its
button, its key and its words, the statuses and the limits of what moderators write — all read
from the services (the action registry, services/actions.py) instead of repeated in the
browser scripts. A new action on a card is an entry with a `button` in the registry."""
from __future__ import annotations

from typing import Any

from .. import messages
from ..models import OPEN_STATUSES, PUBLIC_STATUSES
from ..services import actions, curation, reports, text
from ..services.questions import QUEUE
from ..services.steps import CONFIRM_AFTER


def card_actions() -> list[dict[str, Any]]:
    """The buttons a card may offer, in order, with where each is offered."""
    return [{"name": a.code, "kind": "transition" if a.moves else a.code,
             "label": messages.action_word(a.code, "button"), "key": a.key,
             "statuses": list(actions.offered(a)), "to": a.moves[1] if a.moves else None,
             "secondary": a.secondary} for a in actions.DESK]


def primary_actions() -> dict[str, str]:
    """Per tab, the card's next step (its first transition that is not secondary): a card shows
    it first and marked, so the first button always means "the next step" whichever tab is open."""
    primary: dict[str, str] = {}
    for status in QUEUE:
        for a in actions.DESK:
            if a.moves and not a.secondary and status in actions.offered(a):
                primary[status] = a.code
                break
    return primary


def config(username: str) -> dict[str, Any]:
    """The JSON block moderate.html hands to moderator.js and curation.js."""
    return {
        "user": username, "tabs": list(QUEUE), "statusNames": messages.status_words(),
        "transitions": {name: {"from": list(allowed), "to": to} for name, (allowed, to) in actions.TRANSITIONS.items()},
        "actions": card_actions(), "primary": primary_actions(), "steps": messages.step_templates(),
        "undoConfirmAfter": int(CONFIRM_AFTER.total_seconds()),
        "open": list(OPEN_STATUSES), "public": list(PUBLIC_STATUSES), "answerable": list(curation.ANSWERABLE),
        "limits": {"question": text.MAX_QUESTION, "note": curation.MAX_NOTE, "answer": curation.MAX_ANSWER,
                   "backstage": curation.MAX_BACKSTAGE, "label": curation.MAX_LABEL},
        # A reject offers the reasons (in this order, keys 1…6); reports are counted per reason and
        # a question reported by `reportsFlagAt` people is marked.
        "rejectReasons": [{"code": code, "label": label} for code, label in messages.reason_words().items()],
        "reportReasons": messages.reason_words("report"), "reportsFlagAt": reports.FLAG_AT,
    }
