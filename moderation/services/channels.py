"""Channels beside the question page: intake tokens and the intake API for relays (a stream's
chat), and lists of questions a moderator pastes ("Fragen übernehmen"). Every question goes
through questions.submit(), so the page's text rules, flags, limits and blocks hold for all."""
from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..models import API, IMPORT, OPEN_STATUSES, IntakeToken, Question, Talk, User
from . import DbSession
from . import questions as question_service
from . import text as texts
from .audit import record
from .errors import DomainError
from .similar import TalkIndex
from .writes import Changed, Write

MAX_LABEL = 40
MAX_EXTERNAL_ID = 200
MAX_IMPORT = 200  # questions in one pasted list
TOKEN_PREFIX = "fr_"


# --- intake tokens ------------------------------------------------------------------------------

def token_hash(token: str) -> str:
    """Tokens are 256 random bits: a plain SHA-256 is enough to keep none of them readable."""
    return hashlib.sha256(token.encode()).hexdigest()


def label(value: object, field_name: str = "channel") -> str:
    """A channel's name ("YouTube", "Zoom-Chat", "Telefon"): normalised, 1–40 characters."""
    if not isinstance(value, str):
        raise DomainError("invalid", {"field": field_name})
    name = texts.normalise(value)
    if not name:
        raise DomainError("empty", {"field": field_name})
    if len(name) > MAX_LABEL:
        raise DomainError("too_long", {"field": field_name, "max": MAX_LABEL})
    return name


def create_token(session: DbSession, talk: Talk, name: object, user: User | None) -> tuple[IntakeToken, str]:
    """A new token for a relay of this talk; the token itself is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = IntakeToken(talk_id=talk.id, label=label(name), token_hash=token_hash(token),
                      user_id=user.id if user else None)
    session.add(row)
    session.flush()
    record(session, talk, user, "token_created", after=row.label)
    return row, token


def tokens(session: DbSession, talk: Talk) -> list[IntakeToken]:
    return list(session.scalars(select(IntakeToken).where(IntakeToken.talk_id == talk.id)
                                .order_by(IntakeToken.revoked_at.is_not(None), IntakeToken.id)))


def revoke_token(session: DbSession, talk: Talk, token_id: int, user: User | None, now: datetime) -> IntakeToken:
    row = session.get(IntakeToken, token_id)
    if row is None or row.talk_id != talk.id:
        raise DomainError("not_found")
    if row.revoked_at is None:
        row.revoked_at = now
        record(session, talk, user, "token_revoked", before=row.label)
    return row


def revoke_label(session: DbSession, talk: Talk, name: object, user: User | None, now: datetime) -> int:
    """Revoke every live token of this talk with this label; how many."""
    wanted = label(name)
    rows = [t for t in tokens(session, talk) if t.revoked_at is None and t.label == wanted]
    for row in rows:
        revoke_token(session, talk, row.id, user, now)
    return len(rows)


def authorise(session: DbSession, talk: Talk, bearer: str | None) -> IntakeToken:
    """The live token of this talk the relay presented; else `forbidden` (wrong, revoked, or
    another talk's: the answer does not say which)."""
    if not bearer or len(bearer) > 200 or not bearer.isascii():
        raise DomainError("forbidden", {"token": True})
    row = session.scalar(select(IntakeToken).where(IntakeToken.token_hash == token_hash(bearer)))
    if row is None or row.talk_id != talk.id or row.revoked_at is not None:
        raise DomainError("forbidden", {"token": True})
    return row


# --- the intake API -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Relayed:
    """One question a relay sends: `source` names the chat when one relay carries several."""

    text: object
    name: object = None
    source: object = None
    external_id: object = None


def relay_identity(secret: str, token: IntakeToken, source: str, name: str | None) -> str | None:
    """A chat's person is known by the name the relay gives (keyed, per talk and channel): the
    identity that limits and "Person sperren" act on. No name: no identity."""
    if not name:
        return None
    return question_service.client_hash(secret, f"relay\x00{token.talk_id}\x00{source}\x00{name.casefold()}")


def relayed(session: DbSession, talk: Talk, token: IntakeToken, item: Relayed, *, secret: str, now: datetime,
            admit: Callable[[str | None], None] | None = None) -> tuple[Write, bool]:
    """Store a relayed question; (the write, whether it is new). The same `external_id` from the
    same channel again answers the first question."""
    source = API + (label(item.source, "source") if item.source is not None else token.label)
    if item.external_id is not None and (not isinstance(item.external_id, str | int) or isinstance(
            item.external_id, bool) or not 0 < len(str(item.external_id)) <= MAX_EXTERNAL_ID):
        raise DomainError("invalid", {"field": "external_id"})
    if item.external_id is not None:
        digest = hashlib.sha256(f"{source}\x00{item.external_id}".encode()).hexdigest()[:40]
        msg_id = f"api-{digest}"
        existing = question_service.find_by_msg_id(session, talk, msg_id)
        if existing is not None and existing.source == source:
            return Write(existing), False
    else:
        msg_id = f"api-{uuid.uuid4().hex}"
    name = texts.author_name(item.name)
    client = relay_identity(secret, token, source, name)
    token.last_used_at = now
    write = question_service.submit(
        session, talk, text=item.text, name=name, client=client, client_msg_id=msg_id, now=now,
        admit=(lambda: admit(client)) if admit else None, channel=question_service.Channel(source))
    return write, write.created


# --- a pasted list ------------------------------------------------------------------------------

_NAME_PREFIX = re.compile(r"^([^:?!.\n]{1,40}):\s+(\S.*)$", re.S)


@dataclass
class Line:
    """One question of a pasted list, as the preview shows it."""

    number: int
    text: str
    name: str | None = None
    error: DomainError | None = None
    duplicate_of: int | None = None  # an open question with the same text: not taken again
    similar: list[int] = field(default_factory=list)  # open questions that ask much the same


def split(pasted: str) -> list[tuple[str, str | None]]:
    """Questions from a pasted list: one per line, or blocks separated by a blank line (then a
    block's lines are one question). "Name: question" gives the name: one word, or up to three
    capitalised ones, without sentence marks ("Erika Muster: …", "anna_k: …")."""
    lines = pasted.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks = "\n".join(lines).strip("\n")
    if re.search(r"\n[ \t]*\n", blocks):
        parts = [" ".join(p.split("\n")) for p in re.split(r"\n[ \t]*\n", blocks)]
    else:
        parts = lines
    found: list[tuple[str, str | None]] = []
    for part in parts:
        if not part.strip():
            continue
        match = _NAME_PREFIX.match(part.strip())
        words = match.group(1).split() if match else []
        if match and (len(words) == 1 or (len(words) <= 3 and all(w[:1].isupper() for w in words))):
            found.append((match.group(2), match.group(1).strip()))
        else:
            found.append((part, None))
    return found


def preview(session: DbSession, talk: Talk, pasted: str) -> list[Line]:
    """What "Übernehmen" would take: each question checked by the page's rules, with open
    questions of the talk that it repeats (exactly: not taken again) or resembles."""
    items = split(pasted)
    if len(items) > MAX_IMPORT:
        raise DomainError("too_long", {"field": "import", "max": MAX_IMPORT})
    open_questions = list(session.execute(select(Question.id, Question.text).where(
        Question.talk_id == talk.id, Question.status.in_(OPEN_STATUSES)).order_by(Question.id)))
    by_text = {text.casefold(): qid for qid, text in open_questions}
    index = TalkIndex()
    for qid, text in open_questions:
        index.add(qid, text)
    seen: dict[str, int] = {}
    result = []
    for number, (raw, name) in enumerate(items, 1):
        line = Line(number, texts.normalise(raw))
        try:
            line.text = texts.question_text(raw)
            line.name = texts.author_name(name)
        except DomainError as exc:
            line.error = exc
            result.append(line)
            continue
        key = line.text.casefold()
        line.duplicate_of = by_text.get(key)
        if line.duplicate_of is None and key in seen:
            line.duplicate_of = -seen[key]  # the same text earlier in this list: its number, negated
        seen.setdefault(key, number)
        if line.duplicate_of is None:
            line.similar = [s.id for s in index.suggest(text=line.text)]
        result.append(line)
    return result


def take_list(session: DbSession, talk: Talk, pasted: str, quelle: object, user: User, now: datetime,
              admit: Callable[[], None] | None = None) -> tuple[Write, list[Line]]:
    """Store a pasted list as questions (`import`, its "Quelle" as their label), pending whatever
    the talk's Vorab-Moderation says. All or nothing: a line the rules refuse refuses the list
    (nothing is lost unseen); exact repeats of open questions are left out."""
    source_label = label(quelle, "quelle") if isinstance(quelle, str) and quelle.strip() else None
    lines = preview(session, talk, pasted)
    if not lines:
        raise DomainError("empty", {"field": "import"})
    refused = [line for line in lines if line.error is not None]
    if refused:
        raise DomainError(refused[0].error.code if refused[0].error else "invalid",
                          {"field": "import", "lines": lines})
    if admit is not None:
        admit()
    channel = question_service.Channel(IMPORT, label=source_label, by=user, window=False)
    changes: list[Changed] = []
    for line in lines:
        if line.duplicate_of is not None:
            continue
        write = question_service.submit(session, talk, text=line.text, name=line.name, client=None,
                                        client_msg_id=f"import-{uuid.uuid4().hex}", now=now, channel=channel)
        changes.extend(write.changed)
    if not changes:
        return Write(), lines
    return Write(changes[0].question, changes), lines
