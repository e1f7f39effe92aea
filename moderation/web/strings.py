"""Words the templates and the browser scripts share, translated per request."""
from __future__ import annotations

from flask_babel import gettext as _

from .. import messages


def common() -> dict[str, object]:
    return {
        "status": messages.status_words(public=True),  # as the audience reads them
        "online": _("Verbunden."),
        "offline": _("Keine Verbindung – Ihre Eingaben bleiben erhalten, es geht gleich weiter."),
        "reconnecting": _("Verbindung unterbrochen – neuer Versuch…"),
        "reconnected": _("Wieder verbunden, alles aktuell."),
        "notSent": _("Keine Verbindung – nicht ausgeführt. Bitte versuchen Sie es gleich noch einmal."),
        "noAnswer": _("Keine Antwort vom Server – vielleicht nicht ausgeführt. Bitte prüfen und erneut versuchen."),
        "loggedOut": _("Sie wurden abgemeldet. Bitte melden Sie sich erneut an."),
        "sessionEnded": messages.session_ended(),
    }
