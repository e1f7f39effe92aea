"""static/js/live.js in a real browser: a change sent before the snapshot it follows is not lost.

The server reads a snapshot in a transaction of its own and pauses between chunks of questions,
so a change committed meanwhile can reach the page before the snapshot (docs/protocol.md, §4).
Here the page's WebSocket is routed through Playwright, which holds the snapshot back until the
change has been delivered: exactly that order, every time.
"""
from __future__ import annotations

import pytest

from tests.server import new_msg_id, ok
from tests.system.browsing import require_chromium, unique

pytestmark = pytest.mark.browser
require_chromium()

from playwright.sync_api import expect  # noqa: E402

SNAPSHOT = '42/audience,["snapshot"'
QUESTION = '42/audience,["question"'


def test_a_change_that_arrives_before_its_snapshot_is_applied_after_it(make_server, new_context):
    server = make_server(async_mode="eventlet").start()
    text = unique("Wer kümmert sich um den leeren Marktplatz?")
    asker = server.audience()
    ack = asker.call("submit", {"text": text, "client_msg_id": new_msg_id()})
    assert ok(ack), ack
    moderator = server.moderator(server.login())

    held: list[str] = []
    routes = []
    changes: list[str] = []

    def route(ws):
        upstream = ws.connect_to_server()

        def from_server(message):
            if isinstance(message, str) and message.startswith(SNAPSHOT) and not changes:
                held.append(message)
                return
            if isinstance(message, str) and message.startswith(QUESTION):
                changes.append(message)
            ws.send(message)

        upstream.on_message(from_server)
        routes.append(ws)

    page = new_context(viewport={"width": 360, "height": 740}).new_page()
    page.route_web_socket("**/socket.io/**", route)
    page.goto(server.url + "/t/demo")
    _wait(page, lambda: held)

    approved = moderator.call("approve", {"question_id": ack["question"]["id"]})
    assert ok(approved), approved
    _wait(page, lambda: changes)
    routes[0].send(held.pop())

    expect(page.get_by_role("listitem").filter(has_text=text)).to_be_visible()


def _wait(page, condition) -> None:
    """Let Playwright dispatch the route's messages until `condition()` holds (15 s at most)."""
    for _ in range(300):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError("the routed WebSocket did not get there")
