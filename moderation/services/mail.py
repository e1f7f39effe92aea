"""Questions by e-mail: reading one mail (its own text, the talk it is for, whether it names
its sender) and taking it once, as a question or onto the admins' list "Ohne Zuordnung".

The mailbox itself is read by workers/mailbox.py; this module only sees bytes and a session.
The sender's address is kept only as a keyed hash (limits, "Person sperren"), never as text.
"""
from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..models import EMAIL, MailMessage, Talk, User
from . import DbSession
from . import questions as question_service
from . import text as texts
from .audit import record
from .errors import DomainError
from .writes import Write

# The documented way to be named: a first line "Name: Erika Muster". Otherwise anonymous.
_NAME_LINE = re.compile(r"^\s*name\s*:\s*(.*\S)\s*$", re.I)
_QUOTE_HEADER = re.compile(
    r"^\s*(am\s.{4,120}\sschrieb\b.*|on\s.{4,120}\swrote\b.*|.{0,80}\s(schrieb|wrote)\s*:)\s*$", re.I)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|originalnachricht|"
                       r"weitergeleitete nachricht|forwarded message)\s*-{2,}", re.I)
_HEADER_BLOCK = re.compile(r"^\s*(von|from)\s*:\s*\S", re.I)
_HEADER_NEXT = re.compile(r"^\s*(gesendet|sent|datum|date|an|to|betreff|subject)\s*:", re.I)
_SIGNATURE = re.compile(r"^(--\s*|_{5,}|-{5,})$")
_MOBILE = re.compile(r"^\s*(von meinem \S+ gesendet|gesendet (von|mit) |sent from my |get outlook for )", re.I)
_CLOSING = re.compile(
    r"^\s*(mit )?(freundlichen|besten|beste|viele|liebe|herzliche|schöne|freundliche|sonnige)?\s*"
    r"(grüßen|grüße|gruß|grüssen|grüsse|gruss)\b[\s,!.]*$|^\s*(mfg|vg|lg|best regards|kind regards|"
    r"regards|cheers|best)[\s,!.]*$", re.I)
_GREETING = re.compile(r"^\s*(hallo|guten (tag|morgen|abend)|sehr geehrte|liebe[rs]?\b|moin|hi\b|hello|dear)"
                       r"[^?]{0,60}[,!]?\s*$", re.I)
_AUTO_PRECEDENCE = ("bulk", "junk", "list", "auto_reply")
SUBJECT_MAX = 200


@dataclass(frozen=True)
class Mail:
    """What a mail says, reduced to what a question needs."""

    fingerprint: str  # the same mail delivered again has the same one
    sender: str  # the address, lower case (hashed before it is stored)
    subject: str
    recipients: tuple[str, ...]
    text: str  # its own words: no quoted reply, signature or markup
    name: str | None  # only when the mail names it ("Name: …")
    automatic: bool  # an out-of-office note, a bounce, a mailing list
    received_at: datetime | None


class _TextOfHtml(HTMLParser):
    """The visible words of an HTML mail, a line per block; quoted replies and signatures
    (blockquote, Gmail's, Outlook's and Thunderbird's markers) left out."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "hr", "pre"}
    SKIP = {"style", "script", "head", "title", "blockquote"}
    SKIP_MARKS = ("gmail_quote", "gmail_signature", "moz-cite-prefix", "moz-signature", "divrplyfwdmsg",
                  "appendonsend", "signature")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[tuple[str, bool]] = []
        self.skipping = 0
        self.stopped = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        marks = " ".join((value or "").lower() for key, value in attrs if key in ("class", "id"))
        skip = tag in self.SKIP or any(mark in marks for mark in self.SKIP_MARKS)
        if tag == "hr" and not self.skipping:
            self.stopped = True  # Outlook puts its quoted header block after a rule
        if tag in self.BLOCKS:
            self.out.append("\n")
        if tag in ("br", "hr", "img", "meta", "link", "input", "wbr"):
            return  # void elements have no end tag
        self.stack.append((tag, skip))
        self.skipping += skip

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            opened, skip = self.stack.pop()
            self.skipping -= skip
            if opened == tag:
                break
        if tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping and not self.stopped:
            self.out.append(data)


def html_text(markup: str) -> str:
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    return html.unescape("".join(parser.out))


def own_words(text: str) -> tuple[str, str | None]:
    """The writer's own words and the name they gave: quoted replies ("> …", "Am … schrieb …:",
    Outlook's header block), signatures ("-- "), sign-offs ("Viele Grüße"), "Sent from my
    phone" lines and a leading salutation left out."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    kept: list[str] = []
    for i, line in enumerate(lines):
        joined = line + " " + (lines[i + 1] if i + 1 < len(lines) else "")
        if _SIGNATURE.match(line) or _ORIGINAL.match(line) or _MOBILE.match(line) or _CLOSING.match(line):
            break
        wrapped = line.strip().lower().startswith(("am ", "on ")) and _QUOTE_HEADER.match(joined)
        if _QUOTE_HEADER.match(line) or wrapped:
            break
        if _HEADER_BLOCK.match(line) and any(_HEADER_NEXT.match(n) for n in lines[i + 1:i + 4]):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    name = None
    body = [line for line in kept if line.strip()]
    if body and _NAME_LINE.match(body[0]):
        name = _NAME_LINE.match(body[0]).group(1)  # type: ignore[union-attr]
        body = body[1:]
    if body and _GREETING.match(body[0]) and len(body) > 1:
        body = body[1:]
    return "\n".join(body).strip(), name


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown charset or a broken encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    return html_text(content) if part.get_content_type() == "text/html" else content


def read(raw: bytes) -> Mail:
    """One mail as bytes (RFC 5322, as IMAP hands it out), reduced to a question's parts.
    Attachments are never read: only the text body (plain preferred, else HTML) is."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)

    def header(name: str) -> str:
        try:
            return str(message.get(name, "") or "")
        except (ValueError, TypeError, IndexError):  # a header the parser could not make sense of
            return ""

    _display, sender = parseaddr(header("From"))
    recipients = tuple(addr.lower() for _n, addr in getaddresses(
        [header(h) for h in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")]) if addr)
    message_id = header("Message-ID").strip()
    fingerprint = hashlib.sha256((message_id or (header("Date") + header("From") + header("Subject"))
                                  + ("" if message_id else raw[:4096].decode("latin-1"))).encode()).hexdigest()
    auto = header("Auto-Submitted").strip().lower()
    automatic = (auto not in ("", "no") or header("Precedence").strip().lower() in _AUTO_PRECEDENCE
                 or bool(header("List-Id")) or sender.lower().split("@")[0] in ("mailer-daemon", "postmaster", "")
                 or header("X-Autoreply").strip().lower() == "yes")
    text, name = own_words(_body(message))
    try:
        received = parsedate_to_datetime(header("Date")) if header("Date") else None
        received = received.astimezone(UTC) if received and received.tzinfo else None
    except (TypeError, ValueError, IndexError):
        received = None
    return Mail(fingerprint=fingerprint, sender=sender.strip().lower(), subject=texts.normalise(header("Subject")),
                recipients=recipients, text=text, name=name, automatic=automatic, received_at=received)


def sender_hash(secret: str, address: str) -> str:
    """The keyed hash a sender is known by: the same in every talk, for limits and blocks."""
    return question_service.client_hash(secret, "email\x00" + address.strip().lower())


def route(session: DbSession, mail: Mail) -> tuple[Talk | None, str | None]:
    """The talk a mail is for: a plus address (`fragen+wohnen@…`) first, else the talk's Kürzel
    as a word of the subject. (None, reason) when there is none or more than one."""
    slugs = {slug: talk_id for talk_id, slug in session.execute(select(Talk.id, Talk.slug))}
    for address in mail.recipients:
        local = address.split("@", 1)[0]
        if "+" in local:
            tag = local.split("+", 1)[1]
            if tag in slugs:
                return session.get(Talk, slugs[tag]), None
    words = set(re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", mail.subject.casefold()))
    found = [slug for slug in slugs if slug in words]
    if len(found) == 1:
        return session.get(Talk, slugs[found[0]]), None
    return None, ("ambiguous" if found else "no_talk")


def mailbox_key(identity: str) -> str:
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def taken(session: DbSession, mailbox: str, uidvalidity: int, uid: int) -> bool:
    return session.scalar(select(MailMessage.id).where(
        MailMessage.mailbox == mailbox, MailMessage.uidvalidity == uidvalidity, MailMessage.uid == uid)) is not None


def take(session: DbSession, mailbox: str, uidvalidity: int, uid: int, raw: bytes, *, secret: str, now: datetime,
         admit: Callable[[str], None] | None = None) -> tuple[MailMessage, Write | None] | None:
    """Take one mail of the mailbox, once: as a question of its talk, or onto "Ohne Zuordnung"
    (no talk found, the round closed, text refused, over a limit) for an admin. None when this
    UID was taken already (by this or another process). The caller commits."""
    try:
        mail = read(raw)
    except Exception:  # a mail no parser makes sense of still waits for an admin, once
        mail = Mail(fingerprint=hashlib.sha256(raw).hexdigest(), sender="", subject="", recipients=(), text="",
                    name=None, automatic=False, received_at=None)
    row = MailMessage(mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, fingerprint=mail.fingerprint,
                      status="ignored", received_at=mail.received_at or now)
    try:
        with session.begin_nested():  # claim the UID first: a second poller's insert fails here
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    if mail.automatic:
        row.reason = "auto"
        return row, None
    if session.scalar(select(MailMessage.id).where(
            MailMessage.mailbox == mailbox, MailMessage.fingerprint == mail.fingerprint, MailMessage.id != row.id,
            MailMessage.uidvalidity != uidvalidity)) is not None:
        row.reason = "copy"  # read before, under an older UIDVALIDITY
        return row, None
    sender = sender_hash(secret, mail.sender) if mail.sender else None
    talk, reason = route(session, mail)
    row.subject, row.sender_hash = mail.subject[:SUBJECT_MAX] or None, sender
    if talk is None:
        _wait(row, reason or "no_talk", mail)
        return row, None
    row.talk_id = talk.id
    try:
        with session.begin_nested():
            write = question_service.submit(
                session, talk, text=mail.text, name=mail.name, client=sender,
                client_msg_id=f"mail-{mail_msg_id(mailbox, uidvalidity, uid)}", now=now,
                admit=(lambda: admit(sender)) if admit and sender else None,
                channel=question_service.Channel(EMAIL))
    except DomainError as exc:
        if exc.code == "forbidden":  # a blocked sender: never shown, not even to admins
            row.reason, row.subject, row.sender_hash = "blocked", None, None
            return row, None
        _wait(row, exc.code, mail)
        return row, None
    row.status, row.sender_hash, row.subject = "question", None, None
    row.question_id = write.question.id if write.question else None
    return row, write


def mail_msg_id(mailbox: str, uidvalidity: int, uid: int) -> str:
    return hashlib.sha256(f"{mailbox}:{uidvalidity}:{uid}".encode()).hexdigest()[:40]


def _wait(row: MailMessage, reason: str, mail: Mail) -> None:
    """Onto "Ohne Zuordnung": the mail's words (and name) wait for an admin."""
    row.status, row.reason = "waiting", reason[:20]
    row.text = texts.normalise(mail.text)[:5000] or None
    row.name = (texts.normalise(mail.name)[:80] or None) if mail.name else None


def waiting(session: DbSession) -> list[MailMessage]:
    return list(session.scalars(select(MailMessage).where(MailMessage.status == "waiting")
                                .order_by(MailMessage.received_at, MailMessage.id)))


def _waiting_mail(session: DbSession, mail_id: int) -> MailMessage:
    row = session.get(MailMessage, mail_id)
    if row is None or row.status != "waiting":
        raise DomainError("not_found")
    return row


def assign(session: DbSession, mail_id: int, talk: Talk, text: object, name: object, user: User,
           now: datetime) -> Write:
    """An admin puts a waiting mail into a talk (its text as they corrected it): a pending e-mail
    question, whether or not the round is open; the sender's block still holds."""
    row = _waiting_mail(session, mail_id)
    write = question_service.submit(
        session, talk, text=text, name=name if isinstance(name, str) and name.strip() else None,
        client=row.sender_hash, client_msg_id=f"mail-{mail_msg_id(row.mailbox, row.uidvalidity, row.uid)}",
        now=now, channel=question_service.Channel(EMAIL, by=user, window=False))
    question = write.question
    record(session, talk, user, "mail_assigned", question=question, after=row.reason)
    row.status, row.talk_id, row.question_id = "assigned", talk.id, question.id if question else None
    row.text = row.name = row.subject = row.sender_hash = None
    return write


def discard(session: DbSession, mail_id: int, user: User) -> None:
    """An admin drops a waiting mail: its words and sender's hash are deleted at once."""
    row = _waiting_mail(session, mail_id)
    row.status, row.text, row.name, row.subject, row.sender_hash = "discarded", None, None, None, None
    if row.talk_id is not None:
        talk = session.get(Talk, row.talk_id)
        if talk is not None:
            record(session, talk, user, "mail_discarded", before=row.reason)
