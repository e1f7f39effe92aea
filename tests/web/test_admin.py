"""The organiser's side through Flask's test client: talk forms, accounts, who moderates what,
the report and the series page."""
from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from moderation.extensions import db
from moderation.models import AccountEntry, AuditEntry, Question, QuestionVector, Talk, TalkModerator, User
from moderation.services import accounts, demo, talks
from tests.helpers import PASSWORD


def page(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


@pytest.fixture
def staff(app, seeded):
    """An admin `chefin` and moderators `anna`, `ben`, `cem`."""
    with app.app_context():
        ids = {"chefin": accounts.create_or_update(db.session, "chefin", PASSWORD, "admin").id}
        for name in ("anna", "ben", "cem"):
            ids[name] = accounts.create_or_update(db.session, name, PASSWORD, "moderator").id
        db.session.commit()
    return ids


@pytest.fixture
def admin(login, staff):
    return login("chefin")


def talk_form(**changes) -> dict:
    data = {"title": "Energie: Wer erzeugt hier den Strom?", "slug": "energie", "series": "0",
            "day": "2021-05-20", "begins": "18:30", "ends": "20:00", "description": "Der fünfte Termin.",
            "audience_votes": "y", "premoderation": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def stored_talk(app, slug: str) -> Talk:
    with app.app_context():
        talk = db.session.scalar(select(Talk).where(Talk.slug == slug))
        db.session.expunge_all()
        return talk


def test_admin_area_is_for_admins_only(app, staff, login):
    assert app.test_client().get("/admin/").status_code == 302  # to the login
    moderator = login("anna")
    for path in ("/admin/", "/admin/talks/new", "/admin/talks/demo", "/admin/users", "/admin/series/kleinstaedte"):
        assert moderator.get(path).status_code == 403, path
    assert "Verwaltung" not in page(moderator.get("/moderate/demo"))
    admin = login("chefin")
    assert admin.get("/admin/").status_code == 200
    assert 'href="/admin/"' in admin.get("/moderate/demo").get_data(as_text=True)
    assert "Verwaltung" in page(admin.get("/moderate/demo"))


def test_talk_list_shows_dates_states_counts_and_links(app, admin, clock):
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        demo.generate(db.session, talk, 12, [], seed=3)
        db.session.commit()
        pending = db.session.query(Question).filter_by(talk_id=talk.id, status="pending").count()
        token = talk.podium_token
    text = page(admin.get("/admin/"))
    assert "11.03.2021" in text and "18:30–20:00" in text
    assert "beendet" in text and "offen" in text
    row = re.search(r'<a href="/admin/talks/demo">.*?</tr>', text).group(0)
    assert re.search(rf"<td>12</td><td>{pending}</td>", row)
    for link in ("/t/demo", "/moderate/demo", f"/podium/{token}", "/moderate/demo/report"):
        assert f'href="{link}"' in row
    clock.now = datetime(2021, 3, 1, tzinfo=UTC)
    assert "geplant" in page(admin.get("/admin/"))


def test_talk_form_has_the_contract_labels(admin):
    text = page(admin.get("/admin/talks/new"))
    for label in ("Titel", "Kürzel", "Reihe", "Datum", "Beginn", "Ende", "Beschreibung", "Publikumsstimmen",
                  "Vorab-Moderation", "Fragen vorab annehmen", "Moderation", "Speichern"):
        assert re.search(rf">\s*{label}\s*<", text), label
    assert 'type="date"' in text and text.count('type="time"') == 2
    for name in ("anna", "ben", "cem"):
        assert re.search(rf'<input[^>]*type="checkbox"[^>]*> <label for="moderators-\d+">{name}</label>', text)
    assert re.search(r'<input [^>]*checked id="audience_votes"', text)
    assert re.search(r'<input [^>]*checked id="premoderation"', text)
    assert re.search(r'<input [^>]*id="early_questions"', text)
    assert not re.search(r'<input [^>]*checked id="early_questions"', text)


def test_create_a_talk_with_two_moderators(app, admin, staff):
    response = admin.post("/admin/talks/new", data=talk_form(moderators=[staff["anna"], staff["ben"]]))
    assert response.status_code == 303 and response.headers["Location"] == "/admin/talks/energie"
    talk = stored_talk(app, "energie")
    assert talk.starts_at == datetime(2021, 5, 20, 16, 30, tzinfo=UTC)  # CEST
    assert talk.ends_at == datetime(2021, 5, 20, 18, 0, tzinfo=UTC)
    assert talk.description == "Der fünfte Termin." and talk.audience_votes and talk.premoderation
    assert not talk.early_questions
    with app.app_context():
        assert {m.user_id for m in db.session.scalars(select(TalkModerator))} == {staff["anna"], staff["ben"]}
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.talk_id == talk.id))
        assert entry.action == "talk_created" and entry.username == "chefin" and "anna, ben" in entry.after
    text = page(admin.get("/admin/talks/energie"))
    assert 'value="Energie: Wer erzeugt hier den Strom?"' in text and 'value="18:30"' in text
    anna = staff["anna"]
    assert re.search(rf'<input checked id="moderators-\d+" name="moderators" type="checkbox" value="{anna}">', text)


def test_winter_time_is_utc_plus_one_and_the_dst_gap_is_refused(app, admin):
    assert admin.post("/admin/talks/new", data=talk_form(day="2021-03-11")).status_code == 303
    assert stored_talk(app, "energie").starts_at == datetime(2021, 3, 11, 17, 30, tzinfo=UTC)
    # 28 March 2021: clocks jump from 02:00 to 03:00 in Berlin.
    response = admin.post("/admin/talks/new", data=talk_form(slug="nacht", day="2021-03-28", begins="02:30",
                                                              ends="04:00"))
    assert response.status_code == 400
    assert "Diese Uhrzeit gibt es an diesem Tag wegen der Zeitumstellung nicht." in page(response)
    assert stored_talk(app, "nacht") is None
    # Across the switch: 01:30 CET to 03:30 CEST is one hour.
    assert admin.post("/admin/talks/new", data=talk_form(slug="nacht", day="2021-03-28", begins="01:30",
                                                          ends="03:30")).status_code == 303
    talk = stored_talk(app, "nacht")
    assert (talk.ends_at - talk.starts_at).total_seconds() == 3600


def test_validation_errors_stand_next_to_their_fields_and_keep_the_input(app, admin):
    response = admin.post("/admin/talks/new", data=talk_form(title="", slug="Mit Leerzeichen", begins="20:00",
                                                              ends="19:00", description="bleibt erhalten"))
    assert response.status_code == 400
    text = page(response)
    assert re.search(r'id="title"[^>]*> <p class="error" id="title-error">Bitte ausfüllen.</p>', text)
    assert re.search(r'id="slug"[^>]*> <p class="error" id="slug-error">Nur Kleinbuchstaben', text)
    assert re.search(r'id="ends"[^>]*> <p class="error" id="ends-error">Das Ende muss nach dem Beginn liegen.</p>',
                     text)
    assert 'value="Mit Leerzeichen"' in text and "bleibt erhalten</textarea>" in text
    assert 'aria-invalid="true"' in text
    with app.app_context():
        assert db.session.query(Talk).count() == 5  # the seed's, nothing new


@pytest.mark.postgres
def test_slug_must_be_unique(app, admin):
    response = admin.post("/admin/talks/new", data=talk_form(slug="wohnen"))
    assert response.status_code == 400
    assert re.search(r'id="slug-error">Dieses Kürzel ist schon vergeben.', page(response))
    # Keeping its own slug is fine when editing.
    assert admin.post("/admin/talks/wohnen", data=talk_form(slug="wohnen", title="Wohnen neu")).status_code == 303
    assert stored_talk(app, "wohnen").title == "Wohnen neu"


def test_unchecked_boxes_switch_settings_off(app, admin):
    data = talk_form(slug="demo", audience_votes=None, premoderation=None, early_questions="y",
                     day="2030-01-10")
    assert admin.post("/admin/talks/demo", data=data).status_code == 303
    talk = stored_talk(app, "demo")
    assert (talk.audience_votes, talk.premoderation, talk.early_questions) == (False, False, True)


def test_form_needs_the_csrf_token(make_app, staff):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    assert client.post("/login", data={"username": "chefin", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 303
    assert client.post("/admin/talks/new", data=talk_form()).status_code == 400
    assert client.post("/admin/users", data={"username": "x", "password": "y" * 12,
                                             "role": "admin"}).status_code == 400


# --- who moderates what ----------------------------------------------------------------------

def test_unassigned_moderator_gets_403_on_queue_export_qr_and_report(app, admin, login, staff):
    assert admin.post("/admin/talks/demo", data=talk_form(slug="demo", day="2030-01-10",
                                                          moderators=[staff["anna"], staff["ben"]])).status_code == 303
    anna, cem = login("anna"), login("cem")
    for path in ("/moderate/demo", "/moderate/demo/export.csv", "/moderate/demo/qr.svg", "/moderate/demo/report"):
        assert anna.get(path).status_code == 200, path
        assert cem.get(path).status_code == 403, path
        assert admin.get(path).status_code == 200, path
    page = cem.get("/moderate/demo").get_data(as_text=True)
    assert "Kein Zugang" in page and "Sie moderieren diesen Vortrag nicht" in page
    assert "Ungültige Anfrage" not in page and "permission" not in page
    assert 'href="/moderate/demo/report">Bericht</a>' in anna.get("/moderate/demo").get_data(as_text=True)
    # Nobody assigned (the seed's talks): every moderator may.
    assert cem.get("/moderate/wohnen").status_code == 200
    assert cem.get("/moderate/unknown/report").status_code == 404


# --- podium link -----------------------------------------------------------------------------

def test_rotating_the_podium_link_retires_the_old_one_at_once(app, admin):
    old = stored_talk(app, "demo").podium_token
    assert app.test_client().get(f"/podium/{old}").status_code == 200
    text = page(admin.get("/admin/talks/demo"))
    assert f'value="http://localhost/podium/{old}"' in text and "Kopieren" in text
    response = admin.post("/admin/talks/demo/podium")
    assert response.status_code == 303
    new = stored_talk(app, "demo").podium_token
    assert new != old
    assert app.test_client().get(f"/podium/{old}").status_code == 404
    assert app.test_client().get(f"/podium/{new}").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "podium_link")) == "podium_link"


# --- accounts --------------------------------------------------------------------------------

def test_users_page_creates_accounts_with_long_passwords_only(app, admin):
    text = page(admin.get("/admin/users"))
    for label in ("Benutzername", "Passwort", "Rolle", "Anlegen", "Deaktivieren", "Passwort zurücksetzen"):
        assert label in text
    short = admin.post("/admin/users", data={"username": "dora", "password": "elf-zeichen", "role": "moderator"})
    assert short.status_code == 400
    assert re.search(r'id="password-error">Mindestens 12 Zeichen.', page(short))
    assert 'value="dora"' in page(short)
    taken = admin.post("/admin/users", data={"username": "anna", "password": "z" * 12, "role": "moderator"})
    assert "Diesen Benutzernamen gibt es schon." in page(taken)
    assert admin.post("/admin/users", data={"username": "dora", "password": "zwölf-zeichen", "role": "admin"}
                      ).status_code == 303
    with app.app_context():
        dora = accounts.by_name(db.session, "dora")
        assert dora.role == "admin" and accounts.authenticate(db.session, "dora", "zwölf-zeichen")
        entry = db.session.scalar(select(AccountEntry).where(AccountEntry.target == "dora"))
        assert (entry.action, entry.username, entry.detail) == ("created", "chefin", "admin")


def test_disable_and_enable_an_account(app, admin, login, staff):
    anna = login("anna")
    assert admin.post(f"/admin/users/{staff['anna']}/active", data={"active": "0"}).status_code == 303
    assert anna.get("/moderate/demo").status_code == 302  # the session is void: back to the login
    assert "deaktiviert" in page(admin.get("/admin/users"))
    assert app.test_client().post("/login", data={"username": "anna", "password": PASSWORD}).status_code == 401
    assert admin.post(f"/admin/users/{staff['anna']}/active", data={"active": "1"}).status_code == 303
    login("anna")
    with app.app_context():
        actions = list(db.session.scalars(select(AccountEntry.action).where(AccountEntry.target == "anna")
                                          .order_by(AccountEntry.id)))
    assert actions == ["disabled", "enabled"]
    log = page(admin.get("/admin/users"))
    assert "<td>chefin</td><td>aktiviert</td> <td>anna</td>" in log
    assert "<td>chefin</td><td>deaktiviert</td> <td>anna</td>" in log


def test_nobody_disables_or_demotes_themselves_or_the_last_admin(app, admin, login, staff):
    refused = admin.post(f"/admin/users/{staff['chefin']}/active", data={"active": "0"})
    assert refused.status_code == 409
    assert "Das eigene Konto kann man weder deaktivieren noch herabstufen." in page(refused)
    assert admin.post(f"/admin/users/{staff['chefin']}/role", data={"role": "moderator"}).status_code == 409
    # A second admin may not take the last active admin away either.
    assert admin.post(f"/admin/users/{staff['ben']}/role", data={"role": "admin"}).status_code == 303
    ben = login("ben")
    assert ben.post(f"/admin/users/{staff['chefin']}/active", data={"active": "0"}).status_code == 303
    with app.app_context():
        chefin = db.session.get(User, staff["chefin"])
        assert not chefin.active
    last = ben.post(f"/admin/users/{staff['ben']}/role", data={"role": "moderator"})
    assert last.status_code == 409
    with app.app_context():
        assert accounts.active_admins(db.session) == 1


def test_password_reset_shows_a_generated_password_once(app, admin, login, staff):
    anna = login("anna")
    response = admin.post(f"/admin/users/{staff['anna']}/password")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = re.search(r'<code id="new-password">([^<]+)</code>', response.get_data(as_text=True)).group(1)
    assert len(password) >= 16
    assert anna.get("/moderate/demo").status_code == 302  # old session ended
    login("anna", password)
    assert password not in admin.get("/admin/users").get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalar(select(AccountEntry).where(AccountEntry.action == "password_reset"))
        assert entry.target == "anna" and password not in (entry.detail or "")


# --- report and series -----------------------------------------------------------------------

def test_report_of_a_demo_talk_with_100_questions(app, admin, login, staff):
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        made = demo.generate(db.session, talk, 100, [db.session.get(User, staff["anna"])], seed=7)
        talk.audience_peak = 42
        db.session.commit()
        statuses = [q.status for q in made]
    response = admin.get("/moderate/demo/report")
    assert response.status_code == 200
    text = page(response)
    assert "Bericht" in text and "Drucken" in text
    assert '<dd id="total">100</dd>' in text and '<dd id="peak">42</dd>' in text
    answered = statuses.count("answered")
    share = round(answered / (100 - statuses.count("merged")) * 100)
    assert f'<dd id="answered-share">{share} %</dd>' in text
    assert f'<th scope="row">Beantwortet</th><td>{answered}</td>' in text
    # the moderators' words, as in the audit log and the export (not the audience's "Nicht angenommen")
    assert f'<th scope="row">Abgelehnt</th><td>{statuses.count("rejected")}</td>' in text
    assert f'<th scope="row">Neu</th><td>{statuses.count("pending")}</td>' in text
    svg = re.search(r'<svg class="chart".*?</svg>', text).group(0)
    bars = re.findall(r'<rect [^>]*class="bar"><title>\d\d:\d\d: (\d+)</title>', svg)
    assert sum(int(n) for n in bars) == 100
    assert len(bars) == 27  # 4½ hours of the demo window in ten-minute steps
    assert len(re.findall(r'<ol class="top-questions">.*?</ol>', text)) == 1
    assert len(re.findall(r"<li><p class=\"text\">", text)) == 10
    assert re.search(r'<th scope="row">anna</th>', text)
    assert 'media="print"' in response.get_data(as_text=True)
    assert "<script src=\"/static/js/report.js\"></script>" in response.get_data(as_text=True)


def test_the_report_of_a_talk_reopened_years_later_draws_a_few_hundred_bars(app, admin):
    """A 2021 talk reopened in 2026 and asked once: one bar per ten minutes would be 280,000 bars
    (tens of MB, half a minute of a blocked server); the chart widens its bars instead."""
    with app.app_context():
        talk = talks.by_slug(db.session, "unterschaetzte-groesse")
        db.session.add_all([Question(talk_id=talk.id, text="Damals?", client_msg_id="a", created_at=talk.starts_at),
                            Question(talk_id=talk.id, text="Heute?", client_msg_id="b",
                                     created_at=datetime(2026, 11, 30, 12, tzinfo=UTC))])
        db.session.commit()
    response = admin.get("/moderate/unterschaetzte-groesse/report")
    assert response.status_code == 200
    svg = re.search(r'<svg class="chart".*?</svg>', page(response)).group(0)
    bars = re.findall(r'<rect [^>]*class="bar"><title>[^<]*: (\d+)</title>', svg)
    assert 1 < len(bars) <= 200 and sum(int(n) for n in bars) == 2
    assert len(response.get_data()) < 200_000
    assert "Fragen je Abschnitt von" in page(response)


def test_series_page_puts_talks_side_by_side(app, admin):
    with app.app_context():
        demo.generate(db.session, talks.by_slug(db.session, "wohnen"), 30, [], seed=2)
        db.session.commit()
    text = page(admin.get("/admin/series/kleinstaedte"))
    header = re.search(r"<thead>.*?</thead>", text).group(0)
    assert header.count('<th scope="col">') == 4
    assert header.index("Unterschätzte Größe?") < header.index("Wohnen") < header.index("Mobilität")
    assert re.search(r'<th scope="row">Fragen insgesamt</th><td class="number">0</td><td class="number">30</td>'
                     r'<td class="number">0</td><td class="number">0</td>', text)
    assert admin.get("/admin/series/gibt-es-nicht").status_code == 404


# --- commands --------------------------------------------------------------------------------

def cli(app, *args: str):
    """As `flask --app wsgi ...`: FlaskGroup pushes the app context, app.cli alone does not."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def test_seed_creates_an_admin_and_reset_password_prints_a_new_one_once(app):
    first = cli(app, "seed")
    assert first.exit_code == 0, first.output
    password = re.search(r"Benutzer »moderator«, Passwort »([^«]+)«", first.output).group(1)
    assert "reset-password moderator" in first.output
    assert "Passwort" not in cli(app, "seed").output  # only the first time
    with app.app_context():
        assert accounts.authenticate(db.session, "moderator", password).is_admin
    reset = cli(app, "reset-password", "moderator")
    assert reset.exit_code == 0
    new = re.fullmatch(r"Neues Passwort für moderator \(nur jetzt sichtbar\): (\S+)\n", reset.output).group(1)
    assert new != password and len(new) >= 16
    with app.app_context():
        assert accounts.authenticate(db.session, "moderator", password) is None
        assert accounts.authenticate(db.session, "moderator", new) is not None
    assert cli(app, "reset-password", "niemand").exit_code != 0


def test_create_user_command_is_logged(app, seeded):
    assert cli(app, "create-user", "dora", "--password", "z" * 12, "--role", "admin").exit_code == 0
    assert cli(app, "create-user", "dora", "--password", "y" * 12).exit_code == 0
    with app.app_context():
        log = [(e.action, e.target, e.username, e.detail) for e in db.session.scalars(
            select(AccountEntry).order_by(AccountEntry.id))]
    assert log == [("created", "dora", None, "admin (Kommandozeile)"),
                   ("updated", "dora", None, "moderator (Kommandozeile)")]


def test_demo_questions_command(app, seeded):
    result = cli(app, "demo-questions", "demo", "--count", "100")
    assert result.exit_code == 0 and "100 Fragen in demo erzeugt." in result.output
    with app.app_context():
        assert db.session.query(Question).count() == 100
        # stored like a submitted question's: the first report does not encode a whole talk
        assert db.session.query(QuestionVector).count() == 100
    assert cli(app, "demo-questions", "nope").exit_code != 0
