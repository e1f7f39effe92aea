"""Fixtures of the system tests that drive a browser."""
from __future__ import annotations

import pytest

from tests.system.chromium import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module (the module's server outlives single tests too)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
