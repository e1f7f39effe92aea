"""A real IMAP server for tests: Debian's Dovecot (dovecot-imapd), started per test in a
temporary directory on a free loopback port, one passwd-file account, plain login (no TLS on
loopback). Mails go in with IMAP APPEND, as a mail server would deliver them.

    with Dovecot() as imap:
        imap.append(raw_bytes)
        imap.url          # imap://fragen%40example.org:…@127.0.0.1:PORT/INBOX, for IMAP_URL
        imap.seen()       # UIDs flagged \\Seen

Deliberately free of `moderation` imports.
"""
from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.helpers import IN_CI
from tests.server import free_port

DOVECOT = "/usr/sbin/dovecot"
USER = "fragen@example.org"


def require_dovecot() -> None:
    if not os.access(DOVECOT, os.X_OK):
        if IN_CI:
            pytest.fail("Dovecot (dovecot-imapd) is missing in CI: .ci/run installs it")
        pytest.skip("Dovecot (dovecot-imapd) not installed: IMAP tests skipped")


def question_mail(text: str, *, to: str = "fragen+demo@example.org", subject: str = "Frage",
                  sender: str = "erika@example.org", message_id: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@example.org>"
    message.set_content(text)
    return bytes(message)


class Dovecot:
    def __init__(self) -> None:
        require_dovecot()
        # Not under pytest's tmp_path: its parents are closed to the mail user Dovecot runs as.
        self.root = Path(tempfile.mkdtemp(prefix="fr-dovecot-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.password = uuid.uuid4().hex
        if os.getuid() == 0:  # Dovecot never reads mail as root: as its own user then
            account = pwd.getpwnam("dovecot")
            uid, gid = account.pw_uid, account.pw_gid
        else:
            uid, gid = os.getuid(), os.getgid()
        for name in ("run", "state", "mail", "home"):
            (self.root / name).mkdir()
        for name in ("mail", "home"):
            os.chown(self.root / name, uid, gid)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{self.password}\n")
        (self.root / "dovecot.conf").write_text(f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
instance_name = fr-test-{self.port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{self.root}/mail/%u
first_valid_uid = {min(uid, 100) if uid else 100}
default_internal_user = {"dovecot" if os.getuid() == 0 else pwd.getpwuid(uid).pw_name}
default_login_user = {"dovenull" if os.getuid() == 0 else pwd.getpwuid(uid).pw_name}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15
        while True:
            try:
                with self.client():
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Dovecot did not start: {self.log()}") from None
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"imap://{quote(USER, safe='')}:{self.password}@127.0.0.1:{self.port}/INBOX"

    @contextlib.contextmanager
    def client(self):
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            imap.login(USER, self.password)
            imap.select("INBOX")
            yield imap
        finally:
            with contextlib.suppress(Exception):
                imap.logout()

    def append(self, *mails: bytes) -> None:
        with self.client() as imap:
            for raw in mails:
                status, _ = imap.append("INBOX", None, None, raw)
                assert status == "OK"

    def uids(self, criterion: str = "ALL") -> list[int]:
        with self.client() as imap:
            _status, data = imap.uid("SEARCH", None, criterion)
            return [int(x) for x in data[0].split()]

    def seen(self) -> list[int]:
        return self.uids("SEEN")

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "dovecot.log").read_text()[-3000:]
        return ""

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
