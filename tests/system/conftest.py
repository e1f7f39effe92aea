"""Browser fixtures for the Playwright test modules: one Chromium per module, and contexts
(German unless told otherwise) that are closed after each test. A module's INIT_SCRIPT, if it
has one, runs in every page of its contexts."""
from __future__ import annotations

import pytest

from tests.system.browsing import CHROMIUM, CHROMIUM_ARGS, TIMEOUT


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_context(browser, request):
    init_script = getattr(request.module, "INIT_SCRIPT", None)
    made = []

    def make(**options):
        options.setdefault("locale", "de-DE")
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT)
        if init_script:
            context.add_init_script(init_script)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()
