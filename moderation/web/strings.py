"""Words the templates and the browser scripts share, translated per request."""
from __future__ import annotations

from flask_babel import gettext as _

from .. import messages


def status_words() -> dict[str, str]:
    """The statuses as the audience reads them."""
    return messages.status_words(public=True)


def common() -> dict[str, object]:
    return {
        "status": status_words(),
        "online": _("Verbunden."),
        "offline": _("Keine Verbindung – Ihre Eingaben bleiben erhalten, es geht gleich weiter."),
        "reconnecting": _("Verbindung unterbrochen – neuer Versuch…"),
        "reconnected": _("Wieder verbunden, alles aktuell."),
        "loggedOut": _("Sie wurden abgemeldet. Bitte melden Sie sich erneut an."),
        "accessEnded": _("Sie moderieren diesen Vortrag nicht mehr. Die Verbindung ist beendet."),
        "revoked": _("Dieser Podium-Link gilt nicht mehr. Bitte öffnen Sie den neuen Link."),
    }
