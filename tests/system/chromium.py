"""Debian's Chromium for the browser tests: where it is, how it starts, and what happens without it
(skipped locally, a failure where REQUIRE_BROWSER=1, as in CI)."""
from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def require() -> None:
    """Call at module level, before importing playwright."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing but REQUIRE_BROWSER=1", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing: browser tests skipped", allow_module_level=True)
