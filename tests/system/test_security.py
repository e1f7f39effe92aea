"""Issue 5, security: headers, CSRF and Origin, socket authorisation, input schemas, abuse limits
and the audit log. Every test plays an attack or a bad input and checks that it is refused with
a clear error and that nothing was stored wrongly."""
from __future__ import annotations

import csv
import html.parser
import io
import json
import re
import uuid

import pytest
from sqlalchemy import func, select

from moderation.extensions import db, socketio
from moderation.models import AuditEntry, Question, Talk, User, Vote
from moderation.services import accounts, talks
from tests.helpers import PASSWORD, events, require_or_skip, signed_id, submit

PUBLIC = "https://fragen.example.org"
EVIL = "http://evil.example"
OFFICE = "203.0.113.7"
ERROR_CODES = {"closed", "empty", "too_long", "rate_limited", "not_found", "forbidden", "conflict", "invalid"}
MODERATOR_EVENTS = ("upvote", "approve", "reject", "forward", "answered", "edit", "merge", "undo", "talk_state")


# --- helpers ---------------------------------------------------------------------------------

def prepare(app, clock, *users: tuple[str, str]) -> None:
    """Seed data and accounts for an app made with make_app (the fixtures use `app`)."""
    with app.app_context():
        talks.seed(db.session, clock())
        for name, role in users:
            accounts.create_or_update(db.session, name, PASSWORD, role)
        db.session.commit()


def http_from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def audience_from(app, address: str, client_id: str | None = None, slug: str = "demo"):
    """An audience socket whose requests come from `address` (through a Flask test client)."""
    return socketio.test_client(app, namespace="/audience", flask_test_client=http_from(app, address),
                                auth={"talk": slug, "client_id": client_id or signed_id(app)})


def no_submit_limit(app) -> None:
    """Every attempt counts against the limits, refused ones too: room for tests of many inputs."""
    app.config["LIMIT_SUBMIT_PER_CLIENT"] = app.config["LIMIT_SUBMIT_PER_ADDRESS"] = "1000 per minute"
    app.config["LIMIT_VOTE_PER_CLIENT"] = "1000 per minute"


def mod(client, event: str, data=None) -> dict:
    return client.emit(event, {} if data is None else data, namespace="/moderator", callback=True)


def refused(ack: dict, code: str) -> None:
    assert ack["ok"] is False, ack
    assert ack["error"] == code, ack
    assert isinstance(ack["message"], str) and ack["message"], ack


def count(app, model, *where) -> int:
    with app.app_context():
        value = db.session.scalar(select(func.count()).select_from(model).where(*where))
        db.session.rollback()
        return value


def question(app, qid: int) -> Question:
    with app.app_context():
        q = db.session.get(Question, qid)
        db.session.expunge(q)
        db.session.rollback()
        return q


def csrf_token(page: bytes) -> str:
    tag = re.search(rb'<input[^>]*name="csrf_token"[^>]*>', page)
    assert tag, "no csrf_token field on the page"
    return re.search(rb'value="([^"]+)"', tag.group(0)).group(1).decode()


def csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request.path}: no Content-Security-Policy"
    policy = {}
    for directive in filter(None, (d.strip() for d in header.split(";"))):
        name, *values = directive.split()
        policy[name] = values
    return policy


def podium_token(app, slug: str = "demo") -> str:
    with app.app_context():
        return talks.by_slug(db.session, slug).podium_token


@pytest.fixture
def pages(app, seeded, login, admin):
    """Every kind of page, each with the client allowed to see it."""
    staff = login()
    anyone = app.test_client()
    return [
        (anyone, "/"), (anyone, "/t/demo"), (anyone, "/t/demo?lang=en"), (anyone, "/login"),
        (anyone, "/datenschutz"), (anyone, "/t/gibt-es-nicht"), (anyone, f"/podium/{podium_token(app)}"),
        (staff, "/moderate/"), (staff, "/moderate/demo"), (admin, "/admin/audit/demo"),
    ]


# --- headers ---------------------------------------------------------------------------------

def test_every_response_carries_a_strict_policy(app, pages):
    responses = [client.get(path) for client, path in pages]
    responses += [pages[0][0].get("/healthz"), pages[0][0].get("/static/css/app.css"),
                  pages[0][0].post("/login", data={"username": "x", "password": "falsch-falsch"})]
    nonces = set()
    for response in responses:
        path = response.request.path
        policy = csp(response)
        header = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in header and "unsafe-eval" not in header and "*" not in header, path
        assert policy["default-src"] == ["'none'"], path
        script = policy["script-src"]
        assert "'self'" in script and any(v.startswith("'nonce-") for v in script), (path, script)
        nonces.update(v for v in script if v.startswith("'nonce-"))
        assert policy["connect-src"] == ["'self'"], (path, policy["connect-src"])
        assert policy["frame-ancestors"] == ["'none'"], path
        assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'self'"], path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin"), path
        assert response.headers["X-Frame-Options"] == "DENY", path
    assert len(nonces) == len(responses), "a nonce was used twice"


def test_connect_src_names_the_public_origin_and_its_websocket(make_app, clock):
    for origin, socket_origin in ((PUBLIC, "wss://fragen.example.org"),
                                  ("http://fragen.intern:8080", "ws://fragen.intern:8080")):
        app = make_app(PUBLIC_ORIGIN=origin)
        prepare(app, clock)
        policy = csp(app.test_client().get("/t/demo"))
        assert policy["connect-src"] == ["'self'", origin, socket_origin]


def test_only_the_podium_may_be_framed_and_only_where_configured(make_app, clock):
    app = make_app(PODIUM_FRAME_ANCESTORS="https://studio.example")
    prepare(app, clock)
    client = app.test_client()
    podium = client.get(f"/podium/{podium_token(app)}")
    assert csp(podium)["frame-ancestors"] == ["https://studio.example"]
    assert "X-Frame-Options" not in podium.headers
    for path in ("/", "/t/demo", "/login", "/moderate/"):
        response = client.get(path)
        assert csp(response)["frame-ancestors"] == ["'none'"], path
        assert response.headers["X-Frame-Options"] == "DENY", path


def test_podium_is_not_framable_by_default(app, seeded):
    response = app.test_client().get(f"/podium/{podium_token(app)}")
    assert csp(response)["frame-ancestors"] == ["'none'"]


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_session_cookie_is_httponly_and_samesite_lax(app, seeded, moderator_user):
    login = app.test_client().post("/login", data={"username": "mod", "password": PASSWORD})
    assert login.status_code == 303
    form = app.test_client().post("/t/demo/questions", data={"text": "Cookie?", "client_msg_id": uuid.uuid4().hex})
    assert form.status_code == 303
    for cookie in (session_cookie(login), session_cookie(form)):
        attributes = [a.strip().lower() for a in cookie.split(";")]
        assert "httponly" in attributes and "samesite=lax" in attributes, cookie
        assert "secure" not in attributes, "plain http in development: a Secure cookie would never come back"


def test_session_cookie_is_secure_behind_https(make_app, clock, monkeypatch):
    monkeypatch.setenv("PUBLIC_ORIGIN", PUBLIC)
    app = make_app(PUBLIC_ORIGIN=PUBLIC)
    prepare(app, clock, ("mod", "moderator"))
    response = app.test_client().post("/login", data={"username": "mod", "password": PASSWORD},
                                      base_url=PUBLIC, headers={"Origin": PUBLIC})
    assert response.status_code == 303
    attributes = [a.strip().lower() for a in session_cookie(response).split(";")]
    assert {"secure", "httponly", "samesite=lax"} <= set(attributes)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


class PageParts(html.parser.HTMLParser):
    """Scripts, inline styles and handlers, and every address the page loads by itself."""

    def __init__(self):
        super().__init__()
        self.scripts: list[dict] = []
        self.inline: list[str] = []
        self.loads: list[str] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name == "style" or name.startswith("on"):
                self.inline.append(f"<{tag} {name}={value!r}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.inline.append(f"<{tag} {name}={value!r}>")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            self._script = {"attrs": attrs, "body": ""}
            self.scripts.append(self._script)
        if tag in ("script", "img", "iframe", "audio", "video", "source", "embed") and attrs.get("src"):
            self.loads.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.loads.append(attrs["href"])
        if tag == "object" and attrs.get("data"):
            self.loads.append(attrs["data"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script["body"] += data


def test_pages_have_no_inline_code_and_load_nothing_from_elsewhere(app, pages):
    for client, path in pages:
        response = client.get(path)
        assert response.mimetype == "text/html", path
        parts = PageParts()
        parts.feed(response.get_data(as_text=True))
        assert parts.inline == [], (path, parts.inline)
        for script in parts.scripts:
            if script["attrs"].get("src"):
                assert not script["body"].strip(), (path, script)
            else:
                assert script["attrs"].get("type") == "application/json", (path, script)
                json.loads(script["body"])
        for address in parts.loads:
            assert (address.startswith("/") and not address.startswith("//")) or address.startswith("data:"), \
                (path, address)


# --- CSRF and Origin of form posts -----------------------------------------------------------

def test_forms_without_a_csrf_token_are_refused(make_app, clock):
    app = make_app(WTF_CSRF_ENABLED=True)
    prepare(app, clock, ("mod", "moderator"))
    client = app.test_client()

    refused_login = client.post("/login", data={"username": "mod", "password": PASSWORD})
    assert refused_login.status_code == 400
    assert "Seite neu" in refused_login.get_data(as_text=True)
    assert client.get("/moderate/").status_code == 302, "logged in without a token"

    ok = client.post("/login", data={"username": "mod", "password": PASSWORD,
                                     "csrf_token": csrf_token(client.get("/login").data)})
    assert ok.status_code == 303
    assert client.get("/moderate/").status_code == 200

    assert client.post("/logout").status_code == 400
    assert client.get("/moderate/").status_code == 200, "a forged logout went through"
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    out = client.post("/logout", data={"csrf_token": csrf_token(client.get("/moderate/").data)})
    assert out.status_code == 303
    assert client.get("/moderate/").status_code == 302

    audience = app.test_client()
    form = {"text": "Ohne Token?", "client_msg_id": uuid.uuid4().hex}
    assert audience.post("/t/demo/questions", data=form).status_code == 400
    other_session = csrf_token(app.test_client().get("/t/demo").data)
    assert audience.post("/t/demo/questions", data=form | {"csrf_token": other_session}).status_code == 400
    assert count(app, Question) == 0
    token = csrf_token(audience.get("/t/demo").data)
    assert audience.post("/t/demo/questions", data=form | {"csrf_token": token}).status_code == 303
    assert count(app, Question) == 1


def test_form_posts_from_another_origin_are_refused(make_app, clock):
    app = make_app(PUBLIC_ORIGIN=PUBLIC)
    prepare(app, clock, ("mod", "moderator"))
    client = app.test_client()
    form = {"text": "Von woanders", "client_msg_id": uuid.uuid4().hex}
    for origin in (EVIL, "null", "http://localhost", PUBLIC + ".evil.example"):
        response = client.post("/t/demo/questions", data=form, headers={"Origin": origin})
        assert response.status_code == 403, origin
        assert client.post("/login", data={"username": "mod", "password": PASSWORD},
                           headers={"Origin": origin}).status_code == 403, origin
    assert count(app, Question) == 0
    assert client.get("/moderate/").status_code == 302
    assert client.post("/t/demo/questions", data=form, headers={"Origin": PUBLIC}).status_code == 303
    assert count(app, Question) == 1


def test_login_never_redirects_to_another_site(app, seeded, moderator_user):
    for target in ("//evil.example", "/\t/evil.example", "/\\evil.example", "https://evil.example/",
                   "/%0a/evil.example", " //evil.example", "javascript:alert(1)"):
        response = app.test_client().post("/login", query_string={"next": target},
                                          data={"username": "mod", "password": PASSWORD})
        assert response.status_code == 303
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")), (target, location)
        assert not re.match(r"^/[\s\x00-\x1f]*/", location), (target, location)
    ok = app.test_client().post("/login", query_string={"next": "/moderate/demo"},
                                data={"username": "mod", "password": PASSWORD})
    assert ok.headers["Location"] == "/moderate/demo"


# --- Socket.IO handshake: Origin and buffer ------------------------------------------------------

def handshake(client, origin: str | None, transport: str = "polling"):
    headers = {"Origin": origin} if origin else {}
    return client.get(f"/socket.io/?EIO=4&transport={transport}", headers=headers)


def test_socket_handshake_from_a_foreign_origin_is_refused(make_app, clock):
    """Cross-site WebSocket hijacking. socketio.test_client() calls the server behind engine.io's
    request handling, so it never sees the Origin check: the handshake goes through the WSGI
    stack here, and tests/test_server.py repeats it over a real WebSocket."""
    app = make_app(PUBLIC_ORIGIN=PUBLIC)
    prepare(app, clock)
    assert socketio.server.eio.cors_allowed_origins == [PUBLIC]
    client = app.test_client()
    for origin in (EVIL, "null", "http://localhost", PUBLIC + ".evil.example", PUBLIC.replace("https", "http")):
        for transport in ("polling", "websocket"):
            response = handshake(client, origin, transport)
            assert response.status_code == 400, (origin, transport)
            assert b"Not an accepted origin" in response.data
    response = handshake(client, PUBLIC)
    assert response.status_code == 200 and response.data.startswith(b"0{")


def test_without_public_origin_only_the_same_origin_may_connect(app, seeded):
    client = app.test_client()
    assert handshake(client, EVIL).status_code == 400
    assert handshake(client, "http://localhost").status_code == 200


def test_socket_messages_are_small(app, seeded):
    assert app.config["SOCKET_MAX_BUFFER"] == 16 * 1024
    assert socketio.server.eio.max_http_buffer_size == 16 * 1024
    opened = json.loads(handshake(app.test_client(), None).data[1:])
    assert opened["maxPayload"] == 16 * 1024
    too_big = app.test_client().post("/t/demo/questions", data={"text": "x" * 70_000,
                                                                "client_msg_id": uuid.uuid4().hex})
    assert too_big.status_code == 413
    assert count(app, Question) == 0


# --- Socket.IO authorisation -------------------------------------------------------------------

def test_audience_socket_cannot_call_moderator_events(app, audience_client):
    audience = audience_client()
    qid = submit(audience, "Bitte freigeben")["question"]["id"]
    other = submit(audience, "Noch eine")["question"]["id"]
    payloads = {"edit": {"question_id": qid, "text": "Gekapert", "version": 1},
                "merge": {"question_id": qid, "into_id": other}, "talk_state": {"state": "closed"}}
    for event in MODERATOR_EVENTS + ("editing", "logged_out"):
        ack = audience.emit(event, payloads.get(event, {"question_id": qid}), namespace="/audience", callback=True)
        refused(ack, "invalid")
    stored = question(app, qid)
    assert (stored.status, stored.text, stored.version) == ("pending", "Bitte freigeben", 1)
    assert count(app, AuditEntry) == 0
    with app.app_context():
        assert db.session.scalar(select(Talk).where(Talk.slug == "demo")).manual_state is None


def test_clients_cannot_replay_connect_or_disconnect(app, audience_client, moderator_client, podium_client):
    """An event named `connect` must not run the connect handler again (joining other rooms)."""
    audience = audience_client()
    qid = submit(audience, "Meine Frage")["question"]["id"]
    other_talk = {"talk": "wohnen", "client_id": signed_id(app)}
    refused(audience.emit("connect", other_talk, namespace="/audience", callback=True), "invalid")
    refused(audience.emit("disconnect", "client namespace disconnect", namespace="/audience", callback=True),
            "invalid")
    ack = submit(audience, "Immer noch hier")
    assert ack["ok"] is True, "the socket lost its connection state"
    with app.app_context():
        assert db.session.get(Question, ack["question"]["id"]).talk.slug == "demo"

    podium = podium_client()
    refused(podium.emit("connect", {"token": podium_token(app, "wohnen")}, namespace="/podium", callback=True),
            "invalid")
    moderator = moderator_client()
    refused(mod(moderator, "connect", {"talk": "wohnen"}), "invalid")
    assert mod(moderator, "approve", {"question_id": qid})["ok"] is True


def test_podium_token_of_another_talk_sees_only_that_talk(app, audience_client, moderator_client, podium_client):
    audience = audience_client()
    moderator = moderator_client()
    first = submit(audience, "Schon am Podium")["question"]["id"]
    for action in ("approve", "forward"):
        assert mod(moderator, action, {"question_id": first})["ok"]
    elsewhere = podium_client(podium_token(app, "wohnen"))
    assert elsewhere.is_connected("/podium")
    snapshot = events(elsewhere, "/podium", "snapshot")[0]["args"][0]
    assert snapshot["talk"]["slug"] == "wohnen" and snapshot["questions"] == []
    second = submit(audience, "Gleich am Podium")["question"]["id"]
    for action in ("approve", "forward"):
        assert mod(moderator, action, {"question_id": second})["ok"]
    assert events(elsewhere, "/podium", "question") == []
    refused(elsewhere.emit("forward", {"question_id": second}, namespace="/podium", callback=True), "invalid")
    assert not podium_client("x" * 32).is_connected("/podium")
    assert not podium_client(podium_token(app) + "x").is_connected("/podium")


def test_logout_closes_the_moderator_sockets(app, audience_client, moderator_client, login):
    http = login()
    moderator = moderator_client(http=http)
    assert moderator.is_connected("/moderator")
    second = moderator_client(http=http)
    copied = http.get_cookie("session").value
    events(moderator, "/moderator")
    assert http.post("/logout").status_code == 303
    assert not moderator.is_connected("/moderator"), "the socket stayed open after logout"
    assert not second.is_connected("/moderator")
    with app.app_context():
        talk_id = talks.by_slug(db.session, "demo").id
    assert list(socketio.server.manager.get_participants("/moderator", f"talk:{talk_id}:moderators")) == []
    submit(audience_client(), "Nach dem Abmelden")
    assert [e for e in moderator.queue if e["name"] == "question"] == []

    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert replay.get("/moderate/demo").status_code == 302
    stale = socketio.test_client(app, namespace="/moderator", auth={"talk": "demo"}, flask_test_client=replay)
    assert not stale.is_connected("/moderator")


def test_open_socket_of_a_logged_out_or_deactivated_user_is_refused(app, audience_client, moderator_client, login):
    audience = audience_client()
    qid = submit(audience, "Wer darf das?")["question"]["id"]

    # logged out through another server process: this one was not told, the next event is refused
    moderator = moderator_client()
    with app.app_context():
        accounts.log_out_everywhere(db.session, db.session.get(User, 1))
        db.session.commit()
    refused(mod(moderator, "approve", {"question_id": qid}), "forbidden")
    assert not moderator.is_connected("/moderator")

    moderator = moderator_client()
    with app.app_context():
        db.session.get(User, 1).active = False
        db.session.commit()
    for event, data in (("approve", {"question_id": qid}), ("upvote", {"question_id": qid}),
                        ("talk_state", {"state": "closed"}), ("undo", {}), ("resync", {})):
        if not moderator.is_connected("/moderator"):
            moderator = socketio.test_client(app, namespace="/moderator", auth={"talk": "demo"})
            assert not moderator.is_connected("/moderator")
            break
        refused(mod(moderator, event, data), "forbidden")
    assert question(app, qid).status == "pending"
    assert count(app, AuditEntry) == 0
    with app.app_context():
        assert db.session.scalar(select(Talk).where(Talk.slug == "demo")).manual_state is None
    assert app.test_client().post("/login", data={"username": "mod", "password": PASSWORD}).status_code == 401

    # a deleted account: its open socket is refused as well
    with app.app_context():
        accounts.create_or_update(db.session, "weg", PASSWORD, "moderator")
        db.session.commit()
    gone = socketio.test_client(app, namespace="/moderator", auth={"talk": "demo"}, flask_test_client=login("weg"))
    with app.app_context():
        db.session.delete(db.session.scalar(select(User).where(User.username == "weg")))
        db.session.commit()
    refused(mod(gone, "approve", {"question_id": qid}), "forbidden")
    assert question(app, qid).status == "pending" and count(app, AuditEntry) == 0


def test_moderator_pages_and_exports_need_a_login(app, seeded):
    client = app.test_client()
    for path in ("/moderate/", "/moderate/demo", "/moderate/demo/export.csv", "/moderate/demo/qr.svg",
                 "/admin/audit/demo", "/admin/audit/demo.csv"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    assert not socketio.test_client(app, namespace="/moderator", auth={"talk": "demo"}).is_connected("/moderator")


# --- input schemas ------------------------------------------------------------------------------

def test_submissions_with_wrong_shapes_are_invalid(app, audience_client):
    no_submit_limit(app)
    audience = audience_client()
    for payload in (["text"], "Frage als Text", 42, True, 1.5, [{"text": "in einer Liste"}]):
        refused(audience.emit("submit", payload, namespace="/audience", callback=True), "invalid")
    def msg() -> str:
        return uuid.uuid4().hex
    for payload in ({"text": ["Liste"], "client_msg_id": msg()}, {"text": 42, "client_msg_id": msg()},
                    {"text": {"a": 1}, "client_msg_id": msg()}, {"text": None, "client_msg_id": msg()},
                    {"text": "Gut", "name": 7, "client_msg_id": msg()},
                    {"text": "Gut", "name": ["Erika"], "client_msg_id": msg()},
                    {"text": "Gut"}, {"text": "Gut", "client_msg_id": 12345678},
                    {"text": "Gut", "client_msg_id": "kurz"}, {"text": "Gut", "client_msg_id": "x" * 65},
                    {"text": "Gut", "client_msg_id": "../../etc/passwd"},
                    {"text": "Gut", "client_msg_id": "ü" * 10}, {}):
        refused(audience.emit("submit", payload, namespace="/audience", callback=True), "invalid")
    assert count(app, Question) == 0


@pytest.mark.postgres
def test_lengths_are_checked_after_normalisation(app, audience_client):
    no_submit_limit(app)
    audience = audience_client()
    refused(submit(audience, "x" * 501), "too_long")
    refused(submit(audience, "x" * 15_000), "too_long")
    refused(submit(audience, "Frage", "N" * 81), "too_long")
    ack = submit(audience, "Frage", "N" * 81)
    assert "80" in ack["message"] and "Name" in ack["message"], ack
    assert "500" in submit(audience, "y" * 501)["message"]
    assert count(app, Question) == 0

    padded = "a" * 450 + "\u202e" * 60 + "   " * 30 + "\u200b" * 40
    ack = submit(audience, padded, " " * 50 + "N" * 80 + "\u2066" * 10)
    assert ack["ok"] is True, ack
    stored = question(app, ack["question"]["id"])
    assert stored.text == "a" * 450 and stored.name == "N" * 80
    assert submit(audience, "x" * 500)["ok"] is True


@pytest.mark.parametrize("text", [
    "", "   ", "\t\n\r ", "\x00\x01\x02\x7f", "\x85\x9f", "\u202e\u202d\u202a\u202c", "\u2066\u2067\u2068\u2069",
    "\u200e\u200f\u061c", "\u200b\u200b\u200b", "\ufeff", "\u2060", "\u200d", "\u200c\u200d \u200b",
    "\ud800", "\udfff\ud800 \x00", "\U000e0041\U000e007f",
])
def test_invisible_text_is_empty(app, audience_client, text):
    audience = audience_client()
    refused(submit(audience, text), "empty")
    assert count(app, Question) == 0


@pytest.mark.postgres
def test_text_is_stored_normalised(app, audience_client):
    no_submit_limit(app)
    audience = audience_client()
    cases = {
        "Mu\u0308nchen  ist\u00a0\u00a0sch\u00f6n\n\n?": "M\u00fcnchen ist sch\u00f6n ?",
        "\u202eevil\u202c txt": "evil txt",
        "Zwei\x00Teile\x1b[31m": "Zwei Teile [31m",
        "e\u202e\u0301": "\u00e9",
        "Fam\u200bilie \U0001F468\u200d\U0001F469": "Familie \U0001F468\u200d\U0001F469",
        "Lone \ud83d surrogate": "Lone surrogate",
    }
    for raw, expected in cases.items():
        ack = submit(audience, raw, "  Erika\u202e \u200bM.  ")
        assert ack["ok"] is True, (raw, ack)
        assert ack["question"]["text"] == expected
        stored = question(app, ack["question"]["id"])
        assert (stored.text, stored.name) == (expected, "Erika M.")


def test_html_is_stored_as_text_and_rendered_escaped(app, audience_client, moderator_client, login):
    attack = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    audience = audience_client()
    ack = submit(audience, attack, "<b>Mallory</b>")
    assert ack["ok"] is True
    qid = ack["question"]["id"]
    assert question(app, qid).text == attack, "the text must be stored as typed, not escaped twice"
    assert mod(moderator_client(), "approve", {"question_id": qid})["ok"]
    for client, path in ((app.test_client(), "/t/demo"), (login(), "/moderate/demo")):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in page and "<img src=x" not in page and "<b>Mallory" not in page, path
    page = app.test_client().get("/t/demo").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in page


@pytest.mark.postgres
def test_ids_and_values_of_wrong_type_are_invalid(app, audience_client, moderator_client):
    no_submit_limit(app)
    audience = audience_client()
    qid = submit(audience, "Typen")["question"]["id"]
    moderator = moderator_client()
    assert mod(moderator, "approve", {"question_id": qid})["ok"]
    for bad in (str(qid), True, False, float(qid), None, [qid], {"id": qid}):
        refused(audience.emit("vote", {"question_id": bad, "value": 1}, namespace="/audience", callback=True),
                "invalid")
        for event in ("upvote", "reject", "forward", "answered"):
            refused(mod(moderator, event, {"question_id": bad}), "invalid")
        refused(mod(moderator, "edit", {"question_id": bad, "text": "x", "version": 2}), "invalid")
        refused(mod(moderator, "merge", {"question_id": qid, "into_id": bad}), "invalid")
    for huge in (2**31, 2**63, 2**70, -(2**70), 0, -1):
        refused(audience.emit("vote", {"question_id": huge, "value": 1}, namespace="/audience", callback=True),
                "not_found")
        refused(mod(moderator, "forward", {"question_id": huge}), "not_found")
    for value in (2, -1, True, "1", 1.0, None, [1]):
        refused(audience.emit("vote", {"question_id": qid, "value": value}, namespace="/audience", callback=True),
                "invalid")
        refused(mod(moderator, "upvote", {"question_id": qid, "value": value}), "invalid")
    for version in ("2", True, 2.0, [2]):
        refused(mod(moderator, "edit", {"question_id": qid, "text": "Neu", "version": version}), "invalid")
    for text in (["Neu"], 5, None):
        refused(mod(moderator, "edit", {"question_id": qid, "text": text, "version": 2}), "invalid")
    refused(mod(moderator, "edit", {"question_id": qid, "text": "\u200b", "version": 2}), "empty")
    refused(mod(moderator, "edit", {"question_id": qid, "text": "z" * 501, "version": 2}), "too_long")
    for state in ("offen", None, ["open"], 1, {"state": "open"}):
        refused(mod(moderator, "talk_state", {"state": state}), "invalid")
    for until in ("morgen", 12, ["2030-01-01"], "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                  "2000-01-01T00:00:00Z", "x" * 100):
        refused(mod(moderator, "talk_state", {"state": "open", "until": until}), "invalid")
    stored = question(app, qid)
    assert (stored.status, stored.text, stored.version) == ("approved", "Typen", 2)
    assert count(app, Vote) == 0
    with app.app_context():
        assert db.session.scalar(select(Talk).where(Talk.slug == "demo")).manual_state is None
        assert [t.action for t in db.session.scalars(select(AuditEntry))] == ["approve"]


# --- abuse ------------------------------------------------------------------------------------

def test_sixth_submission_in_a_minute_is_rate_limited(app, audience_client):
    audience = audience_client()
    for i in range(5):
        assert submit(audience, f"Frage Nummer {i}")["ok"] is True
    ack = submit(audience, "Die sechste")
    refused(ack, "rate_limited")
    seconds = int(re.search(r"in (\d+) Sekunden?\b", ack["message"]).group(1))
    assert 1 <= seconds <= 60, ack["message"]
    assert ack["message"].startswith("Zu viele Versuche")
    assert count(app, Question) == 5
    assert submit(audience_client(), "Jemand anderes")["ok"] is True


def test_a_whole_office_behind_one_address_can_ask(app, seeded):
    for i in range(20):
        assert submit(audience_from(app, OFFICE), f"Frage aus dem Büro {i}")["ok"] is True, i
    assert count(app, Question) == 20


def test_per_address_limit_and_its_exemption(make_app, clock):
    app = make_app(LIMIT_SUBMIT_PER_ADDRESS="3 per minute")
    prepare(app, clock)
    for i in range(3):
        assert submit(audience_from(app, OFFICE), f"Erlaubt {i}")["ok"] is True
    refused(submit(audience_from(app, OFFICE), "Zu viel von hier"), "rate_limited")
    assert submit(audience_from(app, "198.51.100.9"), "Andere Adresse")["ok"] is True
    assert count(app, Question) == 4

    app = make_app(LIMIT_SUBMIT_PER_ADDRESS="3 per minute", RATE_LIMIT_EXEMPT=[OFFICE])
    prepare(app, clock)
    before = count(app, Question)
    for i in range(10):
        assert submit(audience_from(app, OFFICE), f"Lasttest {i}")["ok"] is True
    one = audience_from(app, OFFICE)
    for i in range(5):
        assert submit(one, f"Einer allein {i}")["ok"] is True
    refused(submit(one, "Die sechste, trotz Ausnahme"), "rate_limited")
    assert count(app, Question) - before == 15


def test_resending_an_acknowledged_message_never_counts(app, audience_client):
    audience = audience_client()
    first = uuid.uuid4().hex
    original = submit(audience, "Die erste", msg_id=first)
    for i in range(3):
        assert submit(audience, f"Noch eine {i}")["ok"]
    for _ in range(10):
        again = submit(audience, "Die erste", msg_id=first)
        assert again["ok"] is True and again["question"]["id"] == original["question"]["id"]
    assert submit(audience, "Die fünfte")["ok"] is True
    refused(submit(audience, "Die sechste"), "rate_limited")
    assert submit(audience, "Die erste", msg_id=first)["question"]["id"] == original["question"]["id"]
    assert count(app, Question) == 5
    # a message id is bound to its client: another client cannot read or take it over
    refused(submit(audience_client(), "Fremde Kennung", msg_id=first), "invalid")
    assert question(app, original["question"]["id"]).text == "Die erste"


def test_refused_input_never_counts_against_the_limit(app, audience_client):
    """Someone fixing an empty or too long question must still be able to send five."""
    audience = audience_client()
    for _ in range(4):
        refused(submit(audience, "   "), "empty")
        refused(submit(audience, "x" * 501), "too_long")
    for i in range(5):
        assert submit(audience, f"Jetzt richtig {i}")["ok"] is True
    refused(submit(audience, "Die sechste"), "rate_limited")
    assert count(app, Question) == 5


def test_votes_are_rate_limited_per_client(make_app, clock):
    app = make_app(LIMIT_VOTE_PER_CLIENT="4 per minute")
    prepare(app, clock, ("mod", "moderator"))
    audience = audience_from(app, OFFICE)
    qid = submit(audience, "Abstimmen")["question"]["id"]
    with app.app_context():
        db.session.get(Question, qid).status = "approved"
        db.session.commit()
    for value in (1, 0, 1, 0):
        assert audience.emit("vote", {"question_id": qid, "value": value}, namespace="/audience",
                             callback=True)["ok"] is True
    ack = audience.emit("vote", {"question_id": qid, "value": 1}, namespace="/audience", callback=True)
    refused(ack, "rate_limited")
    assert "Sekunde" in ack["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Vote)) == 0


def login_attempt(client, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password})


def test_rate_limits_live_in_redis_when_configured(make_app, clock):
    """Two app instances (as two server processes) share one count. Only logins here: the app's
    Socket.IO queue would publish a form post's events to every server listening on this Redis."""
    redis_url = require_or_skip("TEST_REDIS_URL", "Redis")
    account = f"mod-{uuid.uuid4().hex[:8]}"
    first = make_app(REDIS_URL=redis_url, LOGIN_WAIT_FIRST=60)
    prepare(first, clock, (account, "moderator"))
    assert type(first.extensions["rate_limits"].storage).__name__ == "RedisStorage"
    guesser = f"2001:db8::{uuid.uuid4().hex[:4]}"
    for _ in range(4):
        assert login_attempt(http_from(first, guesser), account, "falsch-geraten").status_code == 401
    second = make_app(REDIS_URL=redis_url, LOGIN_WAIT_FIRST=60)
    assert login_attempt(http_from(second, guesser), account, PASSWORD).status_code == 429
    client = f"client-{uuid.uuid4().hex}"
    limits = second.extensions["rate_limits"]
    assert [limits.hit("SUBMIT", client=client) for _ in range(5)] == [None] * 5
    assert first.extensions["rate_limits"].hit("SUBMIT", client=client) >= 1


def test_word_list_flags_but_never_hides(app, audience_client, moderator_client):
    audience = audience_client()
    moderator = moderator_client()
    flagged = {}
    for text in ("Sie sind ein Idiot!", "Was für ein Scheißvortrag", "Billige Kredite: www.example.ru",
                 "Jetzt in Bitcoin investieren http://spam.example", "Wie wird der ÖPNV finanziert?"):
        ack = submit(audience, text)
        assert ack["ok"] is True and ack["question"]["status"] == "pending", ack
        assert "flagged" not in ack["question"], "the author is not told"
        flagged[ack["question"]["id"]] = text
    seen = {e["args"][0]["question"]["id"]: e["args"][0]["question"] for e in events(moderator, "/moderator", "question")}
    assert [seen[qid]["flagged"] for qid in flagged] == ["insult", "insult", "spam", "spam", None]
    assert all(seen[qid]["status"] == "pending" for qid in flagged)
    moderator.emit("resync", {}, namespace="/moderator", callback=True)
    snapshot = events(moderator, "/moderator", "snapshot")[-1]["args"][0]
    assert sorted(q["id"] for q in snapshot["questions"]) == sorted(flagged)
    assert count(app, Question, Question.status == "pending") == 5


def test_repeated_text_from_one_client_is_flagged_and_folded(app, audience_client, moderator_client):
    moderator = moderator_client()
    audience = audience_client()
    first = submit(audience, "Wann kommt die Bahn?")
    second = submit(audience, "Wann  kommt die\u200b Bahn?")
    other = submit(audience_client(), "Wann kommt die Bahn?")
    assert all(a["ok"] for a in (first, second, other))
    ids = (first["question"]["id"], second["question"]["id"], other["question"]["id"])
    flags = {qid: question(app, qid).flagged for qid in ids}
    assert list(flags.values()) == [None, "repeated", None]
    assert second["question"]["status"] == "merged" and question(app, ids[1]).merged_into_id == ids[0]
    moderator.emit("resync", {}, namespace="/moderator", callback=True)
    queue = events(moderator, "/moderator", "snapshot")[-1]["args"][0]["questions"]
    open_ids = sorted(q["id"] for q in queue if q["status"] == "pending")
    assert open_ids == [ids[0], ids[2]], "the repeat is folded into the first, not a second card"
    folded = next(q for q in queue if q["id"] == ids[0])["merged"]
    assert [m["id"] for m in folded] == [ids[1]], "its text stays visible with the first"


# --- audit log --------------------------------------------------------------------------------

def test_every_moderator_action_is_audited(app, audience_client, moderator_client, admin):
    audience = audience_client()
    moderator = moderator_client()
    q1, q2, q3, q4 = (submit(audience, f"Frage {i}")["question"]["id"] for i in range(1, 5))
    steps = [("approve", {"question_id": q1}), ("forward", {"question_id": q1}),
             ("answered", {"question_id": q1}), ("reject", {"question_id": q2}),
             ("edit", {"question_id": q3, "text": "Frage drei, klarer", "version": 1}),
             ("merge", {"question_id": q4, "into_id": q3}), ("undo", {}),
             ("talk_state", {"state": "closed"}), ("talk_state", {"state": "open"})]
    for event, data in steps:
        assert mod(moderator, event, data)["ok"] is True, event
    refused(mod(moderator, "approve", {"question_id": 999}), "not_found")

    with app.app_context():
        entries = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        user_id = db.session.scalar(select(User.id).where(User.username == "mod"))
        rows = [(e.action, e.question_id, e.from_status, e.to_status, e.before, e.after) for e in entries]
        assert rows[:7] == [
            ("approve", q1, "pending", "approved", None, None),
            ("forward", q1, "approved", "forwarded", None, None),
            ("answered", q1, "forwarded", "answered", None, None),
            ("reject", q2, "pending", "rejected", None, None),
            ("edit", q3, "pending", "pending", "Frage 3", "Frage drei, klarer"),
            ("merge", q4, "pending", "merged", "", str(q3)),
            ("undo", q4, "merged", "pending", str(q3), ""),
        ]
        assert [r[0] for r in rows[7:]] == ["talk_state", "talk_state"]
        assert rows[7][4] != rows[7][5] and "closed" in rows[7][5] and "open" in rows[8][5]
        assert entries[6].undoes_id == entries[5].id and entries[5].undone
        for e in entries:
            assert (e.user_id, e.username) == (user_id, "mod")
            assert e.at is not None and e.talk_id == entries[0].talk_id


def test_audit_log_is_for_admins_and_exports_safely(app, audience_client, moderator_client, login, admin):
    audience = audience_client()
    moderator = moderator_client()
    qid = submit(audience, "Harmlos")["question"]["id"]
    formula = '=HYPERLINK("http://evil.example","klick")'
    assert mod(moderator, "edit", {"question_id": qid, "text": formula, "version": 1})["ok"]
    assert mod(moderator, "edit", {"question_id": qid, "text": "<b>fett</b>", "version": 2})["ok"]
    assert mod(moderator, "edit", {"question_id": qid, "text": "@SUM(1+1)", "version": 3})["ok"]

    staff = login()
    assert staff.get("/admin/audit/demo").status_code == 403
    assert staff.get("/admin/audit/demo.csv").status_code == 403
    page = admin.get("/admin/audit/demo")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "&lt;b&gt;fett&lt;/b&gt;" in body and "<b>fett" not in body
    assert admin.get("/admin/audit/gibt-es-nicht").status_code == 404

    export = admin.get("/admin/audit/demo.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    header, rows = rows[0], rows[1:]
    assert {"at", "user", "action", "from", "to", "before", "after"} <= set(header)
    cells = [cell for row in rows for cell in row]
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in cells), cells
    assert "'" + formula in cells and "'@SUM(1+1)" in cells
    assert [row[header.index("action")] for row in rows] == ["edit", "edit", "edit"]
    assert {row[header.index("user")] for row in rows} == {"mod"}

    questions = staff.get("/moderate/demo/export.csv").get_data(as_text=True)
    assert "'@SUM(1+1)" in questions and "\n@SUM" not in questions and ";@SUM" not in questions


@pytest.mark.postgres
def test_nul_bytes_never_reach_the_database(app, audience_client, login):
    """PostgreSQL refuses NUL in text: every lookup by a string from outside must stop it first."""
    no_submit_limit(app)
    anyone = app.test_client()
    for path in ("/t/de%00mo", "/podium/ab%00cd", "/t/demo%00/questions"):
        assert anyone.get(path).status_code in (404, 405), path
    staff = login()
    for path in ("/moderate/de%00mo", "/moderate/de%00mo/export.csv"):
        assert staff.get(path).status_code == 404, path
    assert anyone.post("/t/de%00mo/questions", data={"text": "x", "client_msg_id": uuid.uuid4().hex}).status_code == 404
    assert anyone.post("/login", data={"username": "mod\x00", "password": PASSWORD}).status_code == 401
    assert anyone.post("/login", data={"username": "\x00", "password": "\x00" * 8}).status_code == 401
    for auth in ({"talk": "de\x00mo", "client_id": signed_id(app)}, {"talk": "\x00", "client_id": "\x00" * 10}):
        assert not socketio.test_client(app, namespace="/audience", auth=auth).is_connected("/audience")
    assert not socketio.test_client(app, namespace="/podium", auth={"token": "a\x00b"}).is_connected("/podium")
    assert not socketio.test_client(app, namespace="/moderator", auth={"talk": "de\x00mo"},
                                    flask_test_client=login()).is_connected("/moderator")
    audience = audience_client()
    ack = submit(audience, "Mit\x00Null", "Na\x00me")
    assert ack["ok"] is True and question(app, ack["question"]["id"]).text == "Mit Null"
    refused(audience.emit("submit", {"text": "x", "client_msg_id": "abc\x00defghij"}, namespace="/audience",
                          callback=True), "invalid")
    refused(submit(audience, "\x00\x00"), "empty")
    moderator = moderator_client_for(app, login)
    refused(mod(moderator, "talk_state", {"state": "open", "until": "2099-01-01\x00"}), "invalid")
    refused(mod(moderator, "edit", {"question_id": ack["question"]["id"], "text": "\x00", "version": 1}), "empty")
    assert count(app, Question) == 1


def moderator_client_for(app, login):
    return socketio.test_client(app, namespace="/moderator", auth={"talk": "demo"}, flask_test_client=login())
