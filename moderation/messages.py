"""German (and English) messages for the public error codes."""
from __future__ import annotations

import math

from flask_babel import gettext as _
from flask_babel import ngettext

from .services.errors import DomainError

TOO_LONG = {
    "note": lambda n: _("Die Notiz ist zu lang (höchstens %(max)s Zeichen).", max=n),
    "answer": lambda n: _("Die Antwort ist zu lang (höchstens %(max)s Zeichen).", max=n),
    "backstage": lambda n: _("Die Zeile ans Podium ist zu lang (höchstens %(max)s Zeichen).", max=n),
    "label": lambda n: _("Das Schlagwort ist zu lang (höchstens %(max)s Zeichen).", max=n),
    "channel": lambda n: _("Der Name des Kanals ist zu lang (höchstens %(max)s Zeichen).", max=n),
    "source": lambda n: _("Der Name des Kanals ist zu lang (höchstens %(max)s Zeichen).", max=n),
    "quelle": lambda n: _("Die Quelle ist zu lang (höchstens %(max)s Zeichen).", max=n),
    "import": lambda n: _("Zu viele Fragen auf einmal (höchstens %(max)s).", max=n),
}


def message(code: str, detail: dict | None = None) -> str:
    detail = detail or {}
    if code == "closed" and detail.get("what") == "votes":
        return _("Abstimmen ist bei diesem Vortrag ausgeschaltet.")
    if code == "closed":
        return _("Die Fragerunde ist gerade geschlossen. Fragen können nur während des Vortrags gestellt werden.")
    if code == "empty":
        return _("Bitte geben Sie eine Frage ein.")
    if code == "too_long":
        if detail.get("field") == "name":
            return _("Der Name ist zu lang (höchstens %(max)s Zeichen).", max=detail.get("max", 80))
        if detail.get("field") in TOO_LONG:
            return TOO_LONG[detail["field"]](detail.get("max", 500))
        return _("Die Frage ist zu lang (höchstens %(max)s Zeichen).", max=detail.get("max", 500))
    if code == "rate_limited":
        seconds = int(detail.get("retry_after", 60))
        if seconds >= 120:
            return _("Zu viele Versuche. Bitte versuchen Sie es in %(minutes)s Minuten erneut.",
                     minutes=math.ceil(seconds / 60))
        return ngettext("Zu viele Versuche. Bitte versuchen Sie es in %(num)s Sekunde erneut.",
                        "Zu viele Versuche. Bitte versuchen Sie es in %(num)s Sekunden erneut.", seconds)
    if code == "not_found":
        return _("Nicht gefunden.")
    if code == "forbidden":
        if detail.get("token"):
            return _("Dieser Zugang gilt nicht: falsch, widerrufen oder für einen anderen Vortrag.")
        if detail.get("blocked"):
            return _("Die Moderation hat Ihre Teilnahme an dieser Fragerunde beendet. Sie können hier leider "
                     "keine Fragen mehr stellen und nicht mehr abstimmen. Vielen Dank für Ihr Verständnis.")
        return _("Dafür fehlt die Berechtigung.")
    if code == "conflict" and "step" in detail:
        return undo_refused(detail)
    if code == "conflict":
        return _("Die Frage wurde inzwischen geändert. Bitte prüfen Sie die aktuelle Fassung.")
    if code == "confirm":
        return undo_question(detail)
    if code == "invalid" and detail.get("reason") == "staff":
        return _("Dieser Name ist dem Team der Veranstaltung vorbehalten (Moderation, Podium, "
                 "Referierende). Bitte wählen Sie einen anderen Namen oder lassen Sie das Feld leer.")
    if code == "internal":
        return _("Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es erneut.")
    return _("Ungültige Eingabe.")


def error(exc: DomainError) -> dict:
    answer = {"ok": False, "error": exc.code, "message": message(exc.code, exc.detail)}
    if isinstance(exc.detail.get("step"), dict):  # the undo step refused or to be confirmed
        answer["step"] = exc.detail["step"]
    return answer


def done_words() -> dict[str, str]:
    """A moderator's step in a few words, after the question's text: „Wie kommt…“ freigegeben."""
    return {
        "approve": _("freigegeben"), "reject": _("abgelehnt"), "forward": _("ans Podium gegeben"),
        "answered": _("als beantwortet markiert"), "edit": _("bearbeitet"), "merge": _("zusammengeführt"),
        "upvote": _("hochgestuft"), "undo": _("zurückgenommen"), "recall": _("vom Podium genommen"),
    }


def desk_status_words() -> dict[str, str]:
    """The moderators' names of the statuses (their tabs)."""
    return {
        "pending": _("Neu"), "approved": _("Freigegeben"), "forwarded": _("Am Podium"),
        "answered": _("Beantwortet"), "rejected": _("Abgelehnt"), "merged": _("Zusammengeführt"),
    }


def shorten(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def step_name(step: dict) -> str:
    """„Wie kommt der Bus…“ freigegeben"""
    done = done_words().get(step["action"], step["action"])
    return _("„%(text)s“ %(done)s", text=shorten(step["text"]), done=done)


def undo_refused(detail: dict) -> str:
    step = step_name(detail["step"])
    reason = detail.get("reason")
    if reason == "built_on":
        return _("%(step)s lässt sich nicht zurücknehmen: %(user)s hat danach darauf aufgebaut (%(their)s).",
                 step=step, user=detail.get("by") or "?",
                 their=done_words().get(detail.get("their", ""), detail.get("their", "")))
    if reason == "moved":
        return _("Ihr letzter Schritt ist inzwischen ein anderer: %(step)s. Bitte prüfen Sie ihn.", step=step)
    return _("%(step)s lässt sich nicht zurücknehmen: Die Frage wurde inzwischen geändert.", step=step)


def undo_question(detail: dict) -> str:
    """What an undo of an older step will change, for the moderator to confirm."""
    step = detail["step"]
    words = desk_status_words()
    if step["action"] == "edit":
        change = _("Der Text wird wieder „%(text)s“.", text=shorten(step["before"] or "", 80))
    elif step["action"] == "merge":
        change = _("Die Frage wird wieder eigenständig (%(status)s).", status=words.get(step["from_status"], ""))
    else:
        change = _("Die Frage kommt von „%(now)s“ zurück nach „%(then)s“.",
                   now=words.get(step["to_status"], ""), then=words.get(step["from_status"], ""))
    return _("%(step)s ist %(minutes)s Minuten her. %(change)s Wirklich zurücknehmen?",
             step=step_name(step), minutes=detail.get("minutes", 0), change=change)
