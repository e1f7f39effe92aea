"""Issue 23, channels: a mail's own words and its talk, taking a mail once, the intake API's
rules, pasted lists, and every channel through submit's rules (never public before approval)."""
from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from moderation.models import AuditEntry, Block, MailMessage, Question, Talk, WorkerLease
from moderation.readmodel.payloads import Context
from moderation.readmodel.payloads import question as payload
from moderation.readmodel.views import AUDIENCE, MODERATOR, PODIUM
from moderation.services import channels, leases, retention
from moderation.services import mail as mail_service
from moderation.services import questions as question_service
from moderation.services import talks as talk_service
from moderation.services.errors import DomainError

SECRET = "test-secret"
BOX = mail_service.mailbox_key("fragen@example.org@127.0.0.1:143/INBOX")


def mail(body: str = "Wie geht es mit dem Bahnhof weiter?", *, to: str = "fragen+demo@example.org",
         subject: str = "Frage", sender: str = '"Erika Muster" <Erika@Example.org>', html: str | None = None,
         attachment: bytes | None = None, headers: dict | None = None, message_id: str | None = "<m1@example.org>") -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    if message_id:
        message["Message-ID"] = message_id
    for key, value in (headers or {}).items():
        message[key] = value
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype="pdf", filename="frage.pdf")
    return bytes(message)


# --- a mail's own words ---------------------------------------------------------------------------

def test_a_reply_keeps_only_its_own_words_without_quote_signature_or_greeting():
    body = ("Hallo zusammen,\n\nwie kommen Pendler ohne Auto\nzum Bahnhof?\n\nViele Grüße\nErika\n\n"
            "Am 10.03.2021 um 12:00 schrieb Fragerunde <fragen@example.org>:\n> Schicken Sie uns Ihre Fragen\n")
    found = mail_service.read(mail(body))
    assert found.text == "wie kommen Pendler ohne Auto\nzum Bahnhof?"
    assert found.name is None  # the display name never becomes the name by itself
    assert found.sender == "erika@example.org"


@pytest.mark.parametrize("tail", [
    "-- \nErika Muster\nStadtverwaltung Kleinstadt",
    "Von meinem iPhone gesendet",
    "-----Ursprüngliche Nachricht-----\nVon: Fragerunde\nGesendet: Montag\nBetreff: Fragen",
    "Von: Fragerunde <fragen@example.org>\nGesendet: Montag, 8. März 2021 10:00\nAn: Erika",
    "On Mon, 8 Mar 2021 at 10:00, Fragerunde <fragen@example.org> wrote:\n> quoted",
    "> Eine zitierte Zeile\n> noch eine",
])
def test_signatures_and_quoted_replies_are_cut(tail):
    assert mail_service.own_words(f"Gibt es einen Rufbus am Abend?\n{tail}")[0] == "Gibt es einen Rufbus am Abend?"


def test_name_only_when_the_first_line_says_so():
    text, name = mail_service.own_words("Name: Erika M.\nWird der Bahnhof barrierefrei?")
    assert (text, name) == ("Wird der Bahnhof barrierefrei?", "Erika M.")


def test_html_mails_are_read_as_text_without_their_quoted_part():
    markup = ("<html><head><style>p{color:red}</style></head><body><p>Wann kommt <b>Glasfaser</b>?</p>"
              "<div class='gmail_quote'>Am Montag schrieb jemand: <blockquote>alt</blockquote></div>"
              "<script>alert(1)</script></body></html>")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "fragen+demo@example.org", "x"
    message.set_content(markup, subtype="html")
    assert mail_service.read(bytes(message)).text == "Wann kommt Glasfaser?"


def test_plain_text_is_preferred_and_attachments_are_never_read():
    raw = mail("Was kostet das Deutschlandticket?", html="<p>anders</p>", attachment=b"%PDF-1.4 secret")
    assert mail_service.read(raw).text == "Was kostet das Deutschlandticket?"


@pytest.mark.parametrize("headers", [{"Auto-Submitted": "auto-replied"}, {"Precedence": "bulk"},
                                     {"List-Id": "<liste.example.org>"}])
def test_automatic_mails_are_recognised(headers):
    assert mail_service.read(mail(headers=headers)).automatic


# --- routing and taking ---------------------------------------------------------------------------

def test_routing_by_plus_address_then_by_kuerzel_in_the_subject(session, seeded):
    route = lambda raw: mail_service.route(session, mail_service.read(raw))  # noqa: E731
    assert route(mail(to="Fragen <fragen+wohnen@example.org>"))[0].slug == "wohnen"
    assert route(mail(to="fragen@example.org", subject="Frage zum Vortrag mobilitaet"))[0].slug == "mobilitaet"
    assert route(mail(to="fragen@example.org", subject="Eine Frage zur Mobilität")) == (None, "no_talk")
    assert route(mail(to="fragen@example.org", subject="wohnen oder mobilitaet?")) == (None, "ambiguous")


@pytest.mark.postgres
def test_a_mail_becomes_one_pending_question_whatever_vorab_moderation_says(session, seeded, clock):
    demo = session.get(Talk, seeded)
    demo.premoderation = False
    session.commit()
    taken = mail_service.take(session, BOX, 7, 1, mail("Name: Erika\nWird der Bahnhof barrierefrei?"),
                              secret=SECRET, now=clock())
    assert taken is not None
    row, write = taken
    session.commit()
    question = write.question
    assert (question.status, question.source, question.name, row.status) == ("pending", "email", "Erika", "question")
    assert question.client_hash == mail_service.sender_hash(SECRET, "erika@example.org")
    assert row.sender_hash is None and row.text is None  # a taken mail keeps nothing of its sender
    assert mail_service.take(session, BOX, 7, 1, mail(), secret=SECRET, now=clock()) is None  # the same UID again
    session.commit()
    assert session.scalar(select(func.count()).select_from(Question)) == 1
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "intake"))
    assert (entry.question_id, entry.after) == (question.id, "email")


def test_no_public_payload_carries_the_source_but_moderators_see_it(session, seeded, clock):
    demo = session.get(Talk, seeded)
    _row, write = mail_service.take(session, BOX, 7, 2, mail(), secret=SECRET, now=clock())
    assert payload(write.question, MODERATOR, Context())["source"] == "email"
    for view in (AUDIENCE, PODIUM):
        shown = payload(write.question, view, Context())
        assert "source" not in shown and "source_label" not in shown
    assert demo.premoderation


def test_mails_the_rules_refuse_wait_for_an_admin_and_can_be_assigned(session, seeded, clock, moderator_user):
    from moderation.models import User
    admin = session.get(User, moderator_user)
    wohnen = talk_service.by_slug(session, "wohnen")  # 2021: its round is long over
    row, write = mail_service.take(session, BOX, 7, 3, mail(to="fragen+wohnen@example.org"), secret=SECRET, now=clock())
    assert write is None and (row.status, row.reason, row.talk_id) == ("waiting", "closed", wohnen.id)
    long_row, _ = mail_service.take(session, BOX, 7, 4, mail("Warum? " * 100, message_id="<m2@x>"), secret=SECRET,
                                    now=clock())
    assert (long_row.status, long_row.reason) == ("waiting", "too_long")
    session.commit()
    assert [r.id for r in mail_service.waiting(session)] == [row.id, long_row.id]
    assigned = mail_service.assign(session, row.id, wohnen, row.text, None, admin, clock())
    session.commit()
    assert (assigned.question.status, assigned.question.source, assigned.question.talk_id) == ("pending", "email",
                                                                                                   wohnen.id)
    assert (row.status, row.text, row.sender_hash) == ("assigned", None, None)
    mail_service.discard(session, long_row.id, admin)
    session.commit()
    assert mail_service.waiting(session) == [] and long_row.text is None


def test_a_blocked_sender_stays_blocked_by_mail(session, seeded, clock):
    session.add(Block(talk_id=seeded, client_hash=mail_service.sender_hash(SECRET, "erika@example.org")))
    session.commit()
    row, write = mail_service.take(session, BOX, 7, 5, mail(), secret=SECRET, now=clock())
    assert write is None and (row.status, row.reason, row.subject) == ("ignored", "blocked", None)


@pytest.mark.postgres
def test_a_new_uidvalidity_does_not_take_a_mail_twice(session, seeded, clock):
    assert mail_service.take(session, BOX, 7, 1, mail(), secret=SECRET, now=clock())[1] is not None
    again = mail_service.take(session, BOX, 8, 1, mail(), secret=SECRET, now=clock())
    assert again[1] is None and again[0].reason == "copy"


@pytest.mark.postgres
def test_purge_deletes_the_mails_of_old_talks_and_the_words_of_old_waiting_ones(session, seeded, clock):
    mail_service.take(session, BOX, 7, 1, mail(to="fragen+wohnen@example.org"), secret=SECRET, now=clock())
    mail_service.take(session, BOX, 7, 2, mail(to="fragen@example.org", message_id="<m3@x>"), secret=SECRET,
                      now=clock() - timedelta(days=200))
    session.commit()
    retention.purge(session, clock() - timedelta(days=100))
    session.commit()
    rows = list(session.scalars(select(MailMessage)))
    assert [(r.status, r.text, r.sender_hash) for r in rows] == [("discarded", None, None)]


# --- the lease ---------------------------------------------------------------------------------

@pytest.mark.postgres
def test_one_holder_at_a_time_until_its_lease_runs_out(session, clock):
    now = clock()
    assert leases.acquire(session, "mailbox", "a", now, 30)
    assert not leases.acquire(session, "mailbox", "b", now + timedelta(seconds=10), 30)
    assert leases.acquire(session, "mailbox", "a", now + timedelta(seconds=20), 30)  # renewed
    assert not leases.acquire(session, "mailbox", "b", now + timedelta(seconds=45), 30)
    assert leases.acquire(session, "mailbox", "b", now + timedelta(seconds=51), 30)
    session.commit()
    assert session.get(WorkerLease, "mailbox").holder == "b"


# --- the intake API ------------------------------------------------------------------------------

@pytest.mark.postgres
def test_relayed_questions_are_pending_once_per_external_id_with_the_label_as_source(session, seeded, clock):
    demo = session.get(Talk, seeded)
    demo.premoderation = False
    token, secret_token = channels.create_token(session, demo, "YouTube", None)
    assert channels.authorise(session, demo, secret_token) is token
    write, created = channels.relayed(session, demo, token, channels.Relayed("Gibt es Fördergeld?", "anna_k",
                                                                             external_id="yt-1"),
                                      secret=SECRET, now=clock())
    again, created_again = channels.relayed(session, demo, token, channels.Relayed("anders", external_id="yt-1"),
                                            secret=SECRET, now=clock())
    assert created and not created_again and again.question.id == write.question.id
    assert (write.question.status, write.question.source, write.question.name) == ("pending", "api:YouTube", "anna_k")
    other, _ = channels.relayed(session, demo, token, channels.Relayed("Und Twitch?", source="Twitch"),
                                secret=SECRET, now=clock())
    assert other.question.source == "api:Twitch"


@pytest.mark.parametrize("item, code", [
    (channels.Relayed(""), "empty"), (channels.Relayed("x" * 501), "too_long"), (channels.Relayed(5), "invalid"),
    (channels.Relayed("Frage?", name="Moderation"), "invalid"), (channels.Relayed("Frage?", external_id=True), "invalid"),
    (channels.Relayed("Frage?", source="x" * 41), "too_long"),
])
def test_relayed_questions_follow_the_page_rules(session, seeded, clock, item, code):
    demo = session.get(Talk, seeded)
    token, _ = channels.create_token(session, demo, "YouTube", None)
    with pytest.raises(DomainError) as refused:
        channels.relayed(session, demo, token, item, secret=SECRET, now=clock())
    assert refused.value.code == code


def test_wrong_revoked_or_other_talks_tokens_are_refused(session, seeded, clock):
    demo = session.get(Talk, seeded)
    wohnen = talk_service.by_slug(session, "wohnen")
    token, secret_token = channels.create_token(session, demo, "YouTube", None)
    for talk, bearer in ((demo, "fr_wrong"), (wohnen, secret_token), (demo, None)):
        with pytest.raises(DomainError) as refused:
            channels.authorise(session, talk, bearer)
        assert refused.value.code == "forbidden"
    channels.revoke_token(session, demo, token.id, None, clock())
    with pytest.raises(DomainError):
        channels.authorise(session, demo, secret_token)
    assert token.token_hash != secret_token and secret_token not in str(token.__dict__)


def test_a_blocked_chat_name_is_refused(session, seeded, clock):
    demo = session.get(Talk, seeded)
    token, _ = channels.create_token(session, demo, "YouTube", None)
    write, _ = channels.relayed(session, demo, token, channels.Relayed("Frage eins?", "troll"), secret=SECRET,
                                now=clock())
    session.add(Block(talk_id=demo.id, client_hash=write.question.client_hash))
    with pytest.raises(DomainError) as refused:
        channels.relayed(session, demo, token, channels.Relayed("Frage zwei?", "Troll"), secret=SECRET, now=clock())
    assert refused.value.detail.get("blocked")


# --- pasted lists --------------------------------------------------------------------------------

def test_a_list_splits_by_line_or_by_blank_lines_with_optional_names():
    assert channels.split("Erika: Wo hält der Bus?\nWann kommt die Bahn?\n\n") == [
        ("Wo hält der Bus?", "Erika"), ("Wann kommt die Bahn?", None)]
    assert channels.split("Eine lange Frage\nüber zwei Zeilen?\n\nHans Meier: Noch eine?") == [
        ("Eine lange Frage über zwei Zeilen?", None), ("Noch eine?", "Hans Meier")]
    assert channels.split("Was heißt das: Wohnen im Alter?")[0] == ("Was heißt das: Wohnen im Alter?", None)


def test_preview_marks_repeats_and_similar_open_questions_and_taking_skips_repeats(session, seeded, clock,
                                                                                   moderator_user):
    from moderation.models import User
    user = session.get(User, moderator_user)
    demo = session.get(Talk, seeded)
    open_one = question_service.submit(session, demo, text="Wann kommt der Glasfaserausbau in Kleinstädte?",
                                       name=None, client="c" * 64, client_msg_id="msg-00001", now=clock()).question
    pasted = ("wann kommt der glasfaserausbau in kleinstädte?\nErika: Wann kommt der Glasfaserausbau in unsere "
              "Kleinstadt?\nWie wird der Marktplatz belebt?\nWie wird der Marktplatz belebt?")
    lines = channels.preview(session, demo, pasted)
    assert [line.duplicate_of for line in lines] == [open_one.id, None, None, -3]
    assert lines[1].similar == [open_one.id] and lines[1].name == "Erika"
    write, _ = channels.take_list(session, demo, pasted, "Telefon", user, clock())
    session.commit()
    taken = [c.question for c in write.changed]
    assert [(q.text, q.source, q.source_label, q.status) for q in taken] == [
        ("Wann kommt der Glasfaserausbau in unsere Kleinstadt?", "import", "Telefon", "pending"),
        ("Wie wird der Marktplatz belebt?", "import", "Telefon", "pending")]
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "intake", AuditEntry.username == "mod")) == 2


def test_a_list_with_a_refused_line_takes_nothing(session, seeded, clock, moderator_user):
    from moderation.models import User
    demo = session.get(Talk, seeded)
    with pytest.raises(DomainError) as refused:
        channels.take_list(session, demo, "Gute Frage?\n" + "x" * 600, "", session.get(User, moderator_user), clock())
    assert refused.value.code == "too_long"
    assert [line.error is not None for line in refused.value.detail["lines"]] == [False, True]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Question)) == 0
