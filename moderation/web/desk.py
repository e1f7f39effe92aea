"""The moderator's desk as data for the page: which action a card offers in which status, its
button, its key and its words, derived from the services' state machine instead of repeated
in the browser script.

A new transition (say `recall`) needs a button label here (and a key, if it gets one) and its
words in messages.done_words(); its statuses come from services.questions.TRANSITIONS.
"""
from __future__ import annotations

from flask_babel import gettext as _

from ..messages import desk_status_words, done_words
from ..models import OPEN_STATUSES
from ..services.questions import QUEUE, TRANSITIONS
from ..services.steps import CONFIRM_AFTER

# Actions that are not status transitions, and the statuses in which a card offers them.
OTHER_ACTIONS: dict[str, tuple[str, ...]] = {
    "upvote": ("pending", "approved"),
    "edit": OPEN_STATUSES,
    "merge": ("pending", "approved"),
}
# Button order on a card; transitions not named here follow the named ones.
ORDER = ("upvote", "approve", "forward", "answered", "recall", "reject", "edit", "merge")
KEYS = {"approve": "a", "reject": "r", "forward": "f", "answered": "b", "edit": "e", "merge": "m"}
SECONDARY = ("reject",)


def button_words() -> dict[str, str]:
    return {
        "upvote": _("Hochstufen"), "approve": _("Freigeben"), "reject": _("Ablehnen"),
        "forward": _("Ans Podium"), "answered": _("Beantwortet"), "edit": _("Bearbeiten"),
        "merge": _("Zusammenführen"), "recall": _("Vom Podium nehmen"),
    }


def actions() -> list[dict]:
    names = list(ORDER) + [a for a in TRANSITIONS if a not in ORDER]
    labels = button_words()
    result = []
    for name in names:
        if name in TRANSITIONS:
            allowed, to_status = TRANSITIONS[name]
            statuses, kind = [s for s in allowed if s != to_status], "transition"
        elif name in OTHER_ACTIONS:
            statuses, kind, to_status = list(OTHER_ACTIONS[name]), name, None
        else:
            continue
        result.append({"name": name, "kind": kind, "label": labels.get(name, name), "key": KEYS.get(name),
                       "statuses": statuses, "to": to_status, "secondary": name in SECONDARY})
    return result


def config(username: str) -> dict:
    """The JSON block moderate.html hands to moderator.js."""
    return {
        "user": username, "tabs": list(QUEUE), "statusNames": desk_status_words(),
        "transitions": {name: {"from": list(allowed), "to": to} for name, (allowed, to) in TRANSITIONS.items()},
        "actions": actions(), "done": done_words(),
        "undoConfirmAfter": int(CONFIRM_AFTER.total_seconds()),
    }
