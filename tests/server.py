"""A real Fragerunde server process for tests and benchmarks, driven only through the public
contract: the flask CLI, the HTTP login form and Socket.IO over WebSocket.

    with Server(async_mode="threading") as srv:      # temp SQLite db, free port
        srv.prepare()                                 # db upgrade, seed, create-user
        srv.start()
        mod = srv.moderator(srv.login())
        aud = srv.audience()
        ack = aud.call("submit", {"text": "…", "client_msg_id": new_msg_id()})
        mod.wait_for(has_question("…"))
        srv.kill9(); srv.start()                      # same port, same database

Deliberately free of `moderation` imports: the server under test runs in its own process.
"""
from __future__ import annotations

import atexit
import contextlib
import html.parser
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import requests
import socketio
from requests.adapters import HTTPAdapter

from tests.forkcli import forked

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
AUDIENCE_COOKIE = "fragerunde_audience"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_msg_id() -> str:
    return uuid.uuid4().hex


def wait_until(pred: Callable[[], object], timeout: float, interval: float = 0.05):
    """Poll pred until it returns something truthy or the deadline passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class ServerError(RuntimeError):
    pass


# The password of every admin a test server's prepare() creates, one per test process: servers
# sharing a database share it too.
PASSWORD = "Srv-" + uuid.uuid4().hex[:16]
# Databases prepared once per test process, by database kind (SQLite or a PostgreSQL server) and the
# admin's name and password (None: no admin): the URL of each
_PREPARED: dict[tuple[str, tuple[str, str] | None], str] = {}
_PREPARING = threading.Lock()


class Server:
    """One server process on a free port; the database outlives restarts."""

    def __init__(self, *, async_mode: str = "eventlet", database_url: str | None = None,
                 env: dict | None = None, port: int | None = None, public_origin: str | None = None,
                 tmp: str | None = None, secret_key: str | None = None, via_cli: bool = False):
        self.tmp = tmp or tempfile.mkdtemp(prefix="fr-server-")
        self.own_tmp = tmp is None
        self.via_cli = via_cli
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.origin = public_origin or self.url
        self.database_url = database_url or f"sqlite:///{self.tmp}/server.sqlite3"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "WERKZEUG_"))}
        self.env.update(
            DATABASE_URL=self.database_url,
            SECRET_KEY=secret_key or "server-test-" + uuid.uuid4().hex,
            PUBLIC_ORIGIN=self.origin,
            RATE_LIMIT_EXEMPT="127.0.0.1",
            ASYNC_MODE=async_mode,
            PYTHONUNBUFFERED="1",
        )
        self.env.pop("REDIS_URL", None)
        self.env.update(env or {})
        self.async_mode = self.env["ASYNC_MODE"]
        self.proc: subprocess.Popen | None = None
        self.log_path = os.path.join(self.tmp, f"server-{self.port}.log")
        self.user = "srv_mod"
        self.password = PASSWORD
        self.starts = 0
        self.clients: list[Live] = []

    # -- the CLI ---------------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 120) -> str:
        """`python -m flask --app wsgi <args>` with this server's environment (tests/forkcli.py)."""
        r = forked.run("flask", ["--app", "wsgi", *args], env=self.env, timeout=timeout)
        if r.returncode != 0:
            raise ServerError(f"flask {' '.join(args[:2])} failed ({r.returncode}): "
                              f"{(r.stderr or r.stdout).strip()[-2000:]}")
        return r.stdout + r.stderr

    def cli_each(self, *commands: Iterable[str], timeout: float = 120) -> str:
        """cli() for each command in turn, stopping at the first that fails."""
        return "".join(self.cli(*command, timeout=timeout) for command in commands)

    def prepare(self, user: bool = True) -> Server:
        """Migrate, seed, and create an admin account (the one login() uses).

        The commands run once per test process, database kind and admin; later servers start from
        a copy of that database (a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL)."""
        admin = (self.user, self.password) if user else None
        sqlite = self.database_url.startswith("sqlite:///")
        key = ("sqlite" if sqlite else _pg_server(self.database_url), admin)
        with _PREPARING:  # servers prepared in threads at once build the template once
            if key not in _PREPARED:
                template = Server(database_url=None if sqlite else _pg_template(self.database_url))
                atexit.register(shutil.rmtree, template.tmp, True)
                template.user, template.password = self.user, self.password
                _PREPARED[key] = template._prepare_by_cli(user).database_url
        if sqlite:
            path = _PREPARED[key].removeprefix("sqlite:///")
            target = self.database_url.removeprefix("sqlite:///")
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(target + suffix)
                if os.path.exists(path + suffix):
                    shutil.copy(path + suffix, target + suffix)
        else:
            _pg_copy(_PREPARED[key], self.database_url)
        return self

    def _prepare_by_cli(self, user: bool) -> Server:
        admin = [("create-user", self.user, "--password", self.password, "--role", "admin")] if user else []
        self.cli_each(("db", "upgrade"), ("seed",), *admin)
        return self

    def podium_token(self, slug: str = "demo") -> str:
        out = self.cli("podium-url", slug)
        m = re.search(r"/podium/([A-Za-z0-9_\-.~%]+)", out)
        if not m:
            raise ServerError(f"podium-url printed no link: {out[:300]}")
        return urllib.parse.unquote(m.group(1))

    # -- the process -----------------------------------------------------------------------------
    def command(self) -> list[str]:
        """`python wsgi.py`, what `flask serve` execs into (one import of the app instead of two);
        `via_cli=True` goes through the documented command itself."""
        if self.via_cli:
            return [PYTHON, "-m", "flask", "--app", "wsgi", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        return [PYTHON, "wsgi.py", "--host", "127.0.0.1", "--port", str(self.port)]

    def start(self, wait: float = 45.0) -> Server:
        if self.running:
            raise ServerError("already running")
        log = open(self.log_path, "ab")
        log.write(f"\n=== start #{self.starts + 1} ===\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            self.command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        log.close()
        self.starts += 1
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"server exited with {self.proc.returncode}: {self.log_tail()}")
            if healthy(self.url):
                return self
            time.sleep(0.1)
        self.kill9()
        raise ServerError(f"server not healthy within {wait:.0f} s: {self.log_tail()}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def kill9(self) -> None:
        """SIGKILL the whole process group: no shutdown code of the server runs."""
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def restart(self, kill: bool = False, wait: float = 45.0) -> Server:
        self.kill9() if kill else self.stop()
        return self.start(wait)

    def log_text(self) -> str:
        with contextlib.suppress(OSError):
            return Path(self.log_path).read_text(errors="replace")
        return ""

    def log_tail(self, n: int = 3000) -> str:
        return self.log_text()[-n:]

    def close(self) -> None:
        close_all(self.clients)
        self.stop()
        if self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- clients ---------------------------------------------------------------------------------
    def login(self, user: str | None = None, password: str | None = None) -> requests.Session:
        return login(self, user, password)

    def audience(self, slug: str = "demo", client_id: str | None = None, **kw) -> Live:
        return Live(self, "/audience", {"talk": slug, "client_id": client_id or self.audience_id(slug)}, **kw)

    def audience_id(self, slug: str = "demo", headers: dict | None = None) -> str:
        """A server-issued audience id, as a browser gets it: the cookie set by the question page."""
        r = requests.get(f"{self.url}/t/{slug}", headers=headers, timeout=10)
        if r.status_code != 200 or AUDIENCE_COOKIE not in r.cookies:
            raise ServerError(f"GET /t/{slug} answered {r.status_code} without an audience id")
        return r.cookies[AUDIENCE_COOKIE]

    def moderator(self, session: requests.Session, slug: str = "demo", **kw) -> Live:
        return Live(self, "/moderator", {"talk": slug}, cookies=cookie_header(session), **kw)

    def podium(self, token: str, **kw) -> Live:
        return Live(self, "/podium", {"token": token}, **kw)


class _FormParser(html.parser.HTMLParser):
    """The first POST form with inputs on a page."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.current: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.current = {"method": (a.get("method") or "get").lower(), "action": a.get("action"), "inputs": []}
        elif tag == "input" and self.current is not None:
            self.current["inputs"].append(a)

    def handle_endtag(self, tag):
        if tag == "form" and self.current is not None:
            self.forms.append(self.current)
            self.current = None


class _Fields(html.parser.HTMLParser):
    """The fields of one form, as a browser would send them unchanged."""

    def __init__(self, action: str):
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = (a.get("action") or "") == self.action
        elif not self.inside:
            return
        elif tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind not in ("checkbox", "radio") or "checked" in a:
                self.fields.append((a["name"], a.get("value") or ("y" if kind == "checkbox" else "")))
        elif tag == "select":
            self.select = a.get("name")
        elif tag == "option" and self.select and "selected" in a:
            self.fields.append((self.select, a.get("value") or ""))
        elif tag == "textarea":
            self.textarea = a.get("name")
            self.fields.append((self.textarea or "", ""))

    def handle_data(self, data):
        if self.inside and self.textarea:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def form_fields(page: str, action: str) -> list[tuple[str, str]]:
    """The fields of the form posting to `action` on a page (checked boxes, selected options)."""
    parser = _Fields(action)
    parser.feed(page)
    return parser.fields


def login(server: Server, user: str | None = None, password: str | None = None,
          session: requests.Session | None = None) -> requests.Session:
    """Log in through the HTML form at /login as a browser would, CSRF token included."""
    s = session or requests.Session()
    r = s.get(server.url + "/login", timeout=10)
    if r.status_code != 200:
        raise ServerError(f"GET /login answered {r.status_code}")
    parser = _FormParser()
    parser.feed(r.text)
    forms = [f for f in parser.forms if f["method"] == "post" and any(
        (i.get("type") or "").lower() == "password" for i in f["inputs"])]
    if not forms:
        raise ServerError("no POST form with a password field on /login")
    form = forms[0]
    data, text_done = {}, False
    for a in form["inputs"]:
        name, typ = a.get("name"), (a.get("type") or "text").lower()
        if not name:
            continue
        if typ == "password":
            data[name] = password or server.password
        elif typ in ("text", "email") and not text_done:
            data[name] = user or server.user
            text_done = True
        elif typ in ("hidden", "submit"):
            data[name] = a.get("value", "")
    action = urllib.parse.urljoin(server.url + "/login", form["action"] or "/login")
    r = s.post(action, data=data, headers={"Origin": server.origin, "Referer": server.url + "/login"},
               timeout=10, allow_redirects=False)
    if r.status_code not in (302, 303):
        raise ServerError(f"POST /login answered {r.status_code}, not a redirect")
    return s


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


# -- Socket.IO clients ---------------------------------------------------------------------------
SEQ_EVENTS = ("question", "seq", "talk", "backstage")
REORDER_SECONDS = 0.5  # static/js/live.js REORDER_MS: how long a change past a missing one waits for it


class Live:
    """A python-socketio client on one namespace, over WebSocket only unless told otherwise.

    It records every event (for wait_for) and folds snapshot + question events into `state`
    (id -> question) the way a screen does: `seq` must rise by one; a change numbered past the next
    one waits REORDER_SECONDS for the ones before it (`reordered` counts those that came), a gap
    still open then triggers a `resync`, and events that arrive while a snapshot is on its way
    are replayed on top of it.
    """

    def __init__(self, server: Server, namespace: str, auth: dict, *, cookies: str | None = None,
                 origin: str | None = None, reconnection: bool = False, resync_on_gap: bool = True,
                 connect: bool = True, wait_timeout: float = 15, headers: dict | None = None,
                 transports: tuple[str, ...] = ("websocket",), http_session: requests.Session | None = None,
                 websocket_options: dict | None = None):
        self.server = server
        self.transports = list(transports)
        self.ns = namespace
        self.auth = auth
        self.cookies = cookies
        self.headers = headers or {}
        self.origin = origin or server.origin
        self.resync_on_gap = resync_on_gap
        self.cv = threading.Condition()
        self.events: list[tuple[float, str, object]] = []
        self.state: dict[int, dict] = {}
        self.seq: int | None = None
        self.snapshots = 0
        self.resyncs = 0
        self.gaps = 0
        self.reordered = 0
        self._ahead: list[tuple[str, dict]] = []
        self._ahead_timer: threading.Timer | None = None
        self._ahead_turn = 0
        self.duplicate_ids: list[int] = []
        self.connects = 0
        self.disconnects = 0
        self._resync_pending = True        # until the first snapshot
        self._held: list[tuple[str, dict]] = []
        # websocket-client sends its own Origin: set it there, never in headers (it would be doubled)
        self.sio = socketio.Client(reconnection=reconnection, reconnection_delay=0.5,
                                   reconnection_delay_max=2, randomization_factor=0.5, http_session=http_session,
                                   websocket_extra_options={"origin": self.origin, **(websocket_options or {})})
        self.sio.on("*", self._on_event, namespace=namespace)
        self.sio.on("connect", self._on_connect, namespace=namespace)
        self.sio.on("disconnect", self._on_disconnect, namespace=namespace)
        server.clients.append(self)
        if connect:
            self.connect(wait_timeout)

    def connect(self, wait_timeout: float = 15) -> None:
        headers = {"Cookie": self.cookies} if self.cookies else {}
        headers.update(self.headers)
        self.sio.connect(self.server.url, namespaces=[self.ns], auth=self.auth, headers=headers,
                         transports=self.transports, wait_timeout=wait_timeout)

    @property
    def connected(self) -> bool:
        return self.sio.connected and self.ns in self.sio.namespaces

    def _on_connect(self, *args) -> None:
        with self.cv:
            self.connects += 1
            self.cv.notify_all()

    def _on_disconnect(self, *args) -> None:
        with self.cv:
            self.disconnects += 1
            # the next connect brings a snapshot (it may even arrive before the connect event)
            self._resync_pending = True
            self._held = []
            self._drop_ahead()
            self.cv.notify_all()

    def _on_event(self, event: str, data: object = None) -> None:
        with self.cv:
            self.events.append((time.perf_counter(), event, data))
            if isinstance(data, dict):
                if event == "snapshot":
                    self._apply_snapshot(data)
                elif event in SEQ_EVENTS and isinstance(data.get("seq"), int):
                    if self._resync_pending:
                        self._held.append((event, data))
                    else:
                        self._apply(event, data)
                elif event == "votes":
                    for key, counts in (data.get("counts") or {}).items():
                        q = self.state.get(int(key))
                        if q is not None and isinstance(counts, dict):
                            q.update({k: v for k, v in counts.items() if k in ("upvotes", "votes")})
            self.cv.notify_all()

    def _apply_snapshot(self, data: dict) -> None:
        questions = [q for q in data.get("questions", []) if isinstance(q, dict)]
        ids = [q.get("id") for q in questions]
        if len(ids) != len(set(ids)):
            self.duplicate_ids.extend(i for i in set(ids) if ids.count(i) > 1)
        self.state = {q["id"]: dict(q) for q in questions}
        self.seq = data.get("seq")
        self.snapshots += 1
        self._resync_pending = False
        held, self._held = sorted(self._held + self._ahead, key=lambda e: e[1]["seq"]), []
        self._drop_ahead()
        for event, item in held:
            if not self._resync_pending:
                self._apply(event, item)

    def _apply(self, event: str, data: dict) -> None:
        seq = data["seq"]
        if self.seq is not None and seq <= self.seq - 1:
            return  # already in the snapshot this client holds
        if self.seq is not None and seq > self.seq + 1:
            self._ahead.append((event, data))
            if self._ahead_timer is None:
                self._ahead_timer = threading.Timer(REORDER_SECONDS, self._gap_stayed, (self._ahead_turn,))
                self._ahead_timer.daemon = True
                self._ahead_timer.start()
            return
        self._fold(event, data)
        self._ahead.sort(key=lambda e: e[1]["seq"])
        while self._ahead and self.seq is not None and self._ahead[0][1]["seq"] <= self.seq + 1:
            self.reordered += 1
            self._fold(*self._ahead.pop(0))
        if not self._ahead:
            self._drop_ahead()

    def _fold(self, event: str, data: dict) -> None:
        if event == "question" and isinstance(data.get("question"), dict):
            q = data["question"]
            self.state[q["id"]] = dict(q)
        self.seq = data["seq"] if self.seq is None else max(self.seq, data["seq"])

    def _gap_stayed(self, turn: int) -> None:
        """The numbers before the held changes did not come in time: a gap."""
        with self.cv:
            if turn != self._ahead_turn or not self._ahead:
                return
            ahead = sorted(self._ahead, key=lambda e: e[1]["seq"])
            self._drop_ahead()
            self.gaps += 1
            if self.resync_on_gap:
                self._request_resync()
                self._held.extend(ahead)
            else:
                for event, data in ahead:
                    self._fold(event, data)
            self.cv.notify_all()

    def _drop_ahead(self) -> None:
        self._ahead = []
        if self._ahead_timer is not None:
            self._ahead_timer.cancel()
            self._ahead_timer = None
        self._ahead_turn += 1

    def _request_resync(self, attempt: int = 1) -> None:
        self._resync_pending = True
        self.resyncs += 1

        def answered(ack: object = None) -> None:
            """Refused as too frequent: asked again after 5, 10, … 60 s, as live.js does."""
            if isinstance(ack, dict) and ack.get("error") == "rate_limited":
                timer = threading.Timer(min(60, 5 * attempt), self._resync_again, (attempt + 1,))
                timer.daemon = True
                timer.start()

        # never sio.call() here: this runs on the client's read thread, which would read the ack
        with contextlib.suppress(Exception):
            self.sio.emit("resync", {}, namespace=self.ns, callback=answered)

    def _resync_again(self, attempt: int) -> None:
        with self.cv:
            if self._resync_pending and self.connected:
                self._request_resync(attempt)

    def resync(self) -> None:
        with self.cv:
            self._request_resync()

    def call(self, event: str, data: dict | None = None, timeout: float = 15):
        """sio.call(), except that a disconnect ends the wait at once (DisconnectedError): the
        acknowledgement of an event sent on a connection that went away never comes, and
        python-socketio would wait out the whole timeout for it."""
        answers: list[tuple] = []

        def acknowledged(*args) -> None:
            with self.cv:
                answers.append(args)
                self.cv.notify_all()

        with self.cv:
            disconnects = self.disconnects
        self.sio.emit(event, data if data is not None else {}, namespace=self.ns, callback=acknowledged)
        with self.cv:
            if not self.cv.wait_for(lambda: answers or self.disconnects != disconnects, timeout):
                raise socketio.exceptions.TimeoutError()
        if not answers:
            raise socketio.exceptions.DisconnectedError(f"disconnected before {event!r} was acknowledged")
        args = answers[0]
        return args[0] if len(args) == 1 else args or None

    def emit(self, event: str, data: dict, callback: Callable | None = None) -> None:
        self.sio.emit(event, data, namespace=self.ns, callback=callback)

    def wait_for(self, pred: Callable[[str, object], bool], timeout: float = 10.0, start: int = 0):
        """The first recorded event (t, name, data) from index `start` with pred(name, data), or None."""
        deadline = time.monotonic() + timeout
        seen = start
        with self.cv:
            while True:
                for ev in self.events[seen:]:
                    if pred(ev[1], ev[2]):
                        return ev
                seen = max(seen, len(self.events))
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def wait_state(self, pred: Callable[[Live], bool], timeout: float = 10.0) -> bool:
        """Wait until pred(self) holds (checked under the lock after every event)."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while not pred(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cv.wait(min(left, 0.5))
            return True

    def view(self) -> dict[int, tuple]:
        """The folded state, reduced to what a snapshot must agree on."""
        with self.cv:
            return {i: (q.get("status"), q.get("text"), q.get("version")) for i, q in self.state.items()}

    def close(self) -> None:
        """Disconnect, and stop reconnection attempts if the client is between connections."""
        self.sio.reconnection = False
        with contextlib.suppress(Exception):
            self.sio.shutdown()


def questions_in(data: object) -> list[dict]:
    if not isinstance(data, dict):
        return []
    out = []
    if isinstance(data.get("question"), dict):
        out.append(data["question"])
    if isinstance(data.get("questions"), list):
        out.extend(q for q in data["questions"] if isinstance(q, dict))
    return out


def has_question(text: str | None = None, status: str | None = None, qid: int | None = None):
    def pred(name, data):
        return any((text is None or q.get("text") == text) and (status is None or q.get("status") == status)
                   and (qid is None or q.get("id") == qid) for q in questions_in(data))
    return pred


def question_crosses(sender: Live, moderator: Live, audiences: Iterable[Live], text: str) -> int:
    """sender asks, the moderator sees it pending and approves, every audience sees it approved
    (each on whichever process holds it); returns the question's id."""
    ack = sender.call("submit", {"text": text, "client_msg_id": new_msg_id()})
    assert ok(ack), ack
    qid = ack["question"]["id"]
    assert moderator.wait_for(has_question(text, "pending", qid), 10), "the moderator missed a question"
    assert ok(moderator.call("approve", {"question_id": qid}))
    for audience in audiences:
        assert audience.wait_for(has_question(text, "approved", qid), 10), f"an approval never reached {audience.ns}"
    return qid


def ok(ack: object) -> bool:
    return isinstance(ack, dict) and ack.get("ok") is True


def fresh_snapshot(server: Server, namespace: str = "/audience", session: requests.Session | None = None,
                   token: str | None = None) -> dict:
    """Connect a new client, take the snapshot it gets on connect, disconnect."""
    if namespace == "/moderator":
        client = server.moderator(session or server.login())
    elif namespace == "/podium":
        client = server.podium(token or server.podium_token())
    else:
        client = server.audience()
    try:
        ev = client.wait_for(lambda n, d: n == "snapshot", timeout=15)
        if ev is None:
            raise ServerError(f"no snapshot on {namespace} within 15 s")
        return ev[2]
    finally:
        client.close()


def close_all(clients: Iterable[Live]) -> None:
    """Close clients side by side: a WebSocket close can wait up to 3 s for the server's answer."""
    clients = list(clients)
    threads = [threading.Thread(target=c.close, daemon=True) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)


def healthy(url: str, timeout: float = 1) -> bool:
    """Whether the server at url answers its health check now."""
    with contextlib.suppress(requests.RequestException):
        return requests.get(url + "/healthz", timeout=timeout).status_code == 200
    return False


def each_at_once(fn: Callable[[str], object], names: Iterable[str]) -> dict[str, object]:
    """fn(name) for every name at once, in threads: what each returned, or the exception it raised
    (for tests that mostly wait, run once for every async mode; each mode's test raises its own)."""
    names = list(names)

    def outcome(name: str) -> object:
        try:
            return fn(name)
        except BaseException as failure:  # handed to the test of that name
            return failure
    with ThreadPoolExecutor(len(names)) as pool:
        return dict(zip(names, pool.map(outcome, names)))


def returned(found: object) -> object:
    """One name's outcome from each_at_once: what fn returned, or its exception raised again here."""
    if isinstance(found, BaseException):
        raise found
    return found


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


# -- PostgreSQL: a database of its own per test --------------------------------------------------
def _pg_dsn(url: str) -> str:
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


def _pg_server(url: str) -> str:
    """The PostgreSQL server of a database URL, without the database."""
    return _pg_dsn(url).rsplit("/", 1)[0]


def _pg_template(url: str) -> str:
    """A new, empty database beside url's, dropped when the test process ends."""
    import psycopg

    name = f"fr_template_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_pg_server(url) + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    atexit.register(_pg_drop, _pg_server(url), name)
    return f"{_pg_server(url)}/{name}"


def _pg_drop(server: str, name: str) -> None:
    import psycopg

    with contextlib.suppress(Exception), psycopg.connect(server + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_copy(template_url: str, target_url: str) -> None:
    """Make target_url's database a copy of template_url's (nobody may be connected to either)."""
    import psycopg

    template, target = _pg_dsn(template_url).rsplit("/", 1)[1], _pg_dsn(target_url).rsplit("/", 1)[1]
    with psycopg.connect(_pg_server(target_url) + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{template}"')


@contextlib.contextmanager
def postgres_database(base_url: str, prefix: str = "test_server"):
    """CREATE DATABASE <prefix>_<random> next to base_url's database; yield its URL; drop it.

    Every test process (and every checkout running tests at once) works in databases of its own.
    """
    import psycopg

    dsn = _pg_dsn(base_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(dsn)
    url = urllib.parse.urlunsplit(parts._replace(path="/" + name))
    try:
        yield url
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            with contextlib.suppress(Exception):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the deployment in deploy/: Debian's nginx in front of server processes -----------------------
NGINX = "/usr/sbin/nginx"
SITE = ROOT / "deploy" / "nginx-fragerunde.conf"


class SourceAddressAdapter(HTTPAdapter):
    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        return super().init_poolmanager(*args, **kwargs)


def session_from(source: str) -> requests.Session:
    s = requests.Session()
    adapter = SourceAddressAdapter(source)
    s.mount("http://", adapter)
    return s


class Nginx:
    """Debian's nginx with its own prefix, pid, logs and temp paths in a temp dir, in front of
    the given ports, with the shipped site configuration."""

    def __init__(self, tmp: Path, upstream_ports: tuple[int, int], *, worker_connections: int = 2048,
                 workers: str = "1"):
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        site = SITE.read_text()
        replacements = [("listen 80;", f"listen 127.0.0.1:{self.port};"), ("listen [::]:80;", ""),
                        ("server 127.0.0.1:5001;", f"server 127.0.0.1:{upstream_ports[0]};"),
                        ("server 127.0.0.1:5002;", f"server 127.0.0.1:{upstream_ports[1]};")]
        for old, new in replacements:
            assert site.count(old) == 1, f"{old!r} not once in {SITE.name}"
            site = site.replace(old, new)
        (tmp / "site.conf").write_text(site)
        user = "user root;\n" if os.geteuid() == 0 else ""
        (tmp / "nginx.conf").write_text(f"""{user}worker_processes {workers};
worker_rlimit_nofile {2 * worker_connections + 64};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections {worker_connections}; }}
http {{
    log_format upstream '$remote_addr $upstream_addr $request_uri $status';
    access_log {tmp}/access.log upstream;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
""")
        self.proc: subprocess.Popen | None = None

    def start(self) -> Nginx:
        conf = str(self.tmp / "nginx.conf")
        check = subprocess.run([NGINX, "-t", "-p", str(self.tmp), "-c", conf], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen([NGINX, "-p", str(self.tmp), "-c", conf, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        up = wait_until(lambda: healthy(self.url, timeout=2), 15)
        assert up, f"nginx did not answer: {self.error_log()}"
        return self

    def upstream_of(self, source: str) -> str:
        """The upstream address nginx sends requests from this source address to."""
        with session_from(source) as s:
            marker = uuid.uuid4().hex
            assert s.get(f"{self.url}/healthz?probe={marker}", timeout=5).status_code == 200
        line = wait_until(lambda: next((ln for ln in self.access_log().splitlines() if marker in ln), None), 5)
        assert line and line.startswith(source + " "), line
        return line.split()[1]

    def access_log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.tmp / "access.log").read_text()
        return ""

    def error_log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.tmp / "error.log").read_text()[-2000:]
        return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def through(front: Nginx, source: str, server: Server) -> SimpleNamespace:
    """What Live and login() need, pointing at nginx, as a client from this source address."""
    return SimpleNamespace(url=front.url, origin=front.url, clients=server.clients, user=server.user,
                           password=server.password)


def websocket_from(front: Nginx, source: str) -> dict:
    sock = socket.create_connection(("127.0.0.1", front.port), timeout=10, source_address=(source, 0))
    return {"socket": sock}
