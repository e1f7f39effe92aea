"""Rate limits for identities, connects, submissions, votes, resyncs and logins, on the `limits`
library (Flask-Limiter's core).

Per-address limits count what one network address does: an IPv4 address, or an IPv6 /64 (one
household or office holds a whole /64 and can pick any address in it). An office of 30 behind one
NAT shares one, so they are sized for that (config.DEFAULTS) and skipped for RATE_LIMIT_EXEMPT
(loopback load tests). Per-client and per-account limits always apply. Each setting may hold
several windows ("5 per minute; 20 per hour"). No address is kept as such: the store's keys hold
a keyed hash of the network (SECRET_KEY), and every entry expires with its window.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import threading
import time
from collections.abc import Mapping
from typing import Any

from limits import RateLimitItem, parse, parse_many
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter
from redis import BlockingConnectionPool

from .services.errors import DomainError

Check = tuple[str, str]
# Wrong passwords are remembered for a day to size the next wait (the count, not the password).
_FAILURE_MEMORY = parse("100000 per day")


SWEEP_SECONDS = 1.0
# Redis connections of one process's limits, and how long a check waits for a free one. redis-py's
# own pool refuses the 101st concurrent check outright ("Too many connections"): in a vote storm
# behind nginx a thousand handlers check at once, and most of the votes failed with `internal`.
REDIS_CONNECTIONS = 32
REDIS_WAIT_SECONDS = 10


class SweptMemoryStorage(MemoryStorage):
    """limits' memory storage, sweeping out expired entries at most once a second.

    The library sweeps 10 ms after any hit, and a sweep walks every key: at the round's peak
    (a thousand people, several limits each) that was a quarter of the server's CPU in a vote
    storm. Every read checks expiry itself, so the sweep only gives memory back."""

    def _MemoryStorage__schedule_expiry(self) -> None:
        if not self.timer.is_alive():
            self.timer = threading.Timer(SWEEP_SECONDS, self._MemoryStorage__expire_events)  # type: ignore[attr-defined]
            self.timer.daemon = True
            self.timer.start()


def network(address: str) -> str:
    """The network a limit counts: an IPv4 address (an IPv4-mapped IPv6 one too) as it is, an
    IPv6 address as its /64; anything else as given."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


class RateLimits:
    def __init__(self, storage_uri: str, exempt: list[str], config: Mapping[str, Any]):
        # memory:// or redis://: synchronous storages (the async ones need an async: scheme)
        if storage_uri.startswith("memory://"):
            self.storage: Storage = SweptMemoryStorage(storage_uri)
        else:
            pool = BlockingConnectionPool.from_url(storage_uri, max_connections=REDIS_CONNECTIONS,
                                                   timeout=REDIS_WAIT_SECONDS)
            self.storage = RedisStorage(storage_uri, connection_pool=pool, key_prefix=config["REDIS_PREFIX"])
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.exempt = frozenset(exempt)
        self.config = config
        self._key = hashlib.sha256(f"ratelimit:{config.get('SECRET_KEY', '')}".encode()).digest()
        self._values: dict[str, tuple[str, float]] = {}  # memory:// only: key -> (value, expiry)
        self._lock = threading.Lock()

    def place(self, address: str) -> str:
        """The keyed hash of an address's network (`network`): what the store keeps instead."""
        return hmac.new(self._key, network(address).encode(), hashlib.sha256).hexdigest()[:24]

    # --- where a person is, while it matters (a blocked person's next identity) -----------------

    def note_place(self, talk_id: int, client: str, address: str | None) -> None:
        """Remember for PLACE_SECONDS from which network (its keyed hash) an audience id takes
        part in a talk: blocking it then holds that network's new identities for moderation."""
        if address and address not in self.exempt:
            self._put(f"place/{talk_id}/{client}", self.place(address), self.config["PLACE_SECONDS"])

    def block_place(self, talk_id: int, client: str, blocked: bool = True) -> None:
        """A person was blocked (or unblocked) in a talk: hold (or no longer hold) the questions of
        new identities from where they were last seen, for BLOCKED_PLACE_SECONDS."""
        place = self._get(f"place/{talk_id}/{client}")
        if place is None:
            return
        key = f"blocked-place/{talk_id}/{place}"
        self.storage.clear(key)
        if blocked:
            self.storage.incr(key, self.config["BLOCKED_PLACE_SECONDS"])

    def held(self, talk_id: int, address: str | None) -> bool:
        """Whether a question from this address goes to the moderators whatever the talk's
        settings: someone blocked in this talk was last seen at its network."""
        if not address or address in self.exempt:
            return False
        return bool(self.storage.get(f"blocked-place/{talk_id}/{self.place(address)}"))

    def _put(self, key: str, value: str, seconds: int) -> None:
        if isinstance(self.storage, SweptMemoryStorage):
            with self._lock:
                now = time.time()
                self._values = {k: v for k, v in self._values.items() if v[1] > now} \
                    if len(self._values) > 10_000 else self._values
                self._values[key] = (value, now + seconds)
        else:
            redis = self.storage.storage  # type: ignore[attr-defined]
            redis.set(f"{self.config['REDIS_PREFIX']}:{key}", value, ex=seconds)

    def _get(self, key: str) -> str | None:
        if isinstance(self.storage, SweptMemoryStorage):
            value, until = self._values.get(key, ("", 0.0))
            return value if until > time.time() else None
        redis = self.storage.storage  # type: ignore[attr-defined]
        found = redis.get(f"{self.config['REDIS_PREFIX']}:{key}")
        return found.decode() if isinstance(found, bytes) else found

    # --- fresh identities (vote stuffing with new ids from one address) ------------------------

    def mark_fresh(self, client: str) -> None:
        """An audience id was just handed out (or chosen): fresh for FRESH_ID_SECONDS."""
        self.storage.incr(f"fresh-id/{client}", self.config["FRESH_ID_SECONDS"])

    def fresh_vote(self, client: str, address: str | None, question_id: int) -> bool:
        """Count a vote; True exactly when it makes FRESH_VOTES_FLAG_AT votes of fresh ids from
        one address for this question within FRESH_VOTES_SECONDS (the moment to flag it).
        RATE_LIMIT_EXEMPT addresses (loopback load tests) are not counted, like their limits."""
        if not address or address in self.exempt or not self.storage.get(f"fresh-id/{client}"):
            return False
        key = f"fresh-votes/{self.place(address)}/{question_id}"
        return self.storage.incr(key, self.config["FRESH_VOTES_SECONDS"]) == self.config["FRESH_VOTES_FLAG_AT"]

    def hit(self, kind: str, *, client: str | None = None, address: str | None = None,
            account: str | None = None, per_address: Mapping[str, object] | None = None,
            token: str | None = None) -> int | None:
        """Count one attempt against every limit of `kind` that is configured; None when allowed,
        else the seconds until it would be. A refused attempt counts against none of them.

        `per_address` names finer scopes within one address, e.g. {"question": 7} for
        LIMIT_VOTE_PER_ADDRESS_QUESTION."""
        checks: list[Check] = []
        if client:
            checks.append((f"LIMIT_{kind}_PER_CLIENT", client))
        if account:
            checks.append((f"LIMIT_{kind}_PER_ACCOUNT", account))
        if token:  # an intake token (the API's relays)
            checks.append((f"LIMIT_{kind}_PER_TOKEN", token))
        if address and address not in self.exempt:
            place = self.place(address)
            checks.append((f"LIMIT_{kind}_PER_ADDRESS", place))
            for scope, value in (per_address or {}).items():
                checks.append((f"LIMIT_{kind}_PER_ADDRESS_{scope.upper()}", f"{place}|{value}"))
        checks = [(setting, key) for setting, key in checks if self.config.get(setting)]
        wait = self._wait(checks)
        if wait is None:
            self._count(checks)
        return wait

    def check(self, kind: str, **keys: Any) -> None:
        """Count one attempt; refuse it with `rate_limited` (and when to retry) when over a limit."""
        retry = self.hit(kind, **keys)
        if retry is not None:
            raise DomainError("rate_limited", {"retry_after": retry})

    # --- logins: only failures count -----------------------------------------------------------

    def login_wait(self, account: str, address: str | None) -> int | None:
        """Seconds this address must wait before it may try this account again, None if it may now.

        Only wrong passwords from this address (for this account, or for any account) count, so
        guessing elsewhere never locks the owner out, and a successful login costs nothing."""
        waits = []
        lock = self._login_key("login-wait", account, address)
        if self.storage.get(lock):
            waits.append(max(1, math.ceil(self.storage.get_expiry(lock) - time.time())))
        overall = self._wait(self._address_checks(address))
        if overall:
            waits.append(overall)
        return max(waits) if waits else None

    def login_failed(self, account: str, address: str | None) -> None:
        """Count a wrong password. Past LOGIN_FREE_FAILURES within a day, each further one makes
        this address wait twice as long for this account: LOGIN_WAIT_FIRST seconds, then double,
        up to LOGIN_WAIT_MAX."""
        key = self._login_key("login-failures", account, address)
        self.strategy.hit(_FAILURE_MEMORY, "login-failures", key)
        failures = _FAILURE_MEMORY.amount - self.strategy.get_window_stats(_FAILURE_MEMORY, "login-failures",
                                                                            key).remaining
        beyond = failures - self.config["LOGIN_FREE_FAILURES"]
        if beyond > 0:
            wait = min(self.config["LOGIN_WAIT_FIRST"] * 2 ** min(beyond - 1, 30), self.config["LOGIN_WAIT_MAX"])
            lock = self._login_key("login-wait", account, address)
            self.storage.clear(lock)
            self.storage.incr(lock, math.ceil(wait))
        self._count(self._address_checks(address))

    def _login_key(self, kind: str, account: str, address: str | None) -> str:
        return f"{kind}/{account}/{self.place(address) if address else None}"

    def _address_checks(self, address: str | None) -> list[Check]:
        if address and address not in self.exempt:
            return [("LIMIT_LOGIN_FAILURES_PER_ADDRESS", self.place(address))]
        return []

    # --- the windows ---------------------------------------------------------------------------

    def _items(self, setting: str) -> list[RateLimitItem]:
        return parse_many(self.config[setting])

    def _wait(self, checks: list[Check]) -> int | None:
        waits = []
        for setting, key in checks:
            for item in self._items(setting):
                if not self.strategy.test(item, setting, key):
                    reset = self.strategy.get_window_stats(item, setting, key).reset_time
                    waits.append(max(1, math.ceil(reset - time.time())))
        return max(waits) if waits else None

    def _count(self, checks: list[Check]) -> None:
        for setting, key in checks:
            for item in self._items(setting):
                self.strategy.hit(item, setting, key)

    def reset(self) -> None:
        self.storage.reset()


def validate(config: Mapping[str, Any]) -> None:
    """Refuse to start with a limit that does not parse, naming the setting."""
    for setting, value in config.items():
        if setting.startswith("LIMIT_") and value:
            try:
                parse_many(value)
            except ValueError:
                raise RuntimeError(f"{setting}: not a rate limit like '20 per minute': {value!r}") from None
