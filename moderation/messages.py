"""German (and English) messages for the public error codes."""
from __future__ import annotations

import math

from flask_babel import gettext as _
from flask_babel import gettext as translate  # a text from services/actions.py, marked there with N_
from flask_babel import ngettext

from .services import actions
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
    if code == "invalid" and detail.get("reason") == "merge_hidden":
        return _("Eine freigegebene Frage lässt sich nur mit einer öffentlichen Frage zusammenführen – sonst "
                 "verschwindet sie mit ihren Stimmen für alle. Bitte geben Sie die andere Frage zuerst frei.")
    if code == "invalid" and detail.get("reason") == "podium_order":
        return _("Diese Frage ist nicht mehr am Podium. Die Liste „Am Podium“ zeigt den neuen Stand.")
    if code == "internal":
        return _("Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es erneut.")
    return _("Ungültige Eingabe.")


def error(exc: DomainError) -> dict:
    answer = {"ok": False, "error": exc.code, "message": message(exc.code, exc.detail)}
    if isinstance(exc.detail.get("step"), dict):  # the undo step refused or to be confirmed
        answer["step"] = exc.detail["step"]
    return answer


def session_ended() -> dict[str, str]:
    """What a page says when its access ended, by why (services/writes.WHY)."""
    return {
        "logged_out": _("Sie wurden abgemeldet. Bitte melden Sie sich erneut an."),
        "password": _("Das Passwort dieses Kontos wurde geändert. Bitte melden Sie sich mit dem neuen Passwort an."),
        "deactivated": _("Dieses Konto wurde deaktiviert. Die Verbindung ist beendet."),
        "role": _("Ihre Rolle wurde geändert: Sie moderieren diesen Vortrag nicht mehr. Die Verbindung ist beendet."),
        "removed": _("Sie moderieren diesen Vortrag nicht mehr. Die Verbindung ist beendet."),
        "podium_link": _("Dieser Podium-Link gilt nicht mehr. Bitte öffnen Sie den neuen Link."),
    }


def action_word(code: str, form: str = "audit") -> str:
    """An action in words (services/actions.py): `audit` for the log and the report, `done` ("ans
    Podium gegeben"), `button`. An unknown code is never shown as it is."""
    action = actions.get(code)
    word = getattr(action, form, None) if action is not None else None
    return translate(word) if word else _("eine andere Aktion")


def action_words(form: str) -> dict[str, str]:
    """Every action that has this form, in words, by code."""
    return {a.code: translate(getattr(a, form)) for a in actions.ACTIONS if getattr(a, form)}


def status_words(public: bool = False) -> dict[str, str]:
    """The statuses in words: the moderators' ("Abgelehnt") or the audience's ("Nicht freigegeben")."""
    return {code: translate(s.public if public else s.staff) for code, s in actions.STATUS_WORDS.items()}


def status_word(status: str | None, public: bool = False) -> str:
    words = actions.STATUS_WORDS.get(status or "")
    return translate(words.public if public else words.staff) if words else ""


def _reasons(kind: str) -> dict[str, actions.Reason]:
    return actions.REPORT_REASONS if kind == "report" else actions.REJECT_REASONS


def reason_word(code: str | None, kind: str = "reject", public: bool = False) -> str:
    """A reject (or report) reason in words; no reason, or an unknown one, is ""."""
    reason = _reasons(kind).get(code or "")
    return translate(reason.public if public else reason.staff) if reason else ""


def reason_words(kind: str = "reject", public: bool = False) -> dict[str, str]:
    """Every reason of that kind in words, by code, in the registry's order."""
    return {code: translate(r.public if public else r.staff) for code, r in _reasons(kind).items()}


def rejected_words(reason: str | None) -> str:
    """What the asker reads on their own rejected question: „Nicht angenommen – nicht zum Thema“."""
    said = reason_word(reason, public=True)
    if not said:
        return status_word("rejected", public=True)
    return _("Nicht angenommen – %(reason)s", reason=said)


def shorten(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def step_templates() -> dict[str, str]:
    """How each step is named, with {text} for the page's script to fill in."""
    return {a.code: translate(a.step, text="{text}") for a in actions.ACTIONS if a.step}


def step_name(step: dict) -> str:
    """„Wie kommt der Bus…“ freigegeben"""
    action = actions.get(step["action"])
    text = shorten(step.get("text") or "")
    if action is not None and action.step:
        return translate(action.step, text=text)
    return _("„%(text)s“: %(done)s", text=text, done=action_word(step["action"], "done"))


def undo_refused(detail: dict) -> str:
    step = step_name(detail["step"])
    reason = detail.get("reason")
    if reason == "built_on":
        return _("%(step)s lässt sich nicht zurücknehmen: %(user)s hat danach darauf aufgebaut (%(their)s).",
                 step=step, user=detail.get("by") or "?", their=action_word(detail.get("their", ""), "done"))
    if reason == "moved":
        return _("Ihr letzter Schritt ist inzwischen ein anderer: %(step)s. Bitte prüfen Sie ihn.", step=step)
    return _("%(step)s lässt sich nicht zurücknehmen: Die Frage wurde inzwischen geändert.", step=step)


def undo_question(detail: dict) -> str:
    """What an undo of an older step will change, for the moderator to confirm."""
    step = detail["step"]
    action = actions.get(step["action"])
    says = action.undo.says if action is not None and action.undo is not None else ""
    change = translate(says, now=status_word(step["to_status"]), then=status_word(step["from_status"]),
                       before=shorten(step.get("before") or "", 80)) if says else ""
    return _("%(step)s ist %(minutes)s Minuten her. %(change)s Wirklich zurücknehmen?",
             step=step_name(step), minutes=detail.get("minutes", 0), change=change)
