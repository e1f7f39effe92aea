"""Issue 10, finding 4: nobody can lock a moderator out by guessing.

Only wrong passwords count, per (account, address) with growing waits and per address overall;
the owner from another address always gets in, and the page says how long to wait."""
from __future__ import annotations

import time
import uuid

import pytest

from moderation.extensions import db
from moderation.services import accounts, talks
from tests.helpers import PASSWORD, require_or_skip

OWNER = "192.0.2.10"
WRONG = "falsch-geraten"


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def attempt(client, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password})


class FakeTime:
    """time.time() for the rate limiter's windows, moved by the test instead of waited for."""

    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def later(monkeypatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(time, "time", fake)
    return fake


def test_guessing_from_many_addresses_never_locks_out_the_owner(app, seeded, moderator_user, later):
    for n in range(12):
        attacker = from_address(app, f"198.51.100.{n}")
        assert [attempt(attacker, "mod", WRONG).status_code for _ in range(8)] == [401] * 4 + [429] * 4
    assert attempt(from_address(app, OWNER), "mod", PASSWORD).status_code == 303


def test_the_guessing_address_waits_and_is_told_how_long(app, seeded, moderator_user, later):
    attacker = from_address(app, "198.51.100.66")
    for _ in range(4):
        assert attempt(attacker, "mod", WRONG).status_code == 401
    blocked = attempt(attacker, "mod", PASSWORD)
    assert blocked.status_code == 429, "the right password must not help a guesser"
    assert "Bitte versuchen Sie es in 2 Sekunden erneut." in blocked.get_data(as_text=True)
    assert blocked.headers["Retry-After"] == "2"
    # the same address may still log in to another account
    with app.app_context():
        accounts.create_or_update(db.session, "kollegin", PASSWORD, "moderator")
        db.session.commit()
    assert attempt(attacker, "kollegin", PASSWORD).status_code == 303
    later.now += 2
    assert attempt(attacker, "mod", PASSWORD).status_code == 303, "after the wait the password works"


def test_waits_double_with_every_further_wrong_guess(app, seeded, moderator_user, later):
    guesser = from_address(app, "198.51.100.70")
    waits = []
    for _ in range(3):
        assert attempt(guesser, "mod", WRONG).status_code == 401
    for _ in range(12):
        assert attempt(guesser, "mod", WRONG).status_code == 401
        response = attempt(guesser, "mod", WRONG)
        assert response.status_code == 429
        waits.append(int(response.headers["Retry-After"]))
        later.now += waits[-1]
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    assert "in 15 Minuten" in response.get_data(as_text=True)
    assert attempt(guesser, "mod", PASSWORD).status_code == 303, "after the wait the owner's password works"
    later.now += 24 * 3600
    assert [attempt(guesser, "mod", WRONG).status_code for _ in range(5)] == [401] * 4 + [429], \
        "a day later the count starts afresh"


def test_successful_logins_never_count(app, seeded, moderator_user, later):
    client = from_address(app, OWNER)
    for _ in range(3):
        assert attempt(client, "mod", WRONG).status_code == 401
    for _ in range(25):
        assert attempt(from_address(app, OWNER), "mod", PASSWORD).status_code == 303
    assert attempt(client, "mod", WRONG).status_code == 401, "the fourth wrong password is still answered"
    assert attempt(client, "mod", WRONG).status_code == 429


def test_one_address_guessing_many_accounts_is_throttled(app, seeded, moderator_user, later):
    sprayer = from_address(app, "198.51.100.77")
    for i in range(30):
        assert attempt(sprayer, f"name-{i}", WRONG).status_code == 401
    blocked = attempt(sprayer, "mod", PASSWORD)
    assert blocked.status_code == 429 and "Minuten" in blocked.get_data(as_text=True)
    assert attempt(from_address(app, OWNER), "mod", PASSWORD).status_code == 303


def test_exempt_address_keeps_the_per_account_throttle(make_app, clock, later):
    app = make_app(RATE_LIMIT_EXEMPT=["127.0.0.1"])
    with app.app_context():
        talks.seed(db.session, clock())
        accounts.create_or_update(db.session, "mod", PASSWORD, "moderator")
        db.session.commit()
    local = from_address(app, "127.0.0.1")
    for i in range(40):
        assert attempt(local, f"name-{i}", WRONG).status_code == 401
    for _ in range(4):
        assert attempt(local, "mod", WRONG).status_code == 401
    assert attempt(local, "mod", PASSWORD).status_code == 429


def test_login_throttle_is_shared_over_redis(make_app, clock):
    """Two app instances (as two server processes) share the counts."""
    redis_url = require_or_skip("TEST_REDIS_URL", "Redis")
    account = f"mod-{uuid.uuid4().hex[:8]}"
    first = make_app(REDIS_URL=redis_url, LOGIN_WAIT_FIRST=60)
    with first.app_context():
        talks.seed(db.session, clock())
        accounts.create_or_update(db.session, account, PASSWORD, "moderator")
        db.session.commit()
    address = f"2001:db8::{uuid.uuid4().hex[:4]}"
    for _ in range(4):
        assert attempt(from_address(first, address), account, WRONG).status_code == 401
    second = make_app(REDIS_URL=redis_url, LOGIN_WAIT_FIRST=60)
    blocked = attempt(from_address(second, address), account, PASSWORD)
    assert blocked.status_code == 429 and 55 <= int(blocked.headers["Retry-After"]) <= 60
    assert attempt(from_address(second, OWNER), account, PASSWORD).status_code == 303
