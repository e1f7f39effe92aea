"""The record afterwards and the rules, through Flask's test client: the Dokumentation (404 until
published; never a name without consent, a question that did not reach the public, or a staff
field — and the check of that fails when the rule is broken), the rules of the series, the talk
form's "Aufzeichnung" and "Dokumentation veröffentlichen", the report's moderation figures, the
Probelauf buttons, and what the question page says of one's own rejected or merged question."""
from __future__ import annotations

import html
import random
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from moderation.extensions import db
from moderation.models import STATUSES, AuditEntry, Question, Series, Talk, User
from moderation.services import accounts, curation, documentation, questions, reports, talks
from tests.helpers import PASSWORD


def page(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


@pytest.fixture
def staff(app, seeded):
    with app.app_context():
        ids = {"chefin": accounts.create_or_update(db.session, "chefin", PASSWORD, "admin").id,
               "anna": accounts.create_or_update(db.session, "anna", PASSWORD, "moderator").id}
        db.session.commit()
    return ids


@pytest.fixture
def admin(login, staff):
    return login("chefin")


def talk_form(**changes) -> dict:
    """The talk form of `demo` as an admin sends it, with changes."""
    data = {"title": "Demo: Fragerunde ausprobieren", "slug": "demo", "series": "0", "day": "", "begins": "",
            "ends": "", "description": "", "audience_votes": "y", "premoderation": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def demo_window(app) -> dict:
    """The date and times of `demo` as the form shows them (Berlin)."""
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        starts, ends = (at.astimezone(talks.BERLIN) for at in (talk.starts_at, talk.ends_at))
    return {"day": starts.date().isoformat(), "begins": starts.strftime("%H:%M"),
            "ends": min(ends, starts.replace(hour=23, minute=59)).strftime("%H:%M")}


# --- what may be in the documentation: a generated talk, then the page ------------------------

@dataclass
class Made:
    """One generated question and what the documentation may show of it."""

    id: int
    text: str
    name: str | None
    consent: bool
    status: str
    rehearsal: bool
    label: str
    note: str
    answer: str | None
    published: bool

    @property
    def shown(self) -> bool:
        return self.status in ("approved", "forwarded", "answered") and not self.rehearsal


def generate(session, talk: Talk, user, clock, rng: random.Random, n: int = 24) -> list[Made]:
    """Questions in every status, with and without names, consent, labels, notes, reports and
    answers (published or not), a few of a Probelauf; every text, name, label, note and answer
    carries a token of its own, so the page can be searched for each."""
    made: list[Made] = []
    for i in range(n):
        token = f"{i:02d}{uuid.uuid4().hex[:6]}"
        name = f"Person{token}" if rng.random() < 0.7 else None
        consent = rng.random() < 0.5
        q = questions.submit(session, talk, text=f"Frage{token} zum Ort?", name=name, client=f"client-{token}",
                             client_msg_id=uuid.uuid4().hex, now=clock(), name_in_record=consent).question
        assert q is not None
        status = rng.choice(STATUSES)
        if status != "pending" and status != "merged":
            questions.transition(session, talk, user, "approve", q.id, now=clock())
        if status in ("forwarded", "answered"):
            questions.transition(session, talk, user, "forward", q.id, now=clock())
        if status == "answered":
            clock.advance(minutes=rng.randint(1, 4))
            questions.transition(session, talk, user, "answered", q.id, now=clock())
        if status == "rejected":
            questions.transition(session, talk, user, "reject", q.id, now=clock(),
                                 reason=rng.choice(["thema", "werbung", None]))
        answer, published = None, False
        if status in curation.ANSWERABLE and rng.random() < 0.6:
            answer, published = f"Antwort{token}", rng.random() < 0.5
            curation.set_answer(session, talk, user, q.id, answer, published)
        curation.set_labels(session, talk, user, q.id, [f"Schlagwort{token}"])
        curation.set_note(session, talk, user, q.id, f"Notiz{token}")
        if status in ("approved", "forwarded", "answered") and rng.random() < 0.5:
            reports.report(session, talk, f"reporter-{token}", q.id, "falsch")
        if status == "merged":
            into = next((m for m in made if m.status != "merged"), None)
            if into is None:
                status = "pending"
            else:
                questions.merge(session, talk, user, q.id, into.id)
        rehearsed = rng.random() < 0.1
        q.rehearsal = rehearsed
        made.append(Made(q.id, q.text, name, consent and bool(name), status, rehearsed, f"Schlagwort{token}",
                         f"Notiz{token}", answer, published))
    session.commit()
    return made


def check_record(text: str, made: list[Made], session) -> None:
    """The rules of the documentation, on the page as served. Raises AssertionError."""
    for m in made:
        assert (m.text in text) == m.shown, ("question", m)
        if m.name:
            assert (m.name in text) == (m.shown and m.consent), ("name", m)
        assert m.label not in text and m.note not in text, ("staff field", m)
        if m.answer:
            assert (m.answer in text) == (m.shown and m.published), ("answer", m)
    assert "falsch oder irreführend" not in text and "Gemeldet" not in text, "reports"
    answered = [q for q in session.scalars(select(Question).where(Question.status == "answered",
                                                                  Question.rehearsal.is_(False)))]
    order = [q.text for q in sorted(answered, key=lambda q: (q.answered_at, q.id))]
    assert [t for t in re.findall(r"Frage\w+ zum Ort\?", text) if t in order] == order, "answer order"


@pytest.fixture
def published(app, seeded, staff):
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        talk.record_published = True
        talk.recording_url = "https://www.youtube.com/watch?v=abc123"
        db.session.commit()
    return app


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_documentation_never_shows_more_than_it_may(published, clock, seed):
    app = published
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        anna = db.session.scalar(select(User).where(User.username == "anna"))
        made = generate(db.session, talk, anna, clock, random.Random(seed))
        text = page(app.test_client().get("/t/demo/dokumentation"))
        assert {m.status for m in made} >= {"pending", "approved", "answered", "rejected"}
        check_record(text, made, db.session)


@pytest.mark.parametrize("broken", ["names", "answers", "statuses"])
def test_the_check_fails_when_a_rule_is_broken(published, clock, monkeypatch, broken):
    """The check above is not one that cannot fail: each rule broken on purpose is caught."""
    if broken == "names":
        monkeypatch.setattr(documentation, "_name", lambda q: q.name)
    elif broken == "answers":
        monkeypatch.setattr(documentation, "_answer", lambda q: q.answer)
    else:
        monkeypatch.setattr(documentation, "SHOWN", STATUSES)
    app = published
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        anna = db.session.scalar(select(User).where(User.username == "anna"))
        made = generate(db.session, talk, anna, clock, random.Random(7), n=30)
        text = page(app.test_client().get("/t/demo/dokumentation"))
        with pytest.raises(AssertionError):
            check_record(text, made, db.session)


def test_answered_questions_carry_their_time_and_moment_in_the_recording(published, clock):
    app = published
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        anna = db.session.scalar(select(User).where(User.username == "anna"))
        clock.now = talk.starts_at + timedelta(minutes=30)
        first = questions.submit(db.session, talk, text="Wann kommt der Bus?", name="Erika", client="c1",
                                 client_msg_id=uuid.uuid4().hex, now=clock(), name_in_record=True).question
        later = questions.submit(db.session, talk, text="Gibt es Bauland?", name=None, client="c2",
                                 client_msg_id=uuid.uuid4().hex, now=clock()).question
        for q in (later, first):
            questions.transition(db.session, talk, anna, "approve", q.id, now=clock())
        clock.advance(minutes=4)
        questions.transition(db.session, talk, anna, "forward", first.id, now=clock())  # 00:34
        clock.advance(minutes=3)
        questions.transition(db.session, talk, anna, "answered", first.id, now=clock())
        clock.advance(minutes=45)
        questions.transition(db.session, talk, anna, "answered", later.id, now=clock())  # 01:22, never forwarded
        db.session.commit()
        doc = documentation.build(db.session, talk)
    assert [(e.text, e.clock, e.name) for e in doc.answered] == [
        ("Wann kommt der Bus?", "00:34", "Erika"), ("Gibt es Bauland?", "01:22", None)]
    assert doc.answered[0].link == "https://www.youtube.com/watch?v=abc123&t=2040s"
    text = page(app.test_client().get("/t/demo/dokumentation"))
    assert '<time datetime="PT34M">00:34</time>' in text
    assert '<a href="https://www.youtube.com/watch?v=abc123&t=2040s">Aufzeichnung ab 00:34</a>' in text
    assert "Aufzeichnung ab 01:22" in text
    assert 'href="/static/css/print.css" media="print"' in text


def test_recording_links_and_moments_outside_the_talk():
    assert documentation.recording_link("https://youtu.be/xyz?si=a", 95) == "https://youtu.be/xyz?si=a&t=95s"
    assert documentation.recording_link("https://www.youtube.com/watch?v=q&t=10s#x", 60) == \
        "https://www.youtube.com/watch?v=q&t=60s"
    assert documentation.recording_link("https://media.example.org/talk.mp4", 2040) == \
        "https://media.example.org/talk.mp4#t=2040"
    assert documentation.recording_link(None, 5) is None
    for bad in ("javascript:alert(1)", "ftp://x.org/v", "https://", "https://x.org/" + "a" * 500, "https://x.org/a b"):
        with pytest.raises(documentation.DomainError):
            documentation.recording_url(bad)
    assert documentation.recording_url("  ") is None


def test_open_questions_say_what_becomes_of_them(published, clock):
    app = published
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        anna = db.session.scalar(select(User).where(User.username == "anna"))
        made = {}
        for key in ("written", "later", "missed"):
            q = questions.submit(db.session, talk, text=f"Offen {key}?", name=None, client=key,
                                 client_msg_id=uuid.uuid4().hex, now=clock()).question
            questions.transition(db.session, talk, anna, "approve", q.id, now=clock())
            made[key] = q
        curation.set_answer(db.session, talk, anna, made["written"].id, "Ab Mai fährt er.", True)
        curation.set_answer(db.session, talk, anna, made["later"].id, "Entwurf, noch nicht fertig", False)
        db.session.commit()
    text = page(app.test_client().get("/t/demo/dokumentation"))
    for key, state in (("written", "Schriftlich beantwortet"), ("later", "wird schriftlich beantwortet"),
                       ("missed", "nicht mehr erreicht")):
        assert re.search(rf"Offen {key}\?</p>.*?<p class=\"state state-\w+\">{state}</p>", text), key
    assert "Ab Mai fährt er." in text and "Entwurf" not in text
    assert '<dd id="record-open">3</dd>' in text and '<dd id="record-written">1</dd>' in text


# --- published or not, linked, and set in the talk form ---------------------------------------

def test_the_documentation_is_404_until_an_admin_publishes_it(app, admin, clock):
    assert app.test_client().get("/t/demo/dokumentation").status_code == 404
    assert app.test_client().get("/t/gibt-es-nicht/dokumentation").status_code == 404
    assert "dokumentation" not in app.test_client().get("/").get_data(as_text=True)
    form = talk_form(**demo_window(app), record_published="y", recording_url="https://video.example.org/demo")
    response = admin.post("/admin/talks/demo", data=form)
    assert response.status_code == 303, page(response)[:2000]
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        assert (talk.record_published, talk.recording_url) == (True, "https://video.example.org/demo")
        logged = [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.talk_id == talk.id))]
        assert logged[-2:] == ["talk_changed", "record_published"]
    record = page(app.test_client().get("/t/demo/dokumentation"))
    assert "<h1>Dokumentation: Demo: Fragerunde ausprobieren</h1>" in record
    assert '<a href="https://video.example.org/demo">Aufzeichnung des Vortrags</a>' in record
    index = page(app.test_client().get("/"))
    assert '<a class="record-link" href="/t/demo/dokumentation" aria-label="Dokumentation: ' \
           'Demo: Fragerunde ausprobieren">Dokumentation</a>' in index
    talk_page = page(admin.get("/admin/talks/demo"))
    assert re.search(r'<input [^>]*checked id="record_published"', talk_page)
    assert 'value="https://video.example.org/demo"' in talk_page
    assert "Protokoll" in talk_page and "Dokumentation veröffentlicht" in page(admin.get("/admin/audit/demo"))
    # withdrawn: 404 again, and logged
    admin.post("/admin/talks/demo", data=talk_form(**demo_window(app)))
    assert app.test_client().get("/t/demo/dokumentation").status_code == 404
    assert "Dokumentation zurückgezogen" in page(admin.get("/admin/audit/demo"))


def test_a_recording_link_must_be_a_web_address(app, admin):
    response = admin.post("/admin/talks/demo", data=talk_form(**demo_window(app), recording_url="javascript:alert(1)"))
    assert response.status_code == 400
    assert "Bitte einen Link angeben, der mit https:// beginnt." in page(response)
    with app.app_context():
        assert talks.by_slug(db.session, "demo").recording_url is None


def test_the_series_page_links_the_published_documentation(app, admin):
    with app.app_context():
        talk = talks.by_slug(db.session, "wohnen")
        talk.record_published = True
        db.session.commit()
    index = page(app.test_client().get("/"))
    assert 'href="/t/wohnen/dokumentation"' in index
    series = page(admin.get("/admin/series/kleinstaedte"))
    assert 'href="/t/wohnen/dokumentation"' in series and "nicht veröffentlicht" in series


# --- rules ------------------------------------------------------------------------------------

def test_rules_default_and_the_series_own(app, admin):
    talk_page = page(app.test_client().get("/t/wohnen"))
    assert '<a href="/t/wohnen/regeln">Regeln der Fragerunde</a>' in talk_page
    default = page(app.test_client().get("/t/wohnen/regeln"))
    for said in ("Was wir nicht annehmen", "Sie darf Fragen kürzen", "zusammenfassen",
                 "Veranstaltet von SLpB, BBSR, DStGB und DLT"):
        assert said in default, said
    english = page(app.test_client().get("/t/wohnen/regeln?lang=en"))
    assert "What we do not accept" in english and "Was wir nicht annehmen" not in english
    response = admin.post("/admin/series/kleinstaedte",
                          data={"rules": "Fragen bitte kurz.\r\n\r\nKeine Werbung <b>bitte</b>."})
    assert response.status_code == 303
    raw = app.test_client().get("/t/wohnen/regeln").get_data(as_text=True)
    assert "<p>Fragen bitte kurz.</p>" in raw and "<p>Keine Werbung &lt;b&gt;bitte&lt;/b&gt;.</p>" in raw
    own = page(app.test_client().get("/t/wohnen/regeln"))
    assert "Was wir nicht annehmen" not in own
    assert "Fragen bitte kurz." in page(admin.get("/admin/series/kleinstaedte"))
    admin.post("/admin/series/kleinstaedte", data={"rules": "  "})
    with app.app_context():
        assert db.session.scalar(select(Series).where(Series.slug == "kleinstaedte")).rules is None
    assert "Was wir nicht annehmen" in page(app.test_client().get("/t/wohnen/regeln"))
    # a talk outside any series has the default rules too
    assert "Was wir nicht annehmen" in page(app.test_client().get("/t/demo/regeln"))
    assert app.test_client().get("/t/gibt-es-nicht/regeln").status_code == 404


# --- the report --------------------------------------------------------------------------------

def test_the_report_shows_rejections_and_reports_per_reason(app, admin, clock):
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        anna = db.session.scalar(select(User).where(User.username == "anna"))
        for i, reason in enumerate(["thema", "thema", "werbung", None]):
            q = questions.submit(db.session, talk, text=f"Frage {i}?", name=None, client=f"c{i}",
                                 client_msg_id=uuid.uuid4().hex, now=clock()).question
            questions.transition(db.session, talk, anna, "reject", q.id, now=clock(), reason=reason)
        q = questions.submit(db.session, talk, text="Öffentlich?", name=None, client="p",
                             client_msg_id=uuid.uuid4().hex, now=clock()).question
        questions.transition(db.session, talk, anna, "approve", q.id, now=clock())
        reports.report(db.session, talk, "r1", q.id, "falsch")
        db.session.commit()
    text = page(admin.get("/moderate/demo/report"))
    section = re.search(r'<h2 id="moderation-figures">.*?</section>', text).group(0)
    assert '<th scope="row">Nicht zum Thema</th><td class="number">2</td>' in section
    assert '<th scope="row">Werbung</th><td class="number">1</td>' in section
    assert '<th scope="row">ohne Grund</th><td class="number">1</td>' in section
    assert '<th scope="row">falsch oder irreführend</th><td class="number">1</td>' in section
    assert not re.search(r">(thema|werbung|falsch|sonstiges)<", section)  # no code reaches a person
    audit = page(admin.get("/admin/audit/demo"))
    assert "<td>Nicht zum Thema</td>" in audit and "<td>thema</td>" not in audit


# --- the Probelauf from the talk page -----------------------------------------------------------

def test_rehearsal_buttons_on_the_talk_page(app, admin, clock):
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        talk.starts_at, talk.ends_at = clock() + timedelta(hours=2), clock() + timedelta(hours=4)
        db.session.commit()
    text = page(admin.get("/admin/talks/demo"))
    assert "Probelauf starten" in text and "Probelauf beenden" not in text
    response = admin.post("/admin/talks/demo/rehearsal", data={"action": "start"})
    assert response.status_code == 303
    text = page(admin.get("/admin/talks/demo"))
    assert "Probelauf beenden" in text and "Probelauf läuft seit" in text
    assert '<span class="badge warn">Probelauf</span>' in page(admin.get("/admin/"))
    assert "Probelauf –" in page(app.test_client().get("/t/demo"))
    assert "Probelauf" in page(admin.get("/moderate/demo"))
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        questions.submit(db.session, talk, text="Test, Test?", name=None, client="team",
                         client_msg_id=uuid.uuid4().hex, now=clock())
        db.session.commit()
    response = admin.post("/admin/talks/demo/rehearsal", data={"action": "end"})
    assert "Probelauf beendet: 1 Frage entfernt." in page(admin.get(response.headers["Location"]))
    assert 'data-text="Probelauf' in page(app.test_client().get("/t/demo"))
    assert "Probelauf –" not in re.sub(r'data-text="[^"]*"', "", page(app.test_client().get("/t/demo")))
    with app.app_context():
        assert db.session.scalar(select(Question.id)) is None
    # never while the round is open for the audience
    admin.post("/admin/talks/demo", data=talk_form(**demo_window(app)))
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        talk.starts_at = clock() - timedelta(minutes=5)
        db.session.commit()
    response = admin.post("/admin/talks/demo/rehearsal", data={"action": "start"})
    assert "kann kein Probelauf beginnen" in page(admin.get(response.headers["Location"]))
    assert app.test_client().post("/admin/talks/demo/rehearsal", data={"action": "start"}).status_code == 302


# --- the question page without JavaScript ------------------------------------------------------

def test_the_question_page_says_why_and_where_and_takes_the_consent(app, staff, clock):
    client = app.test_client()
    client.get("/t/demo")
    form = {"text": "Warum gibt es keinen Bus?", "name": "Erika", "name_in_record": "y",
            "client_msg_id": uuid.uuid4().hex}
    assert client.post("/t/demo/questions", data=form).status_code == 303
    dup = {"text": "Wann kommt wieder ein Bus?", "name": "", "client_msg_id": uuid.uuid4().hex}
    assert client.post("/t/demo/questions", data=dup).status_code == 303
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        anna = db.session.scalar(select(User).where(User.username == "anna"))
        first = db.session.scalar(select(Question).where(Question.text == form["text"]))
        second = db.session.scalar(select(Question).where(Question.text == dup["text"]))
        assert (first.name_in_record, second.name_in_record) == (True, False)
        questions.transition(db.session, talk, anna, "reject", first.id, now=clock(), reason="thema")
        other = questions.submit(db.session, talk, text="Wie oft fährt der Bus?", name=None, client="o",
                                 client_msg_id=uuid.uuid4().hex, now=clock()).question
        questions.merge(db.session, talk, anna, second.id, other.id)
        db.session.commit()
        anna_id, other_id = anna.id, other.id
    text = page(client.get("/t/demo"))
    assert "Nicht angenommen – nicht zum Thema" in text
    assert "Mit einer ähnlichen Frage zusammengefasst" in text  # the other one is not public (yet)
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        questions.transition(db.session, talk, db.session.get(User, anna_id), "approve", other_id, now=clock())
        db.session.commit()
    text = page(client.get("/t/demo"))
    assert "Zusammengefasst mit: „Wie oft fährt der Bus?“" in text
    assert "Meinen Namen in der Dokumentation nennen" in text
    english = page(client.get("/t/demo?lang=en"))
    assert "Not accepted – off topic" in english and "Combined with: “Wie oft fährt der Bus?”" in english
    # somebody else sees neither the rejected question nor its reason
    stranger = page(app.test_client().get("/t/demo"))
    shown = stranger.split('<script type="application/json" id="strings">')[0]  # the page, not its script's words
    assert "Nicht angenommen – nicht zum Thema" in text.split('<script type="application/json" id="strings">')[0]
    assert "Nicht angenommen" not in shown and "Warum gibt es keinen Bus?" not in stranger
