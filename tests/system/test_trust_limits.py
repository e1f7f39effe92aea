"""Issue 10, finding 3: the limits see real people.

The audience id is handed out and signed by the server (a client can no longer pick a new one per
message), new identities, connects, questions, votes per question and resyncs are limited per
address with room for an office behind one NAT, and behind TRUSTED_PROXIES the address is the
client's (the real-process half of that is in test_trust_server.py)."""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from moderation import audience_ids
from moderation.extensions import db, socketio
from moderation.models import Question, Vote
from moderation.services import talks
from tests.helpers import submit

OFFICE = "203.0.113.7"
COOKIE = audience_ids.COOKIE


def http_from(app, address: str, headers: dict | None = None):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    for name, value in (headers or {}).items():
        client.environ_base["HTTP_" + name.upper().replace("-", "_")] = value
    return client


def new_identity(app, address: str = OFFICE) -> str:
    """What a browser does: open the question page and keep the cookie it sets."""
    response = http_from(app, address).get("/t/demo")
    assert response.status_code == 200, response.status_code
    return _cookie(response)


def _cookie(response) -> str:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(COOKIE + "="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError("no audience cookie set")


def person(app, address: str = OFFICE, client_id: str | None = None):
    """An audience socket from `address` with a server-issued id."""
    return socketio.test_client(app, namespace="/audience", flask_test_client=http_from(app, address),
                                auth={"talk": "demo", "client_id": client_id or new_identity(app, address)})


def stored(app, model) -> int:
    with app.app_context():
        value = db.session.scalar(select(func.count()).select_from(model))
        db.session.rollback()
        return value


def approve_all(app) -> list[int]:
    with app.app_context():
        questions = db.session.scalars(select(Question)).all()
        for q in questions:
            q.status = "approved"
        db.session.commit()
        return [q.id for q in questions]


@pytest.fixture
def demo(app, clock):
    with app.app_context():
        talks.seed(db.session, clock())
        db.session.commit()
    return app


# --- the signed audience id ---------------------------------------------------------------------

def test_the_question_page_hands_out_a_signed_id_once(demo):
    browser = http_from(demo, OFFICE)
    first = browser.get("/t/demo")
    token = _cookie(first)
    assert audience_ids.verify(demo.config["SECRET_KEY"], token)
    assert token in first.get_data(as_text=True), "the page's script needs it for the socket"
    assert "no-store" in first.headers["Cache-Control"]
    assert "HttpOnly" in first.headers["Set-Cookie"] and "SameSite=Lax" in first.headers["Set-Cookie"]
    again = browser.get("/t/demo")
    assert COOKIE not in again.headers.get("Set-Cookie", ""), "a known person keeps their id"
    assert token in again.get_data(as_text=True)


@pytest.mark.parametrize("client_id", [
    "0f0e9c7d2b5a4e6f8a1b3c5d7e9f1a2b.forged-signature", "", "kurz", "x" * 65, "mit leerzeichen", None, 7,
])
def test_a_malformed_or_forged_id_is_refused(demo, client_id):
    client = socketio.test_client(demo, namespace="/audience", auth={"talk": "demo", "client_id": client_id})
    assert not client.is_connected("/audience")


def test_an_id_the_client_chose_counts_as_a_new_identity_of_its_address(make_app, clock):
    """The public contract lets a client choose its id (a uuid): every such connect counts against
    the address's new identities, so taking a new id per message runs into that limit."""
    app = make_app(LIMIT_IDENTITY_PER_ADDRESS="3 per minute")
    with app.app_context():
        talks.seed(db.session, clock())
        db.session.commit()
    ids = [str(uuid.uuid4()) for _ in range(4)]
    clients = [socketio.test_client(app, namespace="/audience", flask_test_client=http_from(app, "203.0.113.9"),
                                    auth={"talk": "demo", "client_id": i}) for i in ids]
    assert [c.is_connected("/audience") for c in clients] == [True, True, True, False]
    ack = submit(clients[0], "Mit eigener Kennung?")
    assert ack["ok"] is True and ack["question"]["mine"] is True
    assert person(app).is_connected("/audience"), "a signed id from the question page still gets in"


def test_an_id_signed_with_another_key_is_refused(demo):
    foreign = audience_ids.issue("another-secret")
    assert not person(demo, client_id=foreign).is_connected("/audience")
    assert person(demo).is_connected("/audience")


def test_the_cookie_alone_identifies_a_browser_socket(demo):
    browser = http_from(demo, OFFICE)
    token = _cookie(browser.get("/t/demo"))
    client = socketio.test_client(demo, namespace="/audience", flask_test_client=browser, auth={"talk": "demo"})
    assert client.is_connected("/audience")
    ack = submit(client, "Über das Cookie?")
    assert ack["ok"] is True
    mine = socketio.test_client(demo, namespace="/audience", auth={"talk": "demo", "client_id": token})
    snapshot = [e for e in mine.get_received("/audience") if e["name"] == "snapshot"][-1]["args"][0]
    assert [q["mine"] for q in snapshot["questions"]] == [True]


def test_resending_a_message_with_the_same_signed_id_stays_idempotent(demo):
    token = new_identity(demo)
    msg = uuid.uuid4().hex
    first = submit(person(demo, client_id=token), "Einmal", msg_id=msg)
    again = submit(person(demo, client_id=token), "Einmal", msg_id=msg)
    assert first["ok"] and again["ok"] and again["question"]["id"] == first["question"]["id"]
    assert stored(demo, Question) == 1
    refused = submit(person(demo), "Einmal", msg_id=msg)
    assert (refused["ok"], refused["error"]) == (False, "invalid"), "another person cannot take it over"


# --- per-address limits -------------------------------------------------------------------------

def test_new_identities_per_address_are_limited(make_app, clock):
    app = make_app(LIMIT_IDENTITY_PER_ADDRESS="3 per minute")
    with app.app_context():
        talks.seed(db.session, clock())
        db.session.commit()
    browsers = [http_from(app, OFFICE) for _ in range(4)]
    assert [b.get("/t/demo").status_code for b in browsers[:3]] == [200, 200, 200]
    blocked = browsers[3].get("/t/demo")
    assert blocked.status_code == 429 and COOKIE not in blocked.headers.get("Set-Cookie", "")
    seconds = int(re.search(r"in (\d+) Sekunden", blocked.get_data(as_text=True)).group(1))
    assert 1 <= seconds <= 60 and blocked.headers["Retry-After"] == str(seconds)
    assert browsers[0].get("/t/demo").status_code == 200, "people who have an id are not affected"
    assert http_from(app, "198.51.100.1").get("/t/demo").status_code == 200


def test_ids_minted_per_message_no_longer_escape_the_limits(demo):
    """The attack: a new id per message. 40 questions from one address: 20 are taken."""
    answers = [submit(person(demo), f"Frage {i} von derselben Adresse") for i in range(40)]
    assert sum(a["ok"] for a in answers) == 20
    assert {a["error"] for a in answers if not a["ok"]} == {"rate_limited"}
    assert stored(demo, Question) == 20
    assert submit(person(demo, "198.51.100.2"), "Von anderswo")["ok"] is True


def test_votes_on_one_question_per_address_are_limited(make_app, clock):
    app = make_app(LIMIT_IDENTITY_PER_ADDRESS="1000 per minute")
    with app.app_context():
        talks.seed(db.session, clock())
        db.session.commit()
    assert submit(person(app, "198.51.100.3"), "Wer stimmt ab?")["ok"]
    assert submit(person(app, "198.51.100.3"), "Eine zweite Frage?")["ok"]
    first, second = approve_all(app)
    voters = [person(app) for _ in range(60)]
    acks = [v.emit("vote", {"question_id": first, "value": 1}, namespace="/audience", callback=True) for v in voters]
    assert sum(a["ok"] for a in acks) == 10  # issue 21: a burst of 10 a minute (30 an hour)
    assert {a["error"] for a in acks if not a["ok"]} == {"rate_limited"}
    assert voters[-1].emit("vote", {"question_id": second, "value": 1}, namespace="/audience",
                           callback=True)["ok"] is True, "another question has its own count"
    assert stored(app, Vote) == 11


def test_resyncs_per_client_are_limited(demo):
    client = person(demo)
    acks = [client.emit("resync", {}, namespace="/audience", callback=True) for _ in range(12)]
    assert [a["ok"] for a in acks] == [True] * 10 + [False] * 2
    assert acks[-1]["error"] == "rate_limited" and "Sekunden" in acks[-1]["message"]


def test_connects_per_address_are_limited(make_app, clock):
    app = make_app(LIMIT_CONNECT_PER_ADDRESS="3 per minute")
    with app.app_context():
        talks.seed(db.session, clock())
        db.session.commit()
    tokens = [new_identity(app) for _ in range(4)]
    sockets = [person(app, client_id=token) for token in tokens]
    assert [s.is_connected("/audience") for s in sockets] == [True, True, True, False]
    assert person(app, "198.51.100.4").is_connected("/audience")


def test_an_office_of_30_behind_one_address_takes_part(demo):
    """The defaults (README, "Was ein Büro hinter einer Adresse kann"): 30 people open the page,
    connect, 20 ask in one minute, each votes on three questions; within one minute any one
    question takes 10 votes from the office (30 within an hour)."""
    office = [person(demo) for _ in range(30)]
    assert all(p.is_connected("/audience") for p in office)
    assert all(submit(p, f"Frage aus dem Büro {i}")["ok"] for i, p in enumerate(office[:20]))
    ids = approve_all(demo)
    for n, p in enumerate(office):
        for qid in (ids[n % 20], ids[(n + 7) % 20], ids[(n + 13) % 20]):
            assert p.emit("vote", {"question_id": qid, "value": 1}, namespace="/audience", callback=True)["ok"]
        assert p.emit("resync", {}, namespace="/audience", callback=True)["ok"]


def test_trusted_proxies_read_the_client_address_from_x_forwarded_for(make_app, clock):
    app = make_app(TRUSTED_PROXIES=1, LIMIT_IDENTITY_PER_ADDRESS="2 per minute")
    with app.app_context():
        talks.seed(db.session, clock())
        db.session.commit()
    proxy = "10.0.0.2"

    def through_proxy(client_address: str) -> int:
        return http_from(app, proxy, {"X-Forwarded-For": client_address}).get("/t/demo").status_code

    assert [through_proxy("198.51.100.20") for _ in range(3)] == [200, 200, 429]
    assert through_proxy("198.51.100.21") == 200, "another client behind the same proxy"
    # a client cannot claim an address: only the last hop, the one the proxy appended, counts
    assert through_proxy("192.0.2.99, 198.51.100.20") == 429


def test_without_trusted_proxies_x_forwarded_for_is_ignored(make_app, clock):
    app = make_app(LIMIT_IDENTITY_PER_ADDRESS="2 per minute")
    with app.app_context():
        talks.seed(db.session, clock())
        db.session.commit()
    codes = [http_from(app, OFFICE, {"X-Forwarded-For": f"198.51.100.{i}"}).get("/t/demo").status_code
             for i in range(3)]
    assert codes == [200, 200, 429]
