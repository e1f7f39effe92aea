"""Rate limits for submissions, votes and logins, on the `limits` library (Flask-Limiter's core).

Per-address limits are generous (a whole office shares one NAT address) and skipped for
RATE_LIMIT_EXEMPT; per-client and per-account limits always apply.
"""
from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .services.errors import DomainError


class RateLimits:
    def __init__(self, storage_uri: str, exempt: list[str], config: dict):
        self.storage = storage_from_string(storage_uri)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.exempt = frozenset(exempt)
        self.config = config

    def hit(self, kind: str, *, client: str | None = None, address: str | None = None,
            account: str | None = None) -> int | None:
        """Count one attempt; None when allowed, else seconds until the next is."""
        checks = []
        if client:
            checks.append((f"LIMIT_{kind}_PER_CLIENT", client))
        if account:
            checks.append((f"LIMIT_{kind}_PER_ACCOUNT", account))
        if address and address not in self.exempt:
            checks.append((f"LIMIT_{kind}_PER_ADDRESS", address))
        for setting, key in checks:
            limit = parse(self.config[setting])
            if not self.strategy.hit(limit, setting, key):
                reset = self.strategy.get_window_stats(limit, setting, key).reset_time
                return max(1, math.ceil(reset - time.time()))
        return None

    def check(self, kind: str, **keys: str | None) -> None:
        """Count one attempt; refuse it with `rate_limited` (and when to retry) when over a limit."""
        retry = self.hit(kind, **keys)
        if retry is not None:
            raise DomainError("rate_limited", {"retry_after": retry})

    def reset(self) -> None:
        self.storage.reset()
