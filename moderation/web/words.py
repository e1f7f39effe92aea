"""Dates, times, counts and audit entries in the viewer's language (Flask-Babel, Europe/Berlin)."""
from __future__ import annotations

from datetime import datetime

from babel.dates import format_interval, format_skeleton
from flask_babel import format_date, format_datetime, format_time, get_locale, get_timezone, ngettext
from flask_babel import gettext as _
from markupsafe import Markup, escape

from ..messages import reason_word
from ..models import AuditEntry, Talk
from ..services.actions import REJECT_REASONS

# The short day and month of each language ("25.03." in German); others use their own skeleton.
_DAY_MONTH = {"de": "ddMM"}


def _hour_skeleton() -> str:
    """24-hour clock where the language writes it so ("18:30"), else 12-hour ("6:30 PM")."""
    return "Hm" if "H" in get_locale().time_formats["short"].pattern else "hm"


def time_range(start: datetime, end: datetime) -> str:
    """"18:30–20:00 Uhr" in German, "6:30 – 8:00 PM" in English."""
    return format_interval(start, end, _hour_skeleton(), tzinfo=get_timezone(), locale=get_locale())


def clock_time(value: datetime) -> str:
    return format_time(value, "short")


def day_month(value: datetime, now: datetime | None = None) -> str:
    """"25.03." (with the year when it is not this year's)."""
    locale = get_locale()
    skeleton = _DAY_MONTH.get(locale.language, "MMMMd")
    if now is not None and value.astimezone(get_timezone()).year != now.astimezone(get_timezone()).year:
        skeleton = "yMMdd" if locale.language in _DAY_MONTH else "yMMMMd"
    return format_skeleton(skeleton, value, tzinfo=get_timezone(), locale=locale)


def talk_when(talk: Talk) -> str:
    """"Donnerstag, 25. März 2021, 18:30–20:00 Uhr"."""
    times = Markup('<span class="nowrap">%s</span>') % time_range(talk.starts_at, talk.ends_at)
    return Markup(_("%(date)s, %(times)s", date=escape(format_date(talk.starts_at, "full")), times=times))


def date_time(value: datetime | None) -> str:
    return format_datetime(value, "short") if value else ""


def opens_at(talk: Talk, now: datetime) -> str:
    return _("Die Fragerunde öffnet am %(date)s um %(time)s Uhr.",
             date=day_month(talk.starts_at, now), time=clock_time(talk.starts_at))


def _forms(word) -> dict[str, str]:
    return {"one": word(1), "other": word(2)}


def script_counts() -> dict[str, dict[str, str]]:
    """Both forms of every count the browser scripts show ({n} is filled in there). German and
    English need only these two; the script picks one with Intl.PluralRules."""
    return {
        "upvotes": _forms(lambda k: ngettext("%(n)s Hochstufung", "%(n)s Hochstufungen", k, n="{n}")),
        "votes": _forms(lambda k: ngettext("%(n)s Publikumsstimme", "%(n)s Publikumsstimmen", k, n="{n}")),
        "merged": _forms(lambda k: ngettext("%(n)s zusammengeführte Frage", "%(n)s zusammengeführte Fragen",
                                            k, n="{n}")),
        "audienceVotes": _forms(lambda k: ngettext("%(n)s Stimme", "%(n)s Stimmen", k, n="{n}")),
        "more": _forms(lambda k: ngettext("und %(n)s weitere Frage", "und %(n)s weitere Fragen", k, n="{n}")),
    }


def flag_word(flag: str | None) -> str:
    words = {"insult": _("Beleidigung?"), "spam": _("Werbung?"), "repeated": _("Wiederholung"),
             "fresh_votes": _("viele neue Stimmen von einer Adresse")}
    return words.get(flag or "", flag or "")


def audit_value(entry: AuditEntry, value: str | None) -> str:
    """Before/after of an entry in words: talk states and switches are stored as codes."""
    if value is None:
        return ""
    if entry.action == "talk_state":
        return _round_state(value)
    if entry.action == "podium_next":
        return _("angezeigt") if value == "on" else _("ausgeblendet")
    if entry.action in ("merge", "fold") and value and value.replace(",", "").isdigit():
        return ", ".join(f"#{part}" for part in value.split(","))
    if entry.action == "rehearsal_end" and value.isdigit():
        return ngettext("%(num)s Frage entfernt", "%(num)s Fragen entfernt", int(value))
    if "rejected" in (entry.to_status, entry.from_status) and value in REJECT_REASONS:
        return reason_word(value)  # a reject's reason, or an undo of one
    return value


def _round_state(described: str) -> str:
    """windows.describe() wrote "open until 2021-03-11T19:00:00+00:00" or "schedule until -"."""
    state, _sep, until = described.partition(" until ")
    at = None
    if until and until != "-":
        try:
            at = datetime.fromisoformat(until)
        except ValueError:
            return described
    if state == "schedule":
        return _("nach Zeitplan")
    if state == "closed":
        return _("geschlossen")
    if state == "open" and at is not None:
        return _("geöffnet bis %(time)s", time=date_time(at))
    if state == "open":
        return _("geöffnet")
    return described


def source_words() -> dict[str, str]:
    """The channels' names on cards, in exports and the report; an API channel is its label."""
    return {"web": _("Web"), "email": _("E-Mail"), "import": _("Übernommen")}


def source_word(source: str | None, label: str | None = None) -> str:
    """"E-Mail", "YouTube" (api:YouTube), an import's Quelle ("Telefon"), "Web"."""
    source = source or "web"
    if source.startswith("api:"):
        return source[4:]
    if source == "import" and label:
        return label
    return source_words().get(source, source)


def mail_reasons() -> dict[str, str]:
    """Why a mail waits under "Ohne Zuordnung"."""
    return {
        "no_talk": _("Kein Vortrag erkannt (weder Kürzel im Betreff noch Adresse mit +Kürzel)"),
        "ambiguous": _("Mehrere Vorträge passen zum Betreff"),
        "closed": _("Die Fragerunde nahm keine Fragen an"),
        "too_long": _("Der Text ist zu lang (höchstens 500 Zeichen)"),
        "empty": _("Die Mail enthält keinen Text"),
        "rate_limited": _("Zu viele Mails von diesem Absender"),
        "invalid": _("Name oder Text nicht zulässig"),
    }
