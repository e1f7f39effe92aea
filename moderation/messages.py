"""German (and English) messages for the public error codes."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext

from .services.errors import DomainError


def message(code: str, detail: dict | None = None) -> str:
    detail = detail or {}
    if code == "closed":
        return _("Die Fragerunde ist gerade geschlossen. Fragen können nur während des Vortrags gestellt werden.")
    if code == "empty":
        return _("Bitte geben Sie eine Frage ein.")
    if code == "too_long":
        if detail.get("field") == "name":
            return _("Der Name ist zu lang (höchstens %(max)s Zeichen).", max=detail.get("max", 80))
        return _("Die Frage ist zu lang (höchstens %(max)s Zeichen).", max=detail.get("max", 500))
    if code == "rate_limited":
        return ngettext("Zu viele Versuche. Bitte versuchen Sie es in %(num)s Sekunde erneut.",
                        "Zu viele Versuche. Bitte versuchen Sie es in %(num)s Sekunden erneut.",
                        int(detail.get("retry_after", 60)))
    if code == "not_found":
        return _("Nicht gefunden.")
    if code == "forbidden":
        return _("Dafür fehlt die Berechtigung.")
    if code == "conflict":
        return _("Die Frage wurde inzwischen geändert. Bitte prüfen Sie die aktuelle Fassung.")
    if code == "internal":
        return _("Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es erneut.")
    return _("Ungültige Eingabe.")


def error(exc: DomainError) -> dict:
    return {"ok": False, "error": exc.code, "message": message(exc.code, exc.detail)}
