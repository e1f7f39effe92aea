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


class Routed:
    """A phone's question page whose WebSocket runs through Playwright: what the page sends passes
    (its resyncs counted); each message from the server goes to `deliver(self, message, send)`, which
    may hold it back, drop it or send it later. Questions asked by another person, approved by a
    moderator's screen."""

    def __init__(self, make_server, new_context, texts: list[str], deliver, env: dict | None = None):
        self.server = make_server(async_mode="eventlet", env=env).start()
        asker = self.server.audience()
        self.asked = []
        for text in texts:
            ack = asker.call("submit", {"text": unique(text), "client_msg_id": new_msg_id()})
            assert ok(ack), ack
            self.asked.append(ack["question"])
        self.moderator = self.server.moderator(self.server.login())
        self.resyncs: list[str] = []
        self.snapshots: list[str] = []

        def route(ws):
            upstream = ws.connect_to_server()

            def from_page(message):
                if isinstance(message, str) and RESYNC.match(message):
                    self.resyncs.append(message)
                upstream.send(message)

            def from_server(message):
                if isinstance(message, str) and message.startswith(SNAPSHOT):
                    self.snapshots.append(message)
                deliver(self, message, ws.send)

            ws.on_message(from_page)
            upstream.on_message(from_server)

        self.page = new_context(viewport={"width": 360, "height": 740}).new_page()
        self.page.route_web_socket("**/socket.io/**", route)
        self.page.goto(self.server.url + "/t/demo")
        _wait(self.page, lambda: self.snapshots)

    def approve(self, *which: int) -> None:
        for i in which:
            assert ok(self.moderator.call("approve", {"question_id": self.asked[i]["id"]}))

    def shown(self, i: int):
        return self.page.get_by_role("listitem").filter(has_text=self.asked[i]["text"])

    def about(self, i: int, message) -> bool:
        """Whether a message from the server is the change of asked question i."""
        return (isinstance(message, str) and message.startswith(QUESTION)
                and f'"question":{{"id":{self.asked[i]["id"]},' in message)


def test_a_change_that_arrives_before_its_snapshot_is_applied_after_it(make_server, new_context):
    held: list[tuple[str, object]] = []
    changes: list[str] = []

    def deliver(routed, message, send):
        if isinstance(message, str) and message.startswith(SNAPSHOT) and not changes:
            held.append((message, send))
            return
        if routed.about(0, message):
            changes.append(message)
        send(message)

    routed = Routed(make_server, new_context, ["Wer kümmert sich um den leeren Marktplatz?"], deliver)
    assert held
    routed.approve(0)
    _wait(routed.page, lambda: changes)
    snapshot, send = held.pop()
    send(snapshot)
    expect(routed.shown(0)).to_be_visible()


def test_changes_that_arrive_in_the_other_order_are_applied_without_a_resync(make_server, new_context):
    """A and B approved one after the other reach the page as B, A: both shown, no resync. C is
    never delivered: D waits for it, then the page resyncs once and shows C and D."""
    held: list[str] = []

    def deliver(routed, message, send):
        if routed.about(0, message) and not held:
            held.append(message)
        elif routed.about(1, message):
            send(message)
            send(held[0])
        elif not routed.about(2, message):
            send(message)

    routed = Routed(make_server, new_context, ["Wer pflegt die Grünflächen am Bahnhof?",
                                               "Gibt es bald wieder eine Apotheke?",
                                               "Wie lange bleibt das Freibad geöffnet?",
                                               "Wer organisiert das Stadtfest?"], deliver)
    routed.approve(0, 1)
    expect(routed.shown(0)).to_be_visible()
    expect(routed.shown(1)).to_be_visible()
    assert held and len(routed.snapshots) == 1 and not routed.resyncs

    routed.approve(2, 3)
    expect(routed.shown(2)).to_be_visible()  # only the resync's snapshot has it
    expect(routed.shown(3)).to_be_visible()
    assert len(routed.resyncs) == 1, routed.resyncs  # D's gap, not A's and B's order: that one came first
    assert len(routed.snapshots) == 2


def test_a_resync_refused_as_too_frequent_is_asked_again(make_server, new_context):
    """Two real gaps within the resync limit's window: the second resync is refused
    (`rate_limited`), and the page asks again 5 s later instead of staying frozen."""
    def deliver(routed, message, send):
        if not (routed.about(0, message) or routed.about(2, message)):
            send(message)

    routed = Routed(make_server, new_context, [f"Frage {n} zum Stadtpark" for n in range(4)], deliver,
                    env={"LIMIT_RESYNC_PER_CLIENT": "1 per 5 seconds"})
    routed.approve(0, 1)
    expect(routed.shown(0)).to_be_visible()  # the first resync's snapshot
    routed.approve(2, 3)
    expect(routed.shown(2)).to_be_visible(timeout=15_000)  # refused, then asked again 5 s later
    assert len(routed.resyncs) == 3 and len(routed.snapshots) == 3, (routed.resyncs, len(routed.snapshots))


def _wait(page, condition) -> None:
    """Let Playwright dispatch the route's messages until `condition()` holds (15 s at most)."""
    for _ in range(300):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError("the routed WebSocket did not get there")
