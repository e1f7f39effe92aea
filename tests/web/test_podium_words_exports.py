"""Issue 13 without a browser: taking a question back from the podium, "Als Nächstes" per talk,
the audience page before, during and after the window, words (plurals, audit log, dates in the
viewer's language), the exports as office software reads them, and the accessibility statement."""
from __future__ import annotations

import csv
import html
import io
import json
import re
import uuid
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from moderation.extensions import db
from moderation.models import AuditEntry
from moderation.services import accounts, questions, steps, talks, windows
from moderation.services.errors import DomainError
from tests.helpers import PASSWORD, events


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def text_of(response) -> str:
    """What a reader sees: tags dropped, entities resolved, whitespace collapsed."""
    body = re.sub(r"<script.*?</script>", " ", response.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def tag(page: str, pattern: str) -> str:
    match = re.search(pattern, page, re.S)
    assert match, pattern
    return match.group(0)


@pytest.fixture
def demo(session, seeded):
    return talks.by_slug(session, "demo")


@pytest.fixture
def mod_user(session):
    user = accounts.create_or_update(session, "anna", PASSWORD)
    session.commit()
    return user


def ask(session, talk, clock, text="Wann fährt der letzte Bus?", name=None, client="c1"):
    return questions.submit(session, talk, text=text, name=name, client=client,
                            client_msg_id=uuid.uuid4().hex, now=clock()).question


# --- taking a question back from the podium -------------------------------------------------

def test_recall_moves_a_forwarded_question_back_to_approved_and_can_be_undone(session, demo, mod_user, clock):
    question = ask(session, demo, clock)
    questions.transition(session, demo, mod_user, "approve", question.id, now=clock())
    questions.transition(session, demo, mod_user, "forward", question.id, now=clock())
    assert question.forwarded_at is not None

    write = questions.transition(session, demo, mod_user, "recall", question.id, version=question.version,
                                 now=clock())
    session.commit()
    assert [c.old_status for c in write.changed] == ["forwarded"]
    assert (question.status, question.forwarded_at) == ("approved", None)
    entry = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert (entry.action, entry.from_status, entry.to_status) == ("recall", "forwarded", "approved")

    again = questions.transition(session, demo, mod_user, "recall", question.id, now=clock())
    assert again.changed == []  # repeating it is a no-op

    steps.undo(session, demo, mod_user, clock())
    session.commit()
    assert question.status == "forwarded"


def test_only_forwarded_questions_can_be_recalled(session, demo, mod_user, clock):
    question = ask(session, demo, clock)
    with pytest.raises(DomainError) as refused:
        questions.transition(session, demo, mod_user, "recall", question.id, now=clock())
    assert refused.value.code == "invalid"


def test_recall_over_the_socket_takes_it_off_the_podium(app, moderator_client, podium_client, audience_client):
    audience, moderator, podium = audience_client(), moderator_client(), podium_client()
    qid = audience.emit("submit", {"text": "Kommt der Bus öfter?", "client_msg_id": uuid.uuid4().hex},
                        namespace="/audience", callback=True)["question"]["id"]
    for action in ("approve", "forward"):
        assert moderator.emit(action, {"question_id": qid}, namespace="/moderator", callback=True)["ok"]
    events(podium, "/podium")

    ack = moderator.emit("recall", {"question_id": qid}, namespace="/moderator", callback=True)
    assert ack["ok"] and ack["question"]["status"] == "approved"
    seen = [e["args"][0]["question"] for e in events(podium, "/podium", "question")]
    assert [(q["id"], q["status"]) for q in seen] == [(qid, "approved")]

    refused = moderator.emit("recall", {"question_id": "x"}, namespace="/moderator", callback=True)
    assert refused["ok"] is False and refused["error"] == "invalid" and refused["message"]


# --- "Als Nächstes" per talk ----------------------------------------------------------------

def test_podium_next_is_on_by_default_and_a_moderator_switches_it(app, seeded, login, podium_client):
    with app.app_context():
        assert talks.by_slug(db.session, "demo").podium_shows_next is True
    podium = podium_client()
    events(podium, "/podium")
    staff = login()
    page = staff.get("/moderate/demo").get_data(as_text=True)
    assert "„Als Nächstes“ am Podium ausblenden" in page

    response = staff.post("/moderate/demo/podium-next", data={"show": "0"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/moderate/demo")
    told = events(podium, "/podium", "talk")
    assert [e["args"][0]["talk"]["podium_shows_next"] for e in told] == [False]
    assert "„Als Nächstes“ am Podium zeigen" in staff.get("/moderate/demo").get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
        assert (entry.action, entry.before, entry.after, entry.username) == ("podium_next", "on", "off", "mod")

    staff.post("/moderate/demo/podium-next", data={"show": "1"})
    with app.app_context():
        assert talks.by_slug(db.session, "demo").podium_shows_next is True
    assert app.test_client().post("/moderate/demo/podium-next", data={"show": "0"}).status_code in (302, 401)


# --- the podium page --------------------------------------------------------------------------

def test_podium_page_invites_viewers_and_overlay_is_its_own_layout(app, seeded):
    with app.app_context():
        token = talks.by_slug(db.session, "demo").podium_token
    client = app.test_client()
    page = client.get(f"/podium/{token}").get_data(as_text=True)
    assert "/t/demo</a>" in page
    image = tag(page, r'<img class="qr"[^>]*>')
    assert f'src="/podium/{token}/qr.svg"' in image and re.search(r'alt="QR-Code zur Frageseite: http[^"]*/t/demo"',
                                                                   image)
    svg = client.get(f"/podium/{token}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert client.get("/podium/falsch/qr.svg").status_code == 404

    overlay = client.get(f"/podium/{token}?overlay=1").get_data(as_text=True)
    assert '<html lang="de" class="overlay">' in overlay
    assert 'class="qr"' not in overlay and "Als Nächstes" not in overlay


# --- the audience page before, during and after ------------------------------------------------

def test_before_the_window_says_when_it_opens_and_disables_the_whole_form(app, seeded, clock):
    clock.now = utc(2021, 3, 20, 9, 0)
    client = app.test_client()
    response = client.get("/t/wohnen")
    page = response.get_data(as_text=True)
    assert "Die Fragerunde öffnet am 25.03. um 18:30 Uhr." in text_of(response)
    assert "disabled" in tag(page, r"<fieldset[^>]*>")
    assert 'href="/t/wohnen"' not in page  # no link to itself
    english = text_of(client.get("/t/wohnen?lang=en"))
    assert "The Q&A opens on March 25 at 6:30 PM." in english

    clock.now = utc(2020, 12, 1, 9, 0)  # another year: the year is named
    assert "Die Fragerunde öffnet am 25.03.2021 um 18:30 Uhr." in text_of(client.get("/t/wohnen?lang=de"))


def test_during_after_and_closed_by_hand(app, seeded, clock, login):
    client = app.test_client()
    clock.now = utc(2021, 3, 25, 18, 0)  # 19:00 in Berlin
    during = client.get("/t/wohnen")
    assert "Die Fragerunde ist geöffnet bis 20:00 Uhr." in text_of(during)
    assert "disabled" not in tag(during.get_data(as_text=True), r"<fieldset[^>]*>")

    with app.app_context():
        talk = talks.by_slug(db.session, "wohnen")
        user = accounts.by_name(db.session, "mod") or accounts.create_or_update(db.session, "mod", PASSWORD)
        windows.set_state(db.session, talk, user, "closed", None, clock())
        db.session.commit()
    closed = client.get("/t/wohnen")
    assert "Die Fragerunde ist geschlossen." in text_of(closed)
    assert "disabled" in tag(closed.get_data(as_text=True), r"<fieldset[^>]*>")

    clock.now = utc(2021, 3, 26, 9, 0)
    after = client.get("/t/wohnen")
    assert "Die Fragerunde ist beendet." in text_of(after)
    assert re.search(r"Nächster Vortrag: Arbeit und Digitale Transformation", text_of(after))


def test_reopening_inside_the_window_keeps_the_end_time(session, seeded, clock, mod_user):
    talk = talks.by_slug(session, "wohnen")
    clock.now = utc(2021, 3, 25, 18, 0)
    windows.set_state(session, talk, mod_user, "closed", None, clock())
    windows.set_state(session, talk, mod_user, "open", None, clock())
    session.commit()
    assert windows.closes_at(talk, clock()) == talk.ends_at
    assert not windows.is_open(talk, talk.ends_at)


def test_the_name_field_says_where_the_name_is_shown(app, seeded):
    page = app.test_client().get("/t/demo").get_data(as_text=True)
    field = tag(page, r'<input[^>]*id="name"[^>]*>')
    assert 'aria-describedby="name-hint"' in field
    hint = tag(page, r'<p id="name-hint"[^>]*>.*?</p>')
    assert "öffentlich" in hint and "am Podium und im Stream" in hint
    privacy = text_of(app.test_client().get("/datenschutz"))
    assert "am Podium und in der Übertragung (Stream)" in privacy
    assert "über jede Frage nur einmal abstimmen" in privacy


# --- words --------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang, expected", [
    ("de", {"upvotes": ("{n} Hochstufung", "{n} Hochstufungen"),
            "merged": ("{n} zusammengeführte Frage", "{n} zusammengeführte Fragen"),
            "audienceVotes": ("{n} Stimme", "{n} Stimmen")}),
    ("en", {"upvotes": ("{n} upvote", "{n} upvotes"),
            "merged": ("{n} merged question", "{n} merged questions"),
            "audienceVotes": ("{n} vote", "{n} votes")}),
])
def test_counts_have_a_singular_and_a_plural(app, seeded, lang, expected):
    page = app.test_client().get(f"/t/demo?lang={lang}").get_data(as_text=True)
    common = re.search(r'<script type="application/json" id="common-strings">(.*?)</script>', page, re.S)
    counts = json.loads(common.group(1))["counts"]
    for key, (one, other) in expected.items():
        assert counts[key] == {"one": one, "other": other}


def test_times_follow_the_viewers_language(app, seeded):
    client = app.test_client()
    german = text_of(client.get("/t/unterschaetzte-groesse?lang=de"))
    english = text_of(client.get("/t/unterschaetzte-groesse?lang=en"))
    assert "Donnerstag, 11. März 2021, 18:30–20:00 Uhr" in german
    assert "Thursday, March 11, 2021, 6:30 – 8:00 PM (Berlin time)" in english
    assert "18:30" not in english and " AM" not in german and " PM" not in german


def test_audit_log_speaks_in_words(app, seeded, clock, make_app):
    with app.app_context():
        demo = talks.by_slug(db.session, "demo")
        admin = accounts.create_or_update(db.session, "chefin", PASSWORD, "admin")
        question = ask(db.session, demo, clock)
        for action in ("approve", "forward", "recall"):
            questions.transition(db.session, demo, admin, action, question.id, now=clock())
        windows.set_state(db.session, demo, admin, "closed", None, clock())
        db.session.commit()
    client = app.test_client()
    assert client.post("/login", data={"username": "chefin", "password": PASSWORD}).status_code == 303
    page = client.get("/admin/audit/demo").get_data(as_text=True)
    cells = [html.unescape(c).strip() for c in re.findall(r"<td>(.*?)</td>", page, re.S)]
    for words in ("Freigegeben", "Ans Podium gegeben", "Vom Podium genommen", "Am Podium", "Neu",
                  "Fragerunde geändert", "geschlossen", "nach Zeitplan"):
        assert words in cells, words
    for code in ("approve", "forward", "recall", "pending", "approved", "forwarded", "talk_state", "schedule"):
        assert code not in cells, code
    english = client.get("/admin/audit/demo?lang=en").get_data(as_text=True)
    assert "Taken back from the podium" in english and "Vom Podium genommen" not in english


# --- exports --------------------------------------------------------------------------------------

@pytest.fixture
def exported(app, seeded, clock, login):
    with app.app_context():
        demo = talks.by_slug(db.session, "demo")
        user = accounts.by_name(db.session, "mod")
        bus = ask(db.session, demo, clock, "Wann fährt der letzte Bus über Ölbronn?", "Jürgen Öztürk")
        formula = ask(db.session, demo, clock, '=HYPERLINK("http://evil.example";"Klick")', "@mallory", client="c2")
        questions.transition(db.session, demo, user, "approve", bus.id, now=clock())
        questions.transition(db.session, demo, user, "forward", bus.id, now=clock())
        questions.set_vote(db.session, demo, "v1", bus.id, 1)
        questions.transition(db.session, demo, user, "reject", formula.id, now=clock())
        db.session.commit()
        return login(), bus.id, formula.id


def test_csv_export_opens_in_german_excel(exported, clock):
    staff, bus, formula = exported
    response = staff.get("/moderate/demo/export.csv")
    assert response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0][:5] == ["Nr.", "Frage", "Name", "Status", "Stimmen"]
    by_id = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert by_id[str(bus)]["Frage"] == "Wann fährt der letzte Bus über Ölbronn?"
    assert (by_id[str(bus)]["Name"], by_id[str(bus)]["Status"], by_id[str(bus)]["Stimmen"]) == (
        "Jürgen Öztürk", "Am Podium", "1")
    assert by_id[str(formula)]["Status"] == "Abgelehnt"
    assert by_id[str(formula)]["Frage"].startswith("'=")
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", by_id[str(bus)]["Eingegangen"])
    english = staff.get("/moderate/demo/export.csv?lang=en").get_data().decode("utf-8-sig")
    assert english.splitlines()[0].startswith("No.;Question;Name;Status;Votes")


def test_xlsx_export_opens_with_openpyxl(exported):
    staff, bus, formula = exported
    response = staff.get("/moderate/demo/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="fragerunde-demo.xlsx"' in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet.title == "Fragen"
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["Nr.", "Frage", "Name", "Status", "Stimmen"]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= 40 and sheet.column_dimensions["A"].width < 10
    rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {bus, formula}
    assert (rows[bus]["Status"], rows[bus]["Stimmen"], rows[bus]["Name"]) == ("Am Podium", 1, "Jürgen Öztürk")
    assert isinstance(rows[bus]["Eingegangen"], datetime)
    assert rows[formula]["Status"] == "Abgelehnt"
    cell = next(c for c in sheet["B"] if c.row > 1 and str(c.value).startswith(("=", "'=")))
    assert cell.data_type == "s"  # text, never a formula
    assert staff.get("/moderate/gibt-es-nicht/export.xlsx").status_code == 404


def test_exports_need_a_login(app, seeded):
    for path in ("/moderate/demo/export.csv", "/moderate/demo/export.xlsx"):
        assert app.test_client().get(path).status_code in (302, 401)


# --- the accessibility statement ----------------------------------------------------------------

def test_accessibility_statement_in_the_bitv_form(app, seeded):
    client = app.test_client()
    text = text_of(client.get("/barrierefreiheit"))
    for heading in ("Erklärung zur Barrierefreiheit", "Stand der Vereinbarkeit mit den Anforderungen",
                    "Nicht barrierefreie Inhalte", "Barrieren melden: Kontakt zu den Feedback-Stellen",
                    "Schlichtungsverfahren", "BITV 2.0"):
        assert heading in text, heading
    assert "Accessibility statement" in text_of(client.get("/barrierefreiheit?lang=en"))


@pytest.mark.parametrize("path", ["/", "/t/demo", "/login", "/datenschutz", "/barrierefreiheit", "/gibt-es-nicht"])
def test_every_footer_links_the_statement_next_to_privacy(app, seeded, path):
    page = app.test_client().get(path).get_data(as_text=True)
    footer = tag(page, r'<footer class="site">.*?</footer>')
    assert re.search(r'href="/datenschutz">Datenschutz</a>\s*<a href="/barrierefreiheit">Barrierefreiheit</a>', footer)
