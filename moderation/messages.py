"""German (and English) messages for the public error codes."""
from __future__ import annotations

from flask_babel import gettext as _

from .services.errors import DomainError

TOO_LONG = {
    "note": lambda n: _("Die Notiz ist zu lang (höchstens %(max)s Zeichen).", max=n),
    "answer": lambda n: _("Die Antwort ist zu lang (höchstens %(max)s Zeichen).", max=n),
    "backstage": lambda n: _("Die Zeile ans Podium ist zu lang (höchstens %(max)s Zeichen).", max=n),
    "label": lambda n: _("Das Schlagwort ist zu lang (höchstens %(max)s Zeichen).", max=n),
}


def message(code: str, detail: dict | None = None) -> str:
    detail = detail or {}
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
        return _("Zu viele Versuche. Bitte versuchen Sie es in %(seconds)s Sekunden erneut.",
                 seconds=detail.get("retry_after", 60))
    if code == "not_found":
        return _("Nicht gefunden.")
    if code == "forbidden":
        if detail.get("blocked"):
            return _("Die Moderation hat Ihre Teilnahme an dieser Fragerunde beendet. Sie können hier leider "
                     "keine Fragen mehr stellen und nicht mehr abstimmen. Vielen Dank für Ihr Verständnis.")
        return _("Dafür fehlt die Berechtigung.")
    if code == "conflict":
        return _("Die Frage wurde inzwischen geändert. Bitte prüfen Sie die aktuelle Fassung.")
    if code == "internal":
        return _("Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es erneut.")
    return _("Ungültige Eingabe.")


def error(exc: DomainError) -> dict:
    return {"ok": False, "error": exc.code, "message": message(exc.code, exc.detail)}
