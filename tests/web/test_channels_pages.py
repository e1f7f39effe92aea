"""Issue 23, channels through HTTP: the intake API's answers, tokens in the talk form and the
CLI, "Fragen übernehmen", "Ohne Zuordnung", the channel in the export and the report, the mail
address on the question page and the podium."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from moderation.extensions import db
from moderation.models import IntakeToken, MailMessage, Question
from moderation.services import accounts, channels
from moderation.services import mail as mail_service
from moderation.services import talks as talk_service
from tests.helpers import PASSWORD
from tests.services.test_channels import BOX, mail
from tests.web.test_admin import cli


@pytest.fixture
def admin(app, login):
    with app.app_context():
        accounts.create_or_update(db.session, "chefin", PASSWORD, "admin")
        db.session.commit()
    return login("chefin")


@pytest.fixture
def token(app, seeded):
    with app.app_context():
        _row, secret = channels.create_token(db.session, talk_service.by_slug(db.session, "demo"), "YouTube", None)
        db.session.commit()
    return secret


def post(client, token, body, slug="demo", **headers):
    return client.post(f"/api/v1/talks/{slug}/questions", json=body,
                       headers={"Authorization": f"Bearer {token}", **headers})


@pytest.mark.postgres
def test_api_answers_201_then_200_for_the_same_external_id(app, token, moderator_client):
    moderators = moderator_client()
    http = app.test_client()
    first = post(http, token, {"text": "Gibt es Fördergeld?", "name": "anna_k", "external_id": "yt-42"})
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["status"] == "pending" and set(first.get_json()) == {"id", "status"}
    again = post(http, token, {"text": "Gibt es Fördergeld?", "external_id": "yt-42"})
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    seen = [e["args"][0]["question"] for e in moderators.get_received("/moderator") if e["name"] == "question"]
    assert [(q["id"], q["source"]) for q in seen] == [(first.get_json()["id"], "api:YouTube")]


@pytest.mark.parametrize("body, status, code", [
    ({"text": ""}, 400, "empty"), ({"text": "x" * 501}, 400, "too_long"), ({"text": 1}, 400, "invalid"),
    (["text"], 400, "invalid"), ({"text": "Frage?", "name": "Admin"}, 400, "invalid"),
])
def test_api_refuses_bad_input_with_a_code_and_a_german_message(app, token, body, status, code):
    response = post(app.test_client(), token, body)
    assert response.status_code == status
    assert response.get_json()["error"] == code and response.get_json()["message"]


def test_api_refuses_wrong_other_talks_and_revoked_tokens_with_401(app, token, seeded):
    http = app.test_client()
    assert post(http, "fr_nope", {"text": "Frage?"}).status_code == 401
    assert post(http, token, {"text": "Frage?"}, slug="wohnen").status_code == 401
    assert post(http, token, {"text": "Frage?"}, slug="gibt-es-nicht").status_code == 401
    assert http.post("/api/v1/talks/demo/questions", json={"text": "Frage?"}).status_code == 401
    with app.app_context():
        row = db.session.scalar(select(IntakeToken))
        channels.revoke_token(db.session, talk_service.by_slug(db.session, "demo"), row.id, None, app.config["CLOCK"]())
        db.session.commit()
    refused = post(http, token, {"text": "Frage?"})
    assert refused.status_code == 401 and refused.get_json()["error"] == "forbidden"


def test_api_is_rate_limited_per_token(make_app):
    app = make_app(LIMIT_INTAKE_PER_TOKEN="3 per minute")
    with app.app_context():
        talk_service.seed(db.session, app.config["CLOCK"]())
        _row, secret = channels.create_token(db.session, talk_service.by_slug(db.session, "demo"), "Zoom", None)
        db.session.commit()
    http = app.test_client()
    answers = [post(http, secret, {"text": f"Frage Nummer {i}?"}).status_code for i in range(4)]
    assert answers == [201, 201, 201, 429]


def test_api_takes_posts_from_another_origin_without_a_cookie(app, token):
    response = post(app.test_client(), token, {"text": "Vom Chat-Werkzeug?"}, Origin="https://chat.example")
    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_tokens_are_made_once_in_the_talk_form_and_revoked_there(app, admin, seeded):
    page = admin.get("/admin/talks/demo").get_data(as_text=True)
    assert "Kanäle" in page and "Zugang anlegen" in page
    made = admin.post("/admin/talks/demo/tokens", data={"label": "YouTube"})
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="new-token">(fr_[\w-]+)<', made.get_data(as_text=True)).group(1)
    assert token not in admin.get("/admin/talks/demo").get_data(as_text=True)  # shown once
    assert post(app.test_client(), token, {"text": "Frage?"}).status_code == 201
    with app.app_context():
        row = db.session.scalar(select(IntakeToken))
        assert row.token_hash != token and row.label == "YouTube"
    assert admin.post(f"/admin/talks/demo/tokens/{row.id}/revoke").status_code == 303
    assert post(app.test_client(), token, {"text": "Frage?"}).status_code == 401


def test_the_cli_prints_a_token_once_and_revokes_by_label(app, seeded):
    out = cli(app, "intake-token", "demo", "--label", "YouTube")
    assert out.exit_code == 0, out.output
    token = re.search(r"(fr_[\w-]+)", out.output).group(1)
    assert post(app.test_client(), token, {"text": "Über die Kommandozeile?"}).status_code == 201
    assert cli(app, "intake-token", "demo", "--label", "YouTube", "--revoke").exit_code == 0
    assert post(app.test_client(), token, {"text": "Noch einmal?"}).status_code == 401
    assert cli(app, "intake-token", "nope", "--label", "X").exit_code != 0


def test_import_preview_then_take(app, login, seeded):
    moderator = login()
    page = moderator.get("/moderate/demo/import").get_data(as_text=True)
    assert "Fragen übernehmen" in page and "Übernehmen" in page and "Quelle" in page
    pasted = "Erika: Wie kommt der Bus in die Dörfer?\nWie kommt der Bus in die Dörfer?"
    preview = moderator.post("/moderate/demo/import", data={"questions": pasted, "source": "Telefon",
                                                            "preview": "1"}).get_data(as_text=True)
    assert "Wie Zeile 1 dieser Liste" in preview
    taken = moderator.post("/moderate/demo/import", data={"questions": pasted, "source": "Telefon", "take": "1"})
    assert taken.status_code == 303
    with app.app_context():
        rows = [(q.text, q.name, q.source, q.source_label) for q in db.session.scalars(select(Question))]
    assert rows == [("Wie kommt der Bus in die Dörfer?", "Erika", "import", "Telefon")]
    refused = moderator.post("/moderate/demo/import", data={"questions": "x" * 600, "source": "", "take": "1"})
    assert refused.status_code == 400 and "zu lang" in refused.get_data(as_text=True)


def test_mails_without_a_talk_are_listed_for_admins_and_assigned(app, admin, seeded, login):
    with app.app_context():
        mail_service.take(db.session, BOX, 1, 1, mail("Name: Erika\nWas wird aus dem Bahnhof?", to="fragen@example.org"),
                          secret="test-secret", now=app.config["CLOCK"]())
        db.session.commit()
        row = db.session.scalar(select(MailMessage))
    page = admin.get("/admin/mail").get_data(as_text=True)
    assert "Ohne Zuordnung" in page and "Was wird aus dem Bahnhof?" in page and "erika@example.org" not in page
    assert login().get("/admin/mail").status_code == 403
    demo_id = seeded
    response = admin.post(f"/admin/mail/{row.id}/assign", data={f"m{row.id}-talk": demo_id, f"m{row.id}-text":
                                                                 "Was wird aus dem Bahnhof?", f"m{row.id}-name": "Erika"})
    assert response.status_code == 303
    with app.app_context():
        question = db.session.scalar(select(Question))
        assert (question.talk_id, question.source, question.name) == (demo_id, "email", "Erika")
    assert "Was wird aus dem Bahnhof?" not in admin.get("/admin/mail").get_data(as_text=True)


def test_the_channel_is_in_the_export_and_the_report(app, token, login):
    post(app.test_client(), token, {"text": "Aus dem Chat?"})
    moderator = login()
    rows = list(csv.reader(io.StringIO(moderator.get("/moderate/demo/export.csv").get_data(as_text=True)
                                       .lstrip("\ufeff")), delimiter=";"))
    assert rows[1][rows[0].index("Kanal")] == "YouTube"
    report = moderator.get("/moderate/demo/report").get_data(as_text=True)
    assert re.search(r"<th scope=\"row\">YouTube</th><td>1</td><td>0</td>", report)


def test_the_mail_address_is_on_the_question_page_and_the_podium(make_app):
    app = make_app(INTAKE_ADDRESS="fragen@example.org")
    with app.app_context():
        talk_service.seed(db.session, app.config["CLOCK"]())
        db.session.commit()
        token = talk_service.by_slug(db.session, "demo").podium_token
    http = app.test_client()
    assert "Fragen auch per E-Mail an" in http.get("/t/demo").get_data(as_text=True)
    assert "fragen+demo@example.org" in http.get("/t/demo").get_data(as_text=True)
    assert "fragen+demo@example.org" in http.get(f"/podium/{token}").get_data(as_text=True)
    plain = make_app()
    with plain.app_context():
        talk_service.seed(db.session, plain.config["CLOCK"]())
        db.session.commit()
    assert "per E-Mail" not in plain.test_client().get("/t/demo").get_data(as_text=True)
