"""Issue 21, finding 6: vote stuffing. One address added 30 votes to one question in a second by
fetching fresh ids from the question page, and behind nginx an IPv6 client holds a whole /64.

Per-address limits now count an IPv6 /64 as one address, one question takes at most a burst of
10 votes a minute from one address, and fresh ids from one address voting at once flag the card
for the moderators ("viele neue Stimmen von einer Adresse") — with no address kept anywhere."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from moderation.extensions import db, socketio
from moderation.models import Question
from moderation.ratelimit import network
from moderation.services import accounts, talks
from tests.helpers import PASSWORD, events, submit
from tests.system.test_trust_limits import approve_all, http_from, person

HOME = "2001:db8:5:6::"  # one household's /64


@pytest.fixture
def demo(make_app, clock):
    app = make_app(LIMIT_IDENTITY_PER_ADDRESS="1000 per minute", LIMIT_CONNECT_PER_ADDRESS="1000 per minute")
    with app.app_context():
        talks.seed(db.session, clock())
        accounts.create_or_update(db.session, "mod", PASSWORD, "admin")
        db.session.commit()
    return app


def a_question(app) -> int:
    assert submit(person(app, "198.51.100.9"), "Wann kommt der Glasfaserausbau?")["ok"]
    (qid,) = approve_all(app)
    return qid


def vote(client, qid: int) -> dict:
    return client.emit("vote", {"question_id": qid, "value": 1}, namespace="/audience", callback=True)


@pytest.mark.parametrize(("address", "counted"), [
    ("2001:db8:5:6:a:b:c:d", "2001:db8:5:6::/64"),
    ("2001:db8:5:6:ffff:ffff:ffff:ffff", "2001:db8:5:6::/64"),
    ("2001:db8:5:7::1", "2001:db8:5:7::/64"),
    ("203.0.113.7", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("fe80::1%eth0", "fe80::/64"),
    ("not an address", "not an address"),
])
def test_a_limit_counts_an_ipv6_64_and_an_ipv4_address(address, counted):
    assert network(address) == counted


def test_every_address_of_one_ipv6_64_shares_the_vote_burst(demo):
    """The attack: a fresh id and a fresh address of the /64 per vote."""
    qid = a_question(demo)
    acks = [vote(person(demo, f"{HOME}{n:x}"), qid) for n in range(1, 41)]
    assert sum(a["ok"] for a in acks) == 10
    refused = [a for a in acks if not a["ok"]]
    assert {a["error"] for a in refused} == {"rate_limited"} and "Sekunden" in refused[0]["message"]
    assert vote(person(demo, "2001:db8:5:7::1"), qid)["ok"], "the next /64 is someone else"


def test_fresh_ids_from_one_address_voting_at_once_flag_the_card(demo):
    qid = a_question(demo)
    desk = socketio.test_client(demo, namespace="/moderator", auth={"talk": "demo"},
                                flask_test_client=_logged_in(demo))
    onlooker = person(demo, "192.0.2.50")
    events(desk, "/moderator")
    events(onlooker, "/audience")
    assert all(vote(person(demo, "203.0.113.80"), qid)["ok"] for _ in range(4))
    with demo.app_context():
        assert db.session.scalar(select(Question.flagged).where(Question.id == qid)) == "fresh_votes"
    heard = [e["args"][0]["question"] for e in events(desk, "/moderator", "question")
             if e["args"][0]["question"]["id"] == qid]
    assert heard and heard[-1]["flagged"] == "fresh_votes"
    assert all("flagged" not in e["args"][0]["question"] for e in events(onlooker, "/audience", "question"))
    page = _logged_in(demo).get("/moderate/demo").get_data(as_text=True)
    assert "viele neue Stimmen von einer Adresse" in page


def test_the_same_votes_from_many_addresses_or_from_known_ids_flag_nothing(demo):
    qid = a_question(demo)
    known = [person(demo, "203.0.113.81") for _ in range(6)]
    demo.extensions["rate_limits"].storage.reset()  # their ids are no longer fresh
    assert all(vote(p, qid)["ok"] for p in known)
    assert all(vote(person(demo, f"198.51.100.{n}"), qid)["ok"] for n in range(100, 110))
    with demo.app_context():
        assert db.session.scalar(select(Question.flagged).where(Question.id == qid)) is None


def test_the_limiter_keeps_no_address(demo):
    qid = a_question(demo)
    for address in ("203.0.113.82", f"{HOME}1234"):
        assert vote(person(demo, address), qid)["ok"]
        http_from(demo, address).post("/login", data={"username": "mod", "password": "falsch-falsch"})
    storage = demo.extensions["rate_limits"].storage
    keys = " ".join(map(str, [*storage.storage, *storage.events, *storage.expirations]))
    assert "fresh-votes/" in keys and "LIMIT_VOTE_PER_ADDRESS" in keys and "login-failures" in keys
    for trace in ("203.0.113.82", "2001:db8", "2001:0db8"):
        assert trace not in keys


def _logged_in(app):
    client = app.test_client()
    assert client.post("/login", data={"username": "mod", "password": PASSWORD}).status_code == 303
    return client
