"""Issue 5, fuzzing: hypothesis sends arbitrary payloads to every Socket.IO event and form, and
arbitrary text to the normalisation. Every answer is a well-formed acknowledgement with a public
error code, nothing raises, no page is a 500, and the database stays consistent — on SQLite and
on PostgreSQL, which refuses some strings (NUL) that SQLite takes.

`pytest tests/services/test_fuzz.py --hypothesis-show-statistics` shows which answers the examples reached;
`make fuzz` runs them with the thorough profile's example counts."""
from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from moderation.extensions import db, socketio
from moderation.models import STATUSES, AuditEntry, Question, Talk, Vote
from moderation.services import accounts, talks
from moderation.services import text as texts
from moderation.services.errors import DomainError
from tests.helpers import PASSWORD, signed_id

pytestmark = pytest.mark.postgres

CODES = {"closed", "empty", "too_long", "rate_limited", "not_found", "forbidden", "conflict", "invalid"}
AUDIENCE_EVENTS = ("submit", "vote", "resync")
MODERATOR_EVENTS = ("upvote", "approve", "reject", "forward", "answered", "edit", "merge", "undo", "talk_state",
                    "editing", "resync")
PODIUM_EVENTS = ("resync",)
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
FUZZ = settings(deadline=None,  # examples: the loaded profile's (tests/conftest.py)
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# --- strategies -----------------------------------------------------------------------------------

SLUG_CHARACTERS = st.characters(exclude_characters="/", exclude_categories=["Cs"])
# Rare for random text, known to break things: NUL (PostgreSQL refuses it), overlong, invisible.
EDGES = st.sampled_from(["\x00", "mod\x00", "de\x00mo", "\x00" * 9, " ", "\u202e", "\u200b", "..", "%00",
                         "a" * 81, "a" * 201, "<script>", "'; DROP TABLE question; --"])
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
           | st.sampled_from([2**31, 2**63, -(2**63), 2**70, float("inf"), float("nan"), -0.0, "", "0", "1"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=10)
NASTY = st.text(alphabet=st.characters(categories=["Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Mn", "Co"]), max_size=40)
TEXTS = (st.text(max_size=80) | st.text(min_size=480, max_size=620) | NASTY
         | st.sampled_from(["<script>alert(1)</script>", "=1+1", "\x00", "\u202eabc", "a" * 501, " " * 600,
                            "e\u202e\u0301", "\ud800", "\u3164", "\u2800 \u115f\u1160", "\U000e0041x", "M\u043ederation", "Idiot", "www.example.ru", "'; DROP TABLE question; --"]))
IDS = st.integers(min_value=-2, max_value=14) | st.integers() | st.sampled_from([2**31 - 1, 2**31, 2**63, 2**64])
UNTIL = (st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat())
         | st.sampled_from(["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2099-01-01", "Z"]))
FIELDS = {
    "text": TEXTS | JSON, "name": TEXTS | JSON, "client_msg_id": st.uuids().map(str) | st.text(max_size=70) | JSON,
    "question_id": IDS | JSON, "into_id": IDS | JSON, "value": st.sampled_from([0, 1, 2, -1, True, 1.0]) | JSON,
    "version": st.integers(min_value=0, max_value=8) | JSON, "state": st.sampled_from(["open", "closed"]) | JSON,
    "until": UNTIL | JSON, "talk": st.sampled_from(["demo", "wohnen"]) | EDGES | JSON, "token": EDGES | JSON,
}
PAYLOADS = (st.fixed_dictionaries({}, optional=FIELDS)
            | st.dictionaries(st.text(max_size=12), JSON, max_size=5) | JSON)
ARGS = st.lists(PAYLOADS, min_size=0, max_size=2) | st.tuples(PAYLOADS).map(list)


def events_for(names: tuple[str, ...]):
    return st.sampled_from(names + ("connect", "disconnect", "message")) | st.text(max_size=15)


STEPS = st.lists(
    st.one_of(st.tuples(st.sampled_from(["audience", "audience2"]), events_for(AUDIENCE_EVENTS), ARGS),
              st.tuples(st.sampled_from(["moderator", "admin"]), events_for(MODERATOR_EVENTS), ARGS),
              st.tuples(st.just("podium"), events_for(PODIUM_EVENTS), ARGS)),
    min_size=1, max_size=6)


# --- the world under fuzz -----------------------------------------------------------------------

NAMESPACES = {"audience": "/audience", "audience2": "/audience", "moderator": "/moderator",
              "admin": "/moderator", "podium": "/podium"}


@dataclass
class World:
    """One app with two audience sockets, two moderators (one admin) and a podium."""
    app: object
    clients: dict
    auth: dict

    def emit(self, who: str, name: str, args: list):
        namespace = NAMESPACES[who]
        client = self.clients[who]
        if not client.is_connected(namespace):
            client.connect(namespace=namespace, auth=self.auth[who])
            assert client.is_connected(namespace), who
        return client.emit(name, *args, namespace=namespace, callback=True)


@pytest.fixture
def world(make_app, clock):
    app = make_app(LIMIT_SUBMIT_PER_CLIENT="100000 per minute", LIMIT_SUBMIT_PER_ADDRESS="100000 per minute",
                   LIMIT_VOTE_PER_CLIENT="100000 per minute", LIMIT_VOTE_PER_ADDRESS="100000 per minute",
                   LOGIN_FREE_FAILURES=100000, LIMIT_LOGIN_FAILURES_PER_ADDRESS="100000 per minute",
                   LIMIT_IDENTITY_PER_ADDRESS="100000 per minute", LIMIT_CONNECT_PER_ADDRESS="100000 per minute",
                   LIMIT_RESYNC_PER_CLIENT="100000 per minute", LIMIT_RESYNC_PER_ADDRESS="100000 per minute",
                   LIMIT_VOTE_PER_ADDRESS_QUESTION="100000 per minute")
    with app.app_context():
        talks.seed(db.session, clock())
        accounts.create_or_update(db.session, "mod", PASSWORD, "moderator")
        accounts.create_or_update(db.session, "chefin", PASSWORD, "admin")
        token = talks.by_slug(db.session, "demo").podium_token
        db.session.commit()
    auth = {"audience": {"talk": "demo", "client_id": signed_id(app)},
            "audience2": {"talk": "demo", "client_id": signed_id(app)},
            "moderator": {"talk": "demo"}, "admin": {"talk": "demo"}, "podium": {"token": token}}
    clients = {}
    for who in ("audience", "audience2", "podium"):
        clients[who] = socketio.test_client(app, namespace=NAMESPACES[who], auth=auth[who])
    for who, name in (("moderator", "mod"), ("admin", "chefin")):
        http = app.test_client()
        assert http.post("/login", data={"username": name, "password": PASSWORD}).status_code == 303
        clients[who] = socketio.test_client(app, namespace="/moderator", auth=auth[who], flask_test_client=http)
    world = World(app, clients, auth)
    for i in range(6):
        ack = world.emit("audience" if i % 2 else "audience2", "submit",
                         [{"text": f"Startfrage {i}", "client_msg_id": uuid.uuid4().hex}])
        assert ack["ok"], ack
    for qid in (1, 2, 3):
        assert world.emit("moderator", "approve", [{"question_id": qid}])["ok"]
    return world


def reopen(app) -> None:
    """A fuzzed talk_state may close the round; each example starts from an open one."""
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        talk.manual_state = talk.manual_until = None
        db.session.commit()


def check_ack(ack) -> None:
    assert isinstance(ack, dict), ack
    assert ack.get("ok") in (True, False), ack
    event("ok" if ack["ok"] else ack["error"])  # pytest --hypothesis-show-statistics
    if ack["ok"] is False:
        assert ack["error"] in CODES, ack
        assert isinstance(ack["message"], str) and ack["message"], ack


def check_consistency(app) -> None:
    with app.app_context():
        session = db.session
        by_id = {q.id: q for q in session.scalars(select(Question))}
        for q in by_id.values():
            assert q.status in STATUSES, q.status
            assert (q.status == "merged") == (q.merged_into_id is not None), (q.id, q.status, q.merged_into_id)
            if q.merged_into_id is not None:
                target = by_id.get(q.merged_into_id)
                assert target is not None and target.talk_id == q.talk_id, q.id
                assert target.status != "merged", (q.id, "merged into a merged question")
            assert q.version >= 1
            assert texts.question_text(q.text) == q.text and len(q.text) <= texts.MAX_QUESTION
            assert q.original_text is None or texts.question_text(q.original_text) == q.original_text
            assert q.name is None or texts.author_name(q.name) == q.name
            assert q.client_hash is None or len(q.client_hash) == 64
        for talk in session.scalars(select(Talk)):
            assert talk.seq >= sum(1 for q in by_id.values() if q.talk_id == talk.id), talk.slug
        for vote in session.scalars(select(Vote)):
            assert vote.question_id in by_id
        for entry in session.scalars(select(AuditEntry).where(AuditEntry.question_id.is_not(None))):
            assert by_id[entry.question_id].talk_id == entry.talk_id
        session.rollback()


# --- socket events --------------------------------------------------------------------------------

@FUZZ
@given(steps=STEPS)
def test_socket_events_survive_arbitrary_payloads(world, steps):
    reopen(world.app)
    for who, name, args in steps:
        check_ack(world.emit(who, name, args))
    check_consistency(world.app)


@FUZZ
@given(steps=st.lists(st.tuples(
    st.sampled_from(["audience", "audience2", "moderator", "admin"]),
    st.sampled_from(("submit", "vote", "upvote", "approve", "reject", "forward", "answered", "edit", "merge",
                     "undo")),
    st.fixed_dictionaries({"question_id": st.integers(min_value=1, max_value=14),
                           "into_id": st.integers(min_value=1, max_value=14),
                           "value": st.sampled_from([0, 1]), "version": st.integers(min_value=1, max_value=5),
                           "text": TEXTS.filter(lambda t: len(t) < 700)})), min_size=1, max_size=12))
def test_well_formed_sequences_keep_the_store_consistent(world, steps):
    """Fewer shape errors, more real moves: merges, undos and edits in any order by two moderators."""
    reopen(world.app)
    for who, name, data in steps:
        if name in ("submit", "vote") and not who.startswith("audience"):
            who = "audience"
        if name not in ("submit", "vote") and who.startswith("audience"):
            who = "moderator"
        if name == "submit":
            data = {"text": data["text"], "client_msg_id": uuid.uuid4().hex}
        check_ack(world.emit(who, name, [data]))
    check_consistency(world.app)


# --- forms --------------------------------------------------------------------------------------

FORM_TEXT = EDGES | st.text(max_size=700) | NASTY.map(lambda t: "".join(c for c in t if not 0xD800 <= ord(c) <= 0xDFFF))


@FUZZ
@given(text=FORM_TEXT, name=FORM_TEXT, msg=st.uuids().map(str) | st.text(max_size=70),
       username=st.text(min_size=1, max_size=80) | FORM_TEXT, password=st.text(min_size=1, max_size=200) | EDGES,
       slug=(st.sampled_from(["demo", "wohnen"]) | EDGES | st.text(SLUG_CHARACTERS, min_size=1, max_size=90))
       .map(lambda slug: quote(slug, safe="")))
def test_forms_never_fail_with_a_server_error(world, text, name, msg, username, password, slug):
    reopen(world.app)
    client = world.app.test_client()
    staff = world.clients["admin"].flask_test_client
    for who, path in ((client, f"/t/{slug}"), (client, f"/podium/{slug}"), (staff, f"/moderate/{slug}"),
                      (staff, f"/moderate/{slug}/export.csv"), (staff, f"/admin/audit/{slug}")):
        assert who.get(path).status_code in (200, 404), path
    response = client.post(f"/t/{slug}/questions", data={"text": text, "name": name, "client_msg_id": msg})
    assert response.status_code in (303, 400, 404, 409, 413, 429), response.status_code
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code in (303, 400, 401, 429), response.status_code
    check_consistency(world.app)


# --- text normalisation ------------------------------------------------------------------------------

@settings(max_examples=500, deadline=None)
@given(value=st.text() | TEXTS | st.text(min_size=400, max_size=900))
def test_question_text_is_normalised_or_refused(value):
    try:
        result = texts.question_text(value)
    except DomainError as exc:
        assert exc.code in ("empty", "too_long"), exc.code
        if exc.code == "empty":
            assert all(unicodedata.category(ch) in ("Cc", "Cs") or texts.is_invisible(ch) for ch in value)
        return
    assert 0 < len(result) <= texts.MAX_QUESTION
    assert unicodedata.is_normalized("NFC", result)
    assert result == result.strip() and "  " not in result
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") or ch in BIDI for ch in result)
    assert not any(ch.isspace() and ch != " " for ch in result)
    assert any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in result)
    assert not texts.is_invisible(result) and not any(0xE0000 <= ord(ch) <= 0xE007F for ch in result)
    assert texts.question_text(result) == result, "normalising twice changes the text"


@settings(max_examples=200, deadline=None)
@given(value=JSON.filter(lambda v: not isinstance(v, str)) | st.text())
def test_names_and_non_texts(value):
    if not isinstance(value, str):
        with pytest.raises(DomainError) as refused:
            texts.question_text(value)
        assert refused.value.code == "invalid"
        if value is not None:
            with pytest.raises(DomainError):
                texts.author_name(value)
        return
    try:
        name = texts.author_name(value)
    except DomainError as exc:
        assert exc.detail["field"] == "name"
        assert exc.code == "too_long" or (exc.code == "invalid" and texts.staff_claim(value)), exc
        return
    assert name is None or (0 < len(name) <= texts.MAX_NAME and texts.author_name(name) == name)
