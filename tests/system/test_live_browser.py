"""static/js/live.js in a real browser: a change sent before the snapshot it follows is not lost,
and two changes that arrive in the other order cost no resync.

The server reads a snapshot in a transaction of its own and pauses between chunks of questions,
so a change committed meanwhile can reach the page before the snapshot; two writes committed one
after the other, in two processes or two tasks of one, can reach a page in the other order
(docs/protocol.md, §4). Here the page's WebSocket is routed through Playwright, which delivers the
messages in exactly that order, every time.
"""
from __future__ import annotations

import re

import pytest

from tests.server import new_msg_id, ok
from tests.system.browsing import require_chromium, unique

pytestmark = pytest.mark.browser
require_chromium()

from playwright.sync_api import expect  # noqa: E402

SNAPSHOT = '42/audience,["snapshot"'
QUESTION = '42/audience,["question"'
RESYNC = re.compile(r'42/audience,\d*\["resync"')  # with or without an acknowledgement id


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


def test_changes_that_arrive_in_the_other_order_are_applied_without_a_resync(make_server, new_context):
    """A and B approved one after the other reach the page as B, A: both shown, no resync. C is
    never delivered: D waits for it, then the page resyncs once and shows C and D."""
    server = make_server(async_mode="eventlet").start()
    asker = server.audience()
    texts = {}
    for key, text in {"a": "Wer pflegt die Grünflächen am Bahnhof?", "b": "Gibt es bald wieder eine Apotheke?",
                      "c": "Wie lange bleibt das Freibad geöffnet?", "d": "Wer organisiert das Stadtfest?"}.items():
        texts[key] = unique(text)
        ack = asker.call("submit", {"text": texts[key], "client_msg_id": new_msg_id()})
        assert ok(ack), ack
        texts[key + "_id"] = ack["question"]["id"]
    moderator = server.moderator(server.login())

    held: list[str] = []
    resyncs: list[str] = []
    snapshots: list[str] = []

    def route(ws):
        upstream = ws.connect_to_server()

        def from_page(message):
            if isinstance(message, str) and RESYNC.match(message):
                resyncs.append(message)
            upstream.send(message)

        def about(key: str, message: str) -> bool:
            return f'"question":{{"id":{texts[key + "_id"]},' in message

        def from_server(message):
            if isinstance(message, str) and message.startswith(SNAPSHOT):
                snapshots.append(message)
            if isinstance(message, str) and message.startswith(QUESTION):
                if about("a", message) and not held:
                    held.append(message)
                    return
                if about("c", message):
                    return
                if about("b", message):
                    ws.send(message)
                    ws.send(held[0])
                    return
            ws.send(message)

        ws.on_message(from_page)
        upstream.on_message(from_server)

    page = new_context(viewport={"width": 360, "height": 740}).new_page()
    page.route_web_socket("**/socket.io/**", route)
    page.goto(server.url + "/t/demo")
    _wait(page, lambda: snapshots)
    questions = page.get_by_role("listitem")

    for key in ("a", "b"):
        assert ok(moderator.call("approve", {"question_id": texts[key + "_id"]}))
    expect(questions.filter(has_text=texts["a"])).to_be_visible()
    expect(questions.filter(has_text=texts["b"])).to_be_visible()
    assert held and len(snapshots) == 1 and not resyncs

    for key in ("c", "d"):
        assert ok(moderator.call("approve", {"question_id": texts[key + "_id"]}))
    expect(questions.filter(has_text=texts["c"])).to_be_visible()  # only the resync's snapshot has it
    expect(questions.filter(has_text=texts["d"])).to_be_visible()
    assert len(resyncs) == 1, resyncs  # D's gap, not A's and B's order: that one came first
    assert len(snapshots) == 2


def test_a_resync_refused_as_too_frequent_is_asked_again(make_server, new_context):
    """Two real gaps within the resync limit's window: the second resync is refused
    (`rate_limited`), and the page asks again 5 s later instead of staying frozen."""
    server = make_server(async_mode="eventlet", env={"LIMIT_RESYNC_PER_CLIENT": "1 per 5 seconds"}).start()
    asker = server.audience()
    ids = {}
    for key in "cdef":
        ack = asker.call("submit", {"text": unique(f"Frage {key} zum Stadtpark"), "client_msg_id": new_msg_id()})
        assert ok(ack), ack
        ids[key] = ack["question"]
    moderator = server.moderator(server.login())
    resyncs: list[str] = []
    snapshots: list[str] = []
    lost = {f'"question":{{"id":{ids[key]["id"]},' for key in "ce"}

    def route(ws):
        upstream = ws.connect_to_server()

        def from_page(message):
            if isinstance(message, str) and RESYNC.match(message):
                resyncs.append(message)
            upstream.send(message)

        def from_server(message):
            if isinstance(message, str) and message.startswith(SNAPSHOT):
                snapshots.append(message)
            if isinstance(message, str) and message.startswith(QUESTION) and any(m in message for m in lost):
                return
            ws.send(message)

        ws.on_message(from_page)
        upstream.on_message(from_server)

    page = new_context(viewport={"width": 360, "height": 740}).new_page()
    page.route_web_socket("**/socket.io/**", route)
    page.goto(server.url + "/t/demo")
    _wait(page, lambda: snapshots)
    questions = page.get_by_role("listitem")
    for key in "cd":
        assert ok(moderator.call("approve", {"question_id": ids[key]["id"]}))
    expect(questions.filter(has_text=ids["c"]["text"])).to_be_visible()  # the first resync's snapshot
    for key in "ef":
        assert ok(moderator.call("approve", {"question_id": ids[key]["id"]}))
    # refused, then asked again 5 s later
    expect(questions.filter(has_text=ids["e"]["text"])).to_be_visible(timeout=15_000)
    assert len(resyncs) == 3 and len(snapshots) == 3, (resyncs, len(snapshots))


def _wait(page, condition) -> None:
    """Let Playwright dispatch the route's messages until `condition()` holds (15 s at most)."""
    for _ in range(300):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError("the routed WebSocket did not get there")
