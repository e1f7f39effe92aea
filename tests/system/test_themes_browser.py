"""Themen in a real browser: over a busy queue (the fixtures' 210 questions in all states, with
votes), the desk shows a handful of topics with their counts, and choosing one filters the queue
to its questions; "Alle Themen" shows them all again. SHOTS_DIR=… saves a screenshot."""
from __future__ import annotations

import json
import os
import random
import re
import time
import uuid
from pathlib import Path

import pytest

from tests.server import Server
from tests.system.browsing import log_in, require_chromium
from tests.system.test_browser import MOD_PASSWORD, MOD_USER, expect, live

require_chromium()
pytestmark = pytest.mark.browser
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fill(server: Server) -> int:
    """The fixtures' questions in the server's talk `demo`, as a busy round has them; the pending count."""
    from moderation import create_app
    from moderation.extensions import db
    from moderation.models import Question, Vote, utcnow
    from moderation.services import questions, talks

    app = create_app({"SQLALCHEMY_DATABASE_URI": server.database_url, "SECRET_KEY": "fill", "TESTING": True})
    rng = random.Random(25)
    texts = [item["text"] for name in ("kleinstaedte_fragen.json", "kleinstaedte_fragen_2.json")
             for items in json.loads((FIXTURES / name).read_text(encoding="utf-8"))["talks"].values() for item in items]
    pending = 0
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        for text in texts:
            write = questions.submit(db.session, talk, text=text, name=rng.choice((None, "Anna", "Jens")),
                                     client=uuid.uuid4().hex, client_msg_id=uuid.uuid4().hex, now=utcnow())
            question = db.session.get(Question, write.question.id)
            question.status = rng.choice(("pending",) * 5 + ("approved",) * 3 + ("answered",) * 2 + ("rejected",))
            pending += question.status == "pending"
            for _ in range(rng.choice((0, 0, 1, 2, 5)) if question.status != "rejected" else 0):
                db.session.add(Vote(question_id=question.id, client_hash=uuid.uuid4().hex))
        db.session.commit()
        db.engine.dispose()
    return pending


@pytest.fixture(scope="module")
def busy():
    server = Server(async_mode="eventlet")
    try:
        server.prepare(user=False)
        server.cli("create-user", MOD_USER, "--password", MOD_PASSWORD, "--role", "moderator")
        pending = fill(server)
        server.start()
        # A first moderator makes the new process encode the questions and work off their
        # suggestions (a backlog of 189 that a real round never has: they come one by one).
        first = server.moderator(server.login(MOD_USER, MOD_PASSWORD))
        assert first.wait_for(lambda name, data: name == "topics", timeout=120) is not None
        quiet = 0
        while quiet < 3:
            seen = len(first.events)
            time.sleep(1)
            quiet = quiet + 1 if len(first.events) == seen else 0
        first.close()
        yield server, pending
    finally:
        server.close()


def test_choosing_a_topic_filters_the_queue_and_all_topics_shows_it_again(busy, new_context):
    server, pending = busy
    page = new_context(viewport={"width": 1366, "height": 768}).new_page()
    log_in(page, server.url, MOD_USER, MOD_PASSWORD)
    page.goto(server.url + "/moderate/demo")
    live(page)
    # The group, not the region around it: Playwright takes a minute to name every region of a
    # page with 189 cards.
    themes = page.get_by_role("group", name="Themen")
    topics = themes.get_by_role("button")
    expect(topics.filter(has_text=re.compile(r"\d+ neu"))).to_have_count(8)  # 189 questions: 8 topics
    queue = page.get_by_role("tabpanel", name="Neu").get_by_role("listitem")
    expect(queue).to_have_count(pending)
    if os.environ.get("SHOTS_DIR"):
        Path(os.environ["SHOTS_DIR"]).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(os.environ["SHOTS_DIR"]) / "themes-desk.png"))

    topic = topics.filter(has_text=re.compile(r"[1-9]\d* neu")).first
    name = topic.locator(".theme-words").inner_text()
    waiting = int(re.search(r"(\d+) neu", topic.inner_text()).group(1))
    themes.get_by_role("button", name=re.compile("^" + re.escape(name))).click()
    expect(themes.get_by_role("button", name=re.compile("^" + re.escape(name)))).to_have_attribute("aria-pressed", "true")
    expect(queue).to_have_count(waiting)  # only the topic's waiting questions
    assert 0 < waiting < pending
    if os.environ.get("SHOTS_DIR"):
        page.screenshot(path=str(Path(os.environ["SHOTS_DIR"]) / "themes-filtered.png"))

    themes.get_by_role("button", name=re.compile("^Alle Themen")).click()
    expect(queue).to_have_count(pending)
    expect(themes.get_by_role("button", name=re.compile("^Alle Themen"))).to_have_attribute("aria-pressed", "true")


def test_the_report_shows_the_topics_of_the_whole_talk(busy, new_context):
    server, _pending = busy
    page = new_context().new_page()
    log_in(page, server.url, MOD_USER, MOD_PASSWORD)
    page.goto(server.url + "/moderate/demo/report")
    table = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Nicht erreicht"))
    expect(table.get_by_role("row")).to_have_count(9)  # a header and 8 topics
    if os.environ.get("SHOTS_DIR"):
        page.screenshot(path=str(Path(os.environ["SHOTS_DIR"]) / "themes-report.png"), full_page=True)
