"""Every action a person can take on a talk, declared once: its code, its words, whether and how
"Rückgängig" takes it back, and what it changes.

The desk (web/desk.py and the page's JSON config), the audit log (web/words.py), the report
(services/report.py), undo (services/steps.py) and the error messages (messages.py) all read
this table; adding an action is one entry here plus its service function. The words are German
source texts, marked with `N_` for the catalogue and translated where a person reads them
(`messages.action_words`); no code of this table ever reaches a person.

`changes` names what an action may change on the question it acts on — question payload fields
(readmodel/payloads.py) — or one of the kinds `talk` and `backstage`; `touches` what it may change on
other questions (a merge's target, the other questions of a blocked person). The services record
exactly these in their writes (services/writes.py), and the views decide by them who hears of it.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..models import OPEN_STATUSES


def N_(text: str) -> str:
    """Marks a German source text for the catalogue (`pybabel extract -k N_`); translated later."""
    return text


@dataclass(frozen=True)
class Undo:
    """How "Rückgängig" takes an action back: a kind (services/steps.py has one revert per kind)
    and what doing so changes, in words for the moderator who confirms an older step.

    Placeholders: %(now)s and %(then)s (the status words after and before the step), %(before)s
    (the text before an edit)."""

    kind: str
    says: str


STATUS = Undo("status", N_("Die Frage kommt von „%(now)s“ zurück nach „%(then)s“."))
TEXT = Undo("text", N_("Der Text wird wieder „%(before)s“."))
MERGE = Undo("merge", N_("Die Frage wird wieder eigenständig (%(then)s)."))
ANSWER = Undo("answer", N_("Die schriftliche Antwort wird wieder, wie sie vorher war."))
BLOCK = Undo("block", N_("Die Person darf wieder fragen und abstimmen."))
UNBLOCK = Undo("unblock", N_("Die Person wird wieder gesperrt."))


@dataclass(frozen=True)
class Action:
    """One action. Words: `audit` names it in the audit log and the report; `done` says it in a
    few words ("ans Podium gegeben"); `step` names one step of it on a question (%(text)s: the
    question's text, shortened), as the undo button and the messages do; `button` is its label
    on a card."""

    code: str
    audit: str
    done: str
    step: str | None = None
    button: str | None = None
    key: str | None = None  # the desk's keyboard shortcut
    moves: tuple[tuple[str, ...], str] | None = None  # a status transition: (from statuses, to status)
    offered: tuple[str, ...] = ()  # where a card offers it (a transition: its from statuses)
    secondary: bool = False  # a card shows it less prominently
    undo: Undo | None = None
    changes: frozenset[str] = frozenset()
    touches: frozenset[str] = frozenset()
    audited: bool = True  # written to the audit log (an upvote is a vote, not an entry)
    moderator: bool = True  # taken on the moderators' desk (counted in the report); else the
    # organiser's or the system's

    @property
    def desk(self) -> bool:
        """A card offers it (as a button)."""
        return self.button is not None


_STATUS = frozenset({"status", "forwarded_at"})
_BLOCKED = frozenset({"blocked", "status"})  # a block rejects the person's pending questions

ACTIONS: tuple[Action, ...] = (
    # The desk's buttons, in the order a card shows them.
    Action("upvote", N_("Hochgestuft"), N_("hochgestuft"), N_("„%(text)s“ hochgestuft"), N_("Hochstufen"),
           offered=("pending", "approved"), changes=frozenset({"upvotes"}), audited=False),
    Action("approve", N_("Freigegeben"), N_("freigegeben"), N_("„%(text)s“ freigegeben"), N_("Freigeben"), "a",
           moves=(("pending", "rejected"), "approved"), undo=STATUS, changes=_STATUS),
    Action("forward", N_("Ans Podium gegeben"), N_("ans Podium gegeben"), N_("„%(text)s“ ans Podium gegeben"),
           N_("Ans Podium"), "f", moves=(("approved", "answered"), "forwarded"), undo=STATUS, changes=_STATUS),
    Action("answered", N_("Als beantwortet markiert"), N_("als beantwortet markiert"),
           N_("„%(text)s“ als beantwortet markiert"), N_("Beantwortet"), "b",
           moves=(("approved", "forwarded"), "answered"), undo=STATUS, changes=_STATUS),
    Action("recall", N_("Vom Podium genommen"), N_("vom Podium genommen"), N_("„%(text)s“ vom Podium genommen"),
           N_("Vom Podium nehmen"), moves=(("forwarded",), "approved"), undo=STATUS, changes=_STATUS),
    Action("reject", N_("Abgelehnt"), N_("abgelehnt"), N_("„%(text)s“ abgelehnt"), N_("Ablehnen"), "r",
           moves=(("pending", "approved"), "rejected"), secondary=True, undo=STATUS,
           changes=_STATUS | {"reason"}),
    Action("edit", N_("Text bearbeitet"), N_("bearbeitet"), N_("„%(text)s“ bearbeitet"), N_("Bearbeiten"), "e",
           offered=OPEN_STATUSES, undo=TEXT, changes=frozenset({"text", "original_text"})),
    Action("merge", N_("Zusammengeführt"), N_("zusammengeführt"), N_("„%(text)s“ zusammengeführt"),
           N_("Zusammenführen"), "m", offered=("pending", "approved"), undo=MERGE,
           changes=frozenset({"status", "merged_into"}), touches=frozenset({"merged", "upvotes", "votes"})),
    # Curation ("Kuratieren" on a card, the line to the podium).
    Action("answer", N_("Schriftlich beantwortet"), N_("schriftlich beantwortet"),
           N_("„%(text)s“ schriftlich beantwortet"), undo=ANSWER, changes=frozenset({"answer", "answer_published"})),
    Action("block", N_("Person gesperrt"), N_("Person gesperrt"), N_("Person hinter „%(text)s“ gesperrt"),
           undo=BLOCK, changes=_BLOCKED, touches=_BLOCKED),
    Action("unblock", N_("Sperre aufgehoben"), N_("Sperre aufgehoben"),
           N_("Sperre der Person hinter „%(text)s“ aufgehoben"), undo=UNBLOCK, changes=_BLOCKED, touches=_BLOCKED),
    Action("labels", N_("Schlagwörter gesetzt"), N_("Schlagwörter gesetzt"), N_("Schlagwörter für „%(text)s“ gesetzt"),
           changes=frozenset({"labels"})),
    Action("note", N_("Notiz geändert"), N_("Notiz geändert"), N_("Notiz zu „%(text)s“ geändert"),
           changes=frozenset({"note"})),
    Action("shortlist", N_("Vormerkung geändert"), N_("Vormerkung geändert"),
           N_("Vormerkung von „%(text)s“ geändert"), changes=frozenset({"shortlisted"})),
    Action("dismiss_similar", N_("Ähnlichkeit verworfen"), N_("Ähnlichkeit verworfen"),
           N_("Ähnlichkeit bei „%(text)s“ verworfen"), changes=frozenset({"similar"})),
    Action("backstage", N_("Zeile ans Podium"), N_("Zeile ans Podium geändert"), changes=frozenset({"backstage"})),
    # The round and the podium, from the desk.
    Action("talk_state", N_("Fragerunde geändert"), N_("Fragerunde geändert"), changes=frozenset({"talk"})),
    Action("podium_order", N_("Reihenfolge am Podium geändert"), N_("Reihenfolge am Podium geändert"),
           N_("„%(text)s“ jetzt am Podium"), changes=frozenset({"forwarded_at"})),
    Action("podium_next", N_("Podium: „Als Nächstes“ geändert"), N_("„Als Nächstes“ geändert"),
           changes=frozenset({"talk"})),
    Action("undo", N_("Rückgängig gemacht"), N_("zurückgenommen"), N_("„%(text)s“ zurückgenommen")),
    # Not a moderator's: the server folds a repeated question, the organiser changes the talk.
    Action("fold", N_("Wiederholung zusammengeführt"), N_("als Wiederholung zusammengeführt"),
           touches=frozenset({"merged"}), moderator=False),
    Action("talk_created", N_("Vortrag angelegt"), N_("Vortrag angelegt"), changes=frozenset({"talk"}),
           moderator=False),
    Action("talk_changed", N_("Vortrag geändert"), N_("Vortrag geändert"), changes=frozenset({"talk"}),
           moderator=False),
    Action("podium_link", N_("Podium-Link erneuert"), N_("Podium-Link erneuert"), moderator=False),
    # The audience's "Melden" (stored as reports, not in the audit log) and the record afterwards.
    Action("report", N_("Gemeldet"), N_("gemeldet"), changes=frozenset({"reports"}), audited=False,
           moderator=False),
    Action("record_published", N_("Dokumentation veröffentlicht"), N_("Dokumentation veröffentlicht"),
           moderator=False),
    Action("record_withdrawn", N_("Dokumentation zurückgezogen"), N_("Dokumentation zurückgezogen"),
           moderator=False),
    Action("rehearsal_start", N_("Probelauf gestartet"), N_("Probelauf gestartet"), changes=frozenset({"talk"}),
           moderator=False),
    Action("rehearsal_end", N_("Probelauf beendet"), N_("Probelauf beendet"), changes=frozenset({"talk"}),
           moderator=False),
    # Other channels (issue 23): a question taken in by e-mail, a relay or a moderator's pasted list
    # (then it is the moderator's and counted); the organiser's intake tokens and waiting mails.
    Action("intake", N_("Frage übernommen"), N_("übernommen"), N_("„%(text)s“ übernommen"),
           changes=frozenset({"status"})),
    Action("token_created", N_("Zugang angelegt"), N_("Zugang angelegt"), moderator=False),
    Action("token_revoked", N_("Zugang widerrufen"), N_("Zugang widerrufen"), moderator=False),
    Action("mail_assigned", N_("Mail zugeordnet"), N_("Mail zugeordnet"), changes=frozenset({"status"}),
           moderator=False),
    Action("mail_discarded", N_("Mail verworfen"), N_("Mail verworfen"), moderator=False),
)
BY_CODE: dict[str, Action] = {action.code: action for action in ACTIONS}

TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {a.code: a.moves for a in ACTIONS if a.moves}
UNDOABLE: tuple[str, ...] = tuple(a.code for a in ACTIONS if a.undo)
DESK: tuple[Action, ...] = tuple(a for a in ACTIONS if a.desk)
REPORTED: tuple[str, ...] = tuple(a.code for a in ACTIONS if a.moderator and a.audited)


def get(code: str) -> Action | None:
    return BY_CODE.get(code)


def changes(code: str) -> frozenset[str]:
    """What the action changes on the question it acts on."""
    return BY_CODE[code].changes


def touches(code: str) -> frozenset[str]:
    """What the action changes on the other questions it touches."""
    return BY_CODE[code].touches


def offered(action: Action) -> tuple[str, ...]:
    """The statuses in which a card offers the action: a transition from where it may start."""
    if action.moves is not None:
        allowed, to_status = action.moves
        return tuple(s for s in allowed if s != to_status)
    return action.offered


@dataclass(frozen=True)
class Status:
    """A question's status in words: `staff` for moderators, exports and reports, `public` for the
    audience (a rejected question is "Nicht angenommen" there)."""

    code: str
    staff: str
    public: str


STATUS_WORDS: dict[str, Status] = {s.code: s for s in (
    Status("pending", N_("Neu"), N_("Wartet auf Freigabe")),
    Status("approved", N_("Freigegeben"), N_("Freigegeben")),
    Status("forwarded", N_("Am Podium"), N_("Am Podium")),
    Status("answered", N_("Beantwortet"), N_("Beantwortet")),
    Status("rejected", N_("Abgelehnt"), N_("Nicht angenommen")),
    Status("merged", N_("Zusammengeführt"), N_("Zusammengeführt")),
)}


@dataclass(frozen=True)
class Reason:
    """Why a question was rejected or reported: `staff` names it for moderators (the desk's
    choice, the report), `public` for the person it concerns ("Nicht angenommen – %(public)s";
    the reasons one reports with are the audience's own words)."""

    code: str
    staff: str
    public: str


# `reject {question_id, reason?}`: the reasons a moderator gives, in the desk's order.
REJECT_REASONS: dict[str, Reason] = {r.code: r for r in (
    Reason("thema", N_("Nicht zum Thema"), N_("nicht zum Thema")),
    Reason("doppelt", N_("Doppelt"), N_("diese Frage wurde schon gestellt")),
    Reason("beleidigend", N_("Beleidigend"), N_("nicht respektvoll formuliert")),
    Reason("werbung", N_("Werbung"), N_("enthält Werbung")),
    Reason("beantwortet", N_("Schon beantwortet"), N_("wurde schon beantwortet")),
    Reason("sonstiges", N_("Sonstiges"), N_("siehe Regeln der Fragerunde")),
)}
# `report {question_id, reason}` ("Melden" on the audience page).
REPORT_REASONS: dict[str, Reason] = {r.code: r for r in (
    Reason("beleidigend", N_("beleidigend"), N_("beleidigend")),
    Reason("falsch", N_("falsch oder irreführend"), N_("falsch oder irreführend")),
    Reason("werbung", N_("Werbung"), N_("Werbung")),
    Reason("thema", N_("nicht zum Thema"), N_("nicht zum Thema")),
)}
