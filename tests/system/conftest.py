"""Fixtures for the tests against real server processes, and browser fixtures for the Playwright
test modules: one Chromium per module, and contexts (German unless told otherwise) that are closed
after each test. Every page counts its snapshots (`live()` waits for one); a module's INIT_SCRIPT,
if it has one, runs in every page of its contexts too."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.server import Server
from tests.system.browsing import CHROMIUM, CHROMIUM_ARGS, COUNT_SNAPSHOTS, TIMEOUT


@pytest.fixture(scope="session")
def server_template(tmp_path_factory):
    """One migrated and seeded SQLite database with an admin; every test works on a copy."""
    tmp = str(tmp_path_factory.mktemp("server-template"))
    template = Server(tmp=tmp).prepare()
    return template


@pytest.fixture
def make_server(server_template, tmp_path):
    made: list[Server] = []

    def make(*, database_url: str | None = None, prepare: bool = True, **kw) -> Server:
        tmp = tmp_path / f"srv{len(made)}"
        tmp.mkdir()
        if database_url is None and prepare:
            src = server_template.database_url.removeprefix("sqlite:///")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(src + suffix):
                    shutil.copy(src + suffix, f"{tmp}/server.sqlite3{suffix}")
        server = Server(tmp=str(tmp), database_url=database_url, **kw)
        server.user, server.password = server_template.user, server_template.password
        if database_url is not None and prepare:
            server.prepare()
        made.append(server)
        return server

    yield make
    for server in reversed(made):
        server.close()


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
        context.add_init_script(COUNT_SNAPSHOTS)
        if init_script:
            context.add_init_script(init_script)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()
