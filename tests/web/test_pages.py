"""The HTTP side through Flask's test client: the public pages, the form post without JavaScript,
login, the moderators' pages and export, health and language."""
from __future__ import annotations

import csv
import html
import io
import re
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from moderation.extensions import db
from moderation.models import Question
from moderation.services import accounts, questions, talks
from tests.helpers import PASSWORD, events

SERIES_TITLE = "Kleinstädte in Deutschland – Potenziale, Herausforderungen und neue Ideen"
TALK_TITLES = [
    "Kleinstädte in Deutschland: Unterschätzte Größe?",
    "Wohnen: Ist hier noch was frei?",
    "Arbeit und Digitale Transformation: Kommt jetzt der Run auf die Kleinstädte?",
    "Mobilität: Schon angebunden?",
]
EXPORT_HEADER = ["Nr.", "Frage", "Name", "Status", "Stimmen", "Hochstufungen", "Ursprünglicher Text",
                 "Zusammengeführt mit Nr.", "Hinweis", "Eingegangen", "Ans Podium", "Beantwortet",
                 "Schlagwörter", "Notiz", "Antwort", "Antwort veröffentlicht", "Kanal"]


def page(response) -> str:
    """The response body as text: entities and JSON escapes (the pages' string tables) resolved,
    whitespace collapsed."""
    text = html.unescape(response.get_data(as_text=True))
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return re.sub(r"\s+", " ", text)


def stored(app) -> list[Question]:
    with app.app_context():
        found = list(db.session.scalars(select(Question).order_by(Question.id)))
        db.session.expunge_all()  # loaded, and usable once the context has closed the session
        return found


def post_question(client, text: str, name: str = "", msg_id: str | None = None, slug: str = "demo", **kwargs):
    return client.post(f"/t/{slug}/questions", data={"text": text, "name": name,
                                                     "client_msg_id": msg_id or uuid.uuid4().hex}, **kwargs)


# --- public pages ----------------------------------------------------------------------------

def test_index_lists_the_series_and_its_talks(app, seeded):
    response = app.test_client().get("/")
    assert response.status_code == 200
    text = page(response)
    assert SERIES_TITLE in text
    for title in TALK_TITLES:
        assert title in text
    assert "Demo: Fragerunde ausprobieren" in text
    assert text.count("18:30–20:00") == 4  # the four series talks, shown in Berlin time
    positions = [text.index(title) for title in TALK_TITLES]
    assert positions == sorted(positions)  # in date order
    for slug in ("unterschaetzte-groesse", "wohnen", "arbeit-digitale-transformation", "mobilitaet", "demo"):
        assert f'href="/t/{slug}"' in text
    assert text.count("Fragerunde offen") == 1  # only the demo is open now


def test_talk_page_has_the_form(app, seeded):
    response = app.test_client().get("/t/demo")
    assert response.status_code == 200
    text = page(response)
    for words in ("Ihre Frage", "Name (optional)", "Frage senden", "Demo: Fragerunde ausprobieren"):
        assert words in text
    assert re.search(r'<label for="text">Ihre Frage</label>', text)
    assert re.search(r'<textarea[^>]*id="text"[^>]*name="text"|<textarea[^>]*name="text"[^>]*id="text"', text)
    assert re.search(r'<label for="name">Name \(optional\)</label>', text)
    button = re.search(r"<button[^>]*>Frage senden</button>", text).group(0)
    assert "disabled" not in button
    assert re.search(r'name="client_msg_id"[^>]*value="[0-9a-f-]{36}"|value="[0-9a-f-]{36}"[^>]*name="client_msg_id"',
                     text)


def test_talk_page_when_closed_names_the_next_talk_and_disables_the_button(app, seeded, clock):
    clock.now = datetime(2021, 3, 12, 10, 0, tzinfo=UTC)
    text = page(app.test_client().get("/t/unterschaetzte-groesse"))
    assert "Die Fragerunde ist beendet." in text
    assert "Nächster Vortrag:" in text
    assert re.search(r'<a href="/t/wohnen">Wohnen: Ist hier noch was frei\?</a>', text)
    assert "disabled" in re.search(r"<button[^>]*>Frage senden</button>", text).group(0)
    assert "Donnerstag, 11. März 2021, 18:30–20:00 Uhr" in re.sub(r"<[^>]+>", "", text)


def test_unknown_talk_is_404(app, seeded):
    response = app.test_client().get("/t/gibt-es-nicht")
    assert response.status_code == 404
    assert "Seite nicht gefunden" in page(response)
    assert post_question(app.test_client(), "Hallo?", slug="gibt-es-nicht").status_code == 404
    assert stored(app) == []


def test_privacy_notice(app):
    response = app.test_client().get("/datenschutz")
    assert response.status_code == 200
    text = page(response)
    assert "Datenschutzhinweis" in text
    assert "90 Tage" in text


def test_podium_page(app, seeded):
    with app.app_context():
        token = talks.by_slug(db.session, "demo").podium_token
    response = app.test_client().get(f"/podium/{token}")
    assert response.status_code == 200
    assert "Demo: Fragerunde ausprobieren" in page(response)
    assert app.test_client().get("/podium/falsches-token").status_code == 404


# --- the form post without JavaScript --------------------------------------------------------

def test_form_post_stores_once_and_redirects_with_303(app, seeded, moderator_client):
    moderator = moderator_client()
    events(moderator, "/moderator")
    browser = app.test_client()
    msg_id = uuid.uuid4().hex

    response = post_question(browser, "  Gibt es   Glasfaser im Ort? ", "Erika", msg_id)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/t/demo")
    [q] = stored(app)
    assert (q.text, q.name, q.status, q.client_msg_id) == ("Gibt es Glasfaser im Ort?", "Erika", "pending", msg_id)
    got = events(moderator, "/moderator", "question")  # the live queue hears of it too
    assert [e["args"][0]["question"]["text"] for e in got] == ["Gibt es Glasfaser im Ort?"]

    text = page(browser.get("/t/demo"))
    assert "Gesendet – wartet auf Freigabe" in text
    assert "Gibt es Glasfaser im Ort?" in text  # under the person's own questions
    assert "Von Ihnen gesendet" in text

    again = post_question(browser, "Gibt es Glasfaser im Ort?", "Erika", msg_id)  # a resend
    assert again.status_code == 303
    assert [x.id for x in stored(app)] == [q.id]
    assert events(moderator, "/moderator", "question") == []


def test_form_post_with_empty_text_is_refused_in_german(app, seeded):
    for text in ("", "    ", "\n\t"):
        response = post_question(app.test_client(), text)
        assert response.status_code == 400
        assert "Bitte geben Sie eine Frage ein." in page(response)
    assert stored(app) == []


@pytest.mark.parametrize("text", ["x" * 501, "y" * 2001])
def test_form_post_too_long_is_refused(app, seeded, text):
    response = post_question(app.test_client(), text)
    assert response.status_code == 400
    assert "Die Frage ist zu lang (höchstens 500 Zeichen)." in page(response)
    assert stored(app) == []


def test_form_post_of_exactly_500_characters_is_stored(app, seeded):
    assert post_question(app.test_client(), "z" * 500).status_code == 303
    assert [len(q.text) for q in stored(app)] == [500]


def test_form_post_with_another_persons_message_id_is_refused(app, seeded):
    msg_id = uuid.uuid4().hex
    assert post_question(app.test_client(), "Meine Frage?", msg_id=msg_id).status_code == 303
    response = post_question(app.test_client(), "Fremde Frage?", msg_id=msg_id)  # another browser session
    assert response.status_code == 400
    assert "Ungültige Eingabe." in page(response)
    assert [q.text for q in stored(app)] == ["Meine Frage?"]


def test_form_post_when_closed(app, seeded, clock):
    clock.advance(hours=5)
    response = post_question(app.test_client(), "Zu spät?")
    assert response.status_code == 409
    assert "Die Fragerunde ist gerade geschlossen." in page(response)
    assert stored(app) == []


def test_form_post_rate_limit(app, seeded):
    browser = app.test_client()
    first = uuid.uuid4().hex
    assert post_question(browser, "Frage 1?", msg_id=first).status_code == 303
    for i in range(2, 6):
        assert post_question(browser, f"Frage {i}?").status_code == 303
    assert post_question(browser, "Frage 1?", msg_id=first).status_code == 303  # a resend never counts
    response = post_question(browser, "Frage 6?")
    assert response.status_code == 429
    assert re.search(r"in \d+ Sekunden?\b", page(response))
    assert len(stored(app)) == 5


def test_form_post_needs_the_csrf_token(make_app, clock):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        talks.seed(db.session, clock())
        db.session.commit()
    browser = app.test_client()
    response = post_question(browser, "Ohne Token?")
    assert response.status_code == 400
    assert stored(app) == []
    form = browser.get("/t/demo").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                      r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', form)
    token = next(g for g in token.groups() if g)
    response = browser.post("/t/demo/questions", data={"csrf_token": token, "text": "Mit Token?", "name": "",
                                                        "client_msg_id": uuid.uuid4().hex})
    assert response.status_code == 303
    assert [q.text for q in stored(app)] == ["Mit Token?"]


# --- staff -----------------------------------------------------------------------------------

def test_moderation_needs_a_login(app, seeded):
    client = app.test_client()
    for path in ("/moderate/demo", "/moderate/demo/export.csv", "/moderate/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login"), path
    assert "next=%2Fmoderate%2Fdemo" in client.get("/moderate/demo").headers["Location"]


def test_login_page_and_wrong_password(app, seeded, moderator_user):
    client = app.test_client()
    assert client.get("/login").status_code == 200
    response = client.post("/login", data={"username": "mod", "password": "nicht-das-passwort"})
    assert response.status_code == 401
    assert "Benutzername oder Passwort ist falsch." in page(response)
    assert client.post("/login", data={"username": "niemand", "password": PASSWORD}).status_code == 401
    assert client.post("/login", data={"username": "", "password": ""}).status_code == 400
    assert client.get("/moderate/demo").status_code == 302  # still not logged in


def test_login_then_queue_then_logout(app, seeded, login):
    client = login()
    response = client.get("/moderate/demo")
    assert response.status_code == 200
    text = page(response)
    for word in ("Hochstufen", "Freigeben", "Ablehnen", "Ans Podium", "Beantwortet", "Bearbeiten",
                 "Zusammenführen", "Rückgängig"):
        assert word in text, word
    response = client.post("/logout")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/login")
    assert client.get("/moderate/demo").status_code == 302


@pytest.mark.parametrize("next_url, expected", [
    ("/moderate/demo", "/moderate/demo"),
    ("//evil.example/x", "/moderate/"),
    ("https://evil.example/", "/moderate/"),
    ("/\\evil.example", "/moderate/"),
])
def test_login_redirects_only_to_local_paths(app, seeded, moderator_user, next_url, expected):
    response = app.test_client().post("/login", query_string={"next": next_url},
                                      data={"username": "mod", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == expected


def test_login_is_throttled_after_wrong_passwords(make_app, clock):
    app = make_app(LOGIN_WAIT_FIRST=60)
    with app.app_context():
        talks.seed(db.session, clock())
        accounts.create_or_update(db.session, "mod", PASSWORD, "moderator")
        db.session.commit()
    client = app.test_client()
    for _ in range(4):
        assert client.post("/login", data={"username": "mod", "password": "falsch-geraten"}).status_code == 401
    response = client.post("/login", data={"username": "mod", "password": PASSWORD})
    assert response.status_code == 429
    assert re.search(r"\d+ Sekunden?\b", page(response))


def test_export_csv(app, seeded, login, clock):
    with app.app_context():
        demo = talks.by_slug(db.session, "demo")
        user = accounts.by_name(db.session, "mod")

        def ask(text, name=None, client="c1"):
            return questions.submit(db.session, demo, text=text, name=name, client=client,
                                    client_msg_id=uuid.uuid4().hex, now=clock()).question

        formula = ask('=HYPERLINK("http://evil.example","Klick")', "@mallory")
        plus = ask("+49 ist die Vorwahl?", "-Minus")
        plain = ask("Wann fährt der letzte Bus?", "Erika, aus \"Kleinstadt\"")
        dup = ask("Wann fährt der letzte Bus denn?", client="c2")
        questions.transition(db.session, demo, user, "approve", plain.id, now=clock())
        questions.transition(db.session, demo, user, "forward", plain.id, now=clock())
        questions.set_vote(db.session, demo, "v1", plain.id, 1)
        questions.set_vote(db.session, demo, "v2", plain.id, 1)
        questions.set_upvote(db.session, demo, user, plain.id)
        questions.merge(db.session, demo, user, dup.id, plain.id)
        questions.edit(db.session, demo, user, plus.id, "+49 ist die Vorwahl von Deutschland?", version=1)
        db.session.commit()
        ids = formula.id, plus.id, plain.id, dup.id

    response = login().get("/moderate/demo/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="fragerunde-demo.csv"'
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the UTF-8 BOM: German Excel reads umlauts right
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == EXPORT_HEADER
    by_id = {int(r[0]): dict(zip(EXPORT_HEADER, r)) for r in rows[1:]}
    assert sorted(by_id) == sorted(ids)

    f, p, q, d = (by_id[i] for i in ids)
    assert f["Frage"] == '\'=HYPERLINK("http://evil.example","Klick")'
    assert f["Name"] == "'@mallory"
    assert (p["Frage"], p["Ursprünglicher Text"], p["Name"]) == ("'+49 ist die Vorwahl von Deutschland?",
                                                                 "'+49 ist die Vorwahl?", "'-Minus")
    assert (q["Frage"], q["Name"], q["Status"]) == ("Wann fährt der letzte Bus?", 'Erika, aus "Kleinstadt"',
                                                    "Am Podium")
    assert (q["Hochstufungen"], q["Stimmen"]) == ("1", "2")
    assert (d["Status"], d["Zusammengeführt mit Nr."]) == ("Zusammengeführt", str(ids[2]))
    assert {row["Kanal"] for row in by_id.values()} == {"Web"}
    berlin = clock().astimezone(ZoneInfo("Europe/Berlin"))
    assert q["Eingegangen"] == berlin.strftime("%d.%m.%Y %H:%M")  # German date, Berlin time
    assert q["Ans Podium"] and q["Beantwortet"] == "" and f["Ans Podium"] == ""
    for row in rows[1:]:  # no cell starts a formula
        assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row), row


def test_export_of_unknown_talk_is_404(app, seeded, login):
    assert login().get("/moderate/gibt-es-nicht/export.csv").status_code == 404


# --- health ----------------------------------------------------------------------------------

def test_healthz_ok(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


@pytest.mark.postgres
def test_healthz_503_when_the_database_is_unreachable(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'gibt-es-nicht' / 'db.sqlite3'}")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
    again = app.test_client().get("/healthz")  # and it stays a clean answer, not a broken session
    assert again.status_code == 503


# --- language --------------------------------------------------------------------------------

def test_german_by_default_english_by_choice(app, seeded):
    german = page(app.test_client().get("/t/demo"))
    assert "Ihre Frage" in german and "Frage senden" in german

    browser = app.test_client()
    english = page(browser.get("/t/demo?lang=en"))
    assert "Your question" in english and "Send question" in english
    assert "Ihre Frage" not in english and "Frage senden" not in english
    assert "Your question" in page(browser.get("/t/demo"))  # the choice sticks for the visit
    assert "Ihre Frage" in page(browser.get("/t/demo?lang=de"))

    by_header = page(app.test_client().get("/t/demo", headers={"Accept-Language": "en-GB,en;q=0.8"}))
    assert "Send question" in by_header
    response = app.test_client().post("/t/demo/questions?lang=en", data={"text": "", "name": "",
                                                                          "client_msg_id": uuid.uuid4().hex})
    assert response.status_code == 400
    assert "Please enter a question." in page(response)
