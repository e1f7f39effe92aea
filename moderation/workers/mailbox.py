"""Reading the intake mailbox (IMAP_URL): one process at a time, each mail exactly once.

Whichever server process holds the database lease `mailbox` reads; the others wait for it to
lapse. The reader asks for the UIDs above the stored cursor (UIDVALIDITY, last UID), takes each
mail in its own transaction together with the cursor (services/mail.take claims the UID in the
table `mail_message` first, so even two readers at once store one question per mail), commits,
publishes the question to the moderators, and only then flags the mail \\Seen (never deletes
it). A reader that dies between commit and flag leaves the flag unset, never a second question.
It waits with IDLE where the server offers it (new mail is read at once), else polls; either way
at most IMAP_POLL_SECONDS pass between two looks, and the lease is renewed then. Each look is one
round of a `loop.Loop`, the connection kept between rounds.
"""
from __future__ import annotations

import logging
import os
import socket
import ssl
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask
from flask_socketio import SocketIO
from imapclient import IMAPClient
from sqlalchemy import update

from .. import clock
from ..extensions import db
from ..models import MailCursor, Talk
from ..readmodel import publish
from ..services import leases
from ..services import mail as mail_service
from .loop import Loop

log = logging.getLogger("fragerunde.mailbox")
LEASE = "mailbox"
FETCH_CHUNK = 20
LARGE = 2 * 1024 * 1024  # bytes: of a larger mail only the start is read (its text comes first)


@dataclass(frozen=True)
class Mailbox:
    """IMAP_URL: imap[s]://user:password@host[:port]/MAILBOX (user and password URL-encoded)."""

    host: str
    port: int
    tls: bool
    user: str
    password: str
    folder: str

    @property
    def key(self) -> str:
        """Who and where, without the password: the cursor and the mails taken belong to it."""
        return mail_service.mailbox_key(f"{self.user}@{self.host}:{self.port}/{self.folder}")


def parse_url(url: str) -> Mailbox:
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise RuntimeError("IMAP_URL must look like imaps://user:password@host[:port]/MAILBOX")
    tls = parts.scheme == "imaps"
    return Mailbox(host=parts.hostname, port=parts.port or (993 if tls else 143), tls=tls,
                   user=unquote(parts.username), password=unquote(parts.password or ""),
                   folder=unquote(parts.path.lstrip("/")) or "INBOX")


@dataclass
class Reading:
    """An open connection to the mailbox, kept from one round to the next."""

    client: IMAPClient
    uidvalidity: int
    idle: bool


class MailPoller:
    def __init__(self, app: Flask, socketio: SocketIO, mailbox: Mailbox):
        self.app = app
        self.socketio = socketio
        self.mailbox = mailbox
        self.poll = float(app.config["IMAP_POLL_SECONDS"])
        self.lease_seconds = float(app.config["IMAP_LEASE_SECONDS"])
        self.holder = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.reading: Reading | None = None
        # A failed round (a lost connection, a refused login) is logged; the next one follows a poll later.
        self.loop = Loop("intake mailbox", socketio, self._round, every=self.poll, first=0)
        self.taken = 0

    def start(self) -> None:
        self.loop.start()

    def _round(self) -> float:
        """One look into the mailbox while this process holds the lease: take what is new, then
        wait for more (with IDLE until mail arrives, at most a poll); the pause before the next."""
        if not self.hold():
            self.close()
            return min(self.poll, self.lease_seconds / 3)
        try:
            reading = self.reading = self.reading or self.open()
            self.take_new(reading.client, reading.uidvalidity)
            if not reading.idle:
                return self.poll
            self.wait_idle(reading.client)
        except Exception:
            self.close()
            raise
        return 0

    def hold(self) -> bool:
        """Take or renew the lease; False when another process reads the mailbox."""
        with self.app.app_context():
            try:
                held = leases.acquire(db.session, LEASE, self.holder, clock.now(), self.lease_seconds)
                db.session.commit()
                return held
            finally:
                db.session.remove()

    def connect(self) -> IMAPClient:
        box = self.mailbox
        context = ssl.create_default_context() if box.tls else None
        client = IMAPClient(box.host, port=box.port, ssl=box.tls, ssl_context=context, timeout=60)
        if not box.tls and b"STARTTLS" in client.capabilities() and box.host not in ("127.0.0.1", "localhost", "::1"):
            client.starttls(ssl.create_default_context())
        client.login(box.user, box.password)
        return client

    def open(self) -> Reading:
        client = self.connect()
        try:
            selected = client.select_folder(self.mailbox.folder)
        except Exception:
            _log_out(client)
            raise
        return Reading(client, int(selected[b"UIDVALIDITY"]), b"IDLE" in client.capabilities())

    def close(self) -> None:
        reading, self.reading = self.reading, None
        if reading is not None:
            _log_out(reading.client)

    def wait_idle(self, client: IMAPClient) -> None:
        client.idle()
        try:
            client.idle_check(timeout=self.poll)
        finally:
            client.idle_done()

    def take_new(self, client: IMAPClient, uidvalidity: int) -> int:
        """Take every mail above the cursor, oldest first; how many became questions or waiting mails."""
        last = self.cursor(uidvalidity)
        uids = sorted(uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last)
        done = 0
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start:start + FETCH_CHUNK]
            sizes = client.fetch(chunk, ["RFC822.SIZE"])
            small = [uid for uid in chunk if int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0)) <= LARGE]
            fetched: dict[int, Any] = {}
            if small:
                fetched.update(client.fetch(small, ["BODY.PEEK[]"]))
            large = [uid for uid in chunk if uid not in small]
            if large:
                fetched.update(client.fetch(large, [f"BODY.PEEK[]<0.{LARGE}>"]))
            for uid in chunk:
                data = fetched.get(uid, {})
                raw = data.get(b"BODY[]") or data.get(b"BODY[]<0>") or b""
                if self.take_one(uidvalidity, uid, raw):
                    done += 1
                client.add_flags([uid], [b"\\Seen"], silent=True)
            if start + FETCH_CHUNK < len(uids) and not self.hold():
                break  # a long backlog outlasted the lease and another process took over: it goes on
        return done

    def cursor(self, uidvalidity: int) -> int:
        """The last UID taken; a new UIDVALIDITY starts over (mails read before are recognised
        by their Message-ID and not taken twice)."""
        with self.app.app_context():
            try:
                row = db.session.get(MailCursor, self.mailbox.key)
                if row is None:
                    row = MailCursor(mailbox=self.mailbox.key, uidvalidity=uidvalidity, last_uid=0)
                    db.session.add(row)
                elif row.uidvalidity != uidvalidity:
                    log.warning("intake mailbox: UIDVALIDITY changed, reading it again from the start")
                    row.uidvalidity, row.last_uid = uidvalidity, 0
                last = int(row.last_uid)
                db.session.commit()
                return last
            finally:
                db.session.remove()

    def take_one(self, uidvalidity: int, uid: int, raw: bytes) -> bool:
        """One mail in one transaction with the cursor; published after the commit."""
        limits = self.app.extensions["rate_limits"]
        with self.app.app_context():
            session = db.session
            try:
                now = clock.now()
                taken = mail_service.take(session, self.mailbox.key, uidvalidity, uid, raw,
                                          secret=self.app.config["SECRET_KEY"], now=now,
                                          admit=lambda sender: limits.check("EMAIL", client=sender))
                session.execute(update(MailCursor).where(
                    MailCursor.mailbox == self.mailbox.key, MailCursor.uidvalidity == uidvalidity,
                    MailCursor.last_uid < uid).values(last_uid=uid).execution_options(synchronize_session=False))
                if taken is None:
                    session.commit()
                    return False
                row, write = taken
                if write is not None and row.talk_id is not None:
                    talk = session.get(Talk, row.talk_id)
                    box = publish.outbox(session, talk, write, now) if talk is not None else None
                    if box is not None:
                        publish.commit(box)
                    else:
                        session.commit()
                else:
                    session.commit()
                self.taken += 1
                log.info("intake mailbox: mail taken", extra={"status": row.status, "reason": row.reason})
                return True
            except Exception:
                session.rollback()
                raise
            finally:
                db.session.remove()


def _log_out(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # already gone
        pass


def start(app: Flask, socketio: SocketIO) -> MailPoller | None:
    """Start reading the intake mailbox in this server process, if IMAP_URL is set."""
    url = app.config.get("IMAP_URL")
    if not url:
        return None
    poller = app.extensions.get("mail_poller")
    if poller is None:
        poller = app.extensions["mail_poller"] = MailPoller(app, socketio, parse_url(url))
    poller.start()
    return poller
