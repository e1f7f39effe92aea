"""The in-process rate limit storage: limits hold, and a storm of hits does not sweep every key
every 10 ms (the library's default, a quarter of the server's CPU in a vote storm)."""
from __future__ import annotations

import time
import uuid

import pytest

from moderation import ratelimit
from moderation.config import DEFAULTS
from moderation.ratelimit import RateLimits, SweptMemoryStorage
from tests.helpers import require_or_skip


def test_a_limit_refuses_past_its_count_and_allows_again_after_its_window():
    limits = RateLimits("memory://", [], {"LIMIT_VOTE_PER_CLIENT": "3 per 1 second"})
    assert isinstance(limits.storage, SweptMemoryStorage)
    assert [limits.hit("VOTE", client="anna") for _ in range(3)] == [None, None, None]
    assert limits.hit("VOTE", client="anna") == 1
    assert limits.hit("VOTE", client="ben") is None  # per client
    time.sleep(1.05)  # past the window: the moving window has room again
    assert limits.hit("VOTE", client="anna") is None


def test_a_storm_of_hits_sweeps_the_keys_about_once_a_second(monkeypatch):
    sweeps = []
    original = SweptMemoryStorage._MemoryStorage__expire_events  # type: ignore[attr-defined]

    def counted(self):
        sweeps.append(time.monotonic())
        original(self)

    monkeypatch.setattr(SweptMemoryStorage, "_MemoryStorage__expire_events", counted)
    limits = RateLimits("memory://", [], {"LIMIT_VOTE_PER_CLIENT": "60 per minute",
                                          "LIMIT_VOTE_PER_ADDRESS_QUESTION": "30 per hour"})
    started, i = time.monotonic(), 0
    while time.monotonic() - started < 0.5:  # hits spread over half a second, as in a storm
        limits.hit("VOTE", client=f"client-{i}", address="192.0.2.1", per_address={"question": i % 10})
        i += 1
        time.sleep(0.001)
    elapsed = time.monotonic() - started
    assert len(sweeps) <= elapsed / ratelimit.SWEEP_SECONDS + 2, (len(sweeps), elapsed)


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_a_blocked_persons_place_is_kept_as_a_keyed_hash_in_either_store(store):
    """The limiter's own store, in one process (memory://) or shared (Redis): the network a
    blocked person was seen at holds new identities there, in that talk only, until unblocked."""
    uri = "memory://" if store == "memory" else require_or_skip("TEST_REDIS_URL", "Redis")
    config = {"PLACE_SECONDS": 60, "BLOCKED_PLACE_SECONDS": 60, "SECRET_KEY": uuid.uuid4().hex,
              "REDIS_PREFIX": "fr-test-" + uuid.uuid4().hex[:8]}
    limits = RateLimits(uri, [], config)
    limits.note_place(1, "troll", "2001:db8:9:9::5")
    assert not limits.held(1, "2001:db8:9:9::77")
    limits.block_place(1, "troll")
    assert limits.held(1, "2001:db8:9:9::77") and not limits.held(2, "2001:db8:9:9::77")
    assert not limits.held(1, "2001:db8:9:a::1")
    limits.note_place(1, "troll", "2001:db8:9:9::5")
    limits.block_place(1, "troll", blocked=False)
    assert not limits.held(1, "2001:db8:9:9::77")


def test_fresh_votes_from_an_exempt_address_flag_nothing():
    """Loopback load tests (RATE_LIMIT_EXEMPT) skip the address's counts, the fresh-vote flag too:
    24 fresh ids of a test crowd on 127.0.0.1 flagged the question they voted for."""
    config = {**DEFAULTS, "SECRET_KEY": "k", "REDIS_PREFIX": "t"}
    limits = RateLimits("memory://", ["127.0.0.1"], config)
    for i in range(config["FRESH_VOTES_FLAG_AT"] + 2):
        limits.mark_fresh(f"c{i}")
    assert not any(limits.fresh_vote(f"c{i}", "127.0.0.1", 7) for i in range(config["FRESH_VOTES_FLAG_AT"] + 2))
    assert any(limits.fresh_vote(f"c{i}", "192.0.2.1", 7) for i in range(config["FRESH_VOTES_FLAG_AT"] + 2))
