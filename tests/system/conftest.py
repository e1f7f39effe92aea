"""Fixtures for the tests against real server processes, and browser fixtures for the Playwright
test modules: one Chromium per test process, and contexts (German unless told otherwise) that are closed
after each test. Every page counts its snapshots (`live()` waits for one); a module's INIT_SCRIPT,
if it has one, runs in every page of its contexts too."""
from __future__ import annotations

import pytest

from tests.server import Server
from tests.system.browsing import CHROMIUM, CHROMIUM_ARGS, COUNT_SNAPSHOTS, TIMEOUT


@pytest.fixture
def make_server(tmp_path):
    """Servers for one test, each on a database of its own (prepared unless `prepare=False`);
    closed after the test."""
    made: list[Server] = []

    def make(*, database_url: str | None = None, prepare: bool = True, **kw) -> Server:
        tmp = tmp_path / f"srv{len(made)}"
        tmp.mkdir()
        server = Server(tmp=str(tmp), database_url=database_url, **kw)
        made.append(server)
        if prepare:
            server.prepare()
        return server

    yield make
    for server in reversed(made):
        server.close()


@pytest.fixture(scope="session")
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
        context.add_init_script(COUNT_SNAPSHOTS)
        if init_script:
            context.add_init_script(init_script)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()
