"""German is the source language and the default; English comes from the catalogue in
moderation/translations. These tests check the catalogue itself (complete, no fuzzy entries,
placeholders kept, up to date with the sources) and that pages and socket answers switch language
by ?lang= and Accept-Language."""
from __future__ import annotations

import html
import json
import re
import uuid
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from moderation.extensions import babel, db, socketio
from moderation.models import Series, Talk
from tests.helpers import signed_id

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "moderation" / "translations"
PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")

# German words of the interface that must not survive on an English page (whole words only, so
# the brand name "Fragerunde" and the language switch's "Deutsch" are fine).
GERMAN = ["Frage", "Fragen", "Ihre", "Ihr", "Sie", "senden", "gesendet", "Anmelden", "Abmelden",
          "Datenschutz", "Datenschutzhinweis", "Vortrag", "Vorträge", "Uhr", "Stimme", "Stimmen",
          "geöffnet", "geschlossen", "Hochstufen", "Freigeben", "Freigegeben", "Ablehnen", "Abgelehnt",
          "Beantwortet", "Rückgängig", "Zusammenführen", "Bearbeiten", "Zeichen", "Benutzername",
          "Passwort", "Publikum", "Protokoll", "Neu", "und", "nicht", "keine", "Bitte", "Noch"]


def _catalog():
    with PO.open("rb") as f:
        return read_po(f)


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogue():
    """The .mo is a git-ignored build artefact (`make install` builds it); rebuild it when the .po is
    newer so that running pytest directly tests the catalogue as it is in the tree."""
    if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
        with MO.open("wb") as f:
            write_mo(f, _catalog())
        domain = vars(babel).get("domain_instance")  # Flask-Babel caches loaded catalogues per process
        if domain is not None:
            domain.cache.clear()


# --- the catalogue ----------------------------------------------------------------------------

def test_every_message_is_translated_and_none_is_fuzzy():
    catalog = _catalog()
    assert not catalog.fuzzy, "the catalogue header is marked fuzzy"
    untranslated, fuzzy = [], []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if not all(s and s.strip() for s in strings):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert len(catalog) > 100
    assert untranslated == []
    assert fuzzy == []


def test_translations_keep_every_placeholder():
    for message in _catalog():
        if message.id and message.string:
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            for string in strings:  # every plural form keeps the singular's placeholders
                assert sorted(PLACEHOLDER.findall(ids[0])) == sorted(PLACEHOLDER.findall(string)), message.id


def test_catalogue_covers_every_string_in_the_sources():
    """Fails when a new _() string was added without `make translations` and a translation."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = dict(DEFAULT_KEYWORDS, _l=None)
    in_sources = {msgid if isinstance(msgid, str) else msgid[0]
                  for _file, _line, msgid, _comments, _context
                  in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)}
    in_po = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog() if m.id}
    assert sorted(in_sources - in_po) == [], "run `make translations` and translate the new entries"


# --- pages --------------------------------------------------------------------------------------

def _seed_texts(app) -> list[str]:
    """Titles and descriptions of the seeded talks are German data, not interface text."""
    with app.app_context():
        texts = [t.title for t in db.session.query(Talk)]
        for s in db.session.query(Series):
            texts += [s.title, s.description or "", s.organisers or ""]
    return sorted((t for t in texts if t), key=len, reverse=True)


def _interface_text(page: str, app) -> str:
    """What a reader sees, plus the JSON strings for the scripts; without the seeded data."""
    def json_values(match: re.Match) -> str:
        def flat(value) -> list[str]:
            if isinstance(value, dict):
                return [s for v in value.values() for s in flat(v)]
            if isinstance(value, list):
                return [s for v in value for s in flat(v)]
            return [value] if isinstance(value, str) else []
        return " | ".join(html.escape(s) for s in flat(json.loads(match.group(1))))

    page = re.sub(r'<script type="application/json"[^>]*>(.*?)</script>', json_values, page, flags=re.S)
    page = re.sub(r"<script[^>]*>.*?</script>", " ", page, flags=re.S)
    page = re.sub(r'\s(?:href|src|action|id|class|name|for|type|data-[\w-]+)="[^"]*"', " ", page)
    page = re.sub(r"<[^>]+>", " ", page)
    page = html.unescape(page)
    for text in _seed_texts(app):
        page = page.replace(text, " ")
    return page


def _german_words(text: str) -> list[str]:
    found = [w for w in GERMAN if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]
    if re.search(r"[äöüÄÖÜß]", text):
        found.append("umlaut: " + ", ".join(sorted(set(re.findall(r"\w*[äöüÄÖÜß]\w*", text)))))
    return found


def _json_strings(page: str, element_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', page, re.S)
    assert match, element_id
    return json.loads(match.group(1))


@pytest.mark.parametrize("path", ["/", "/t/demo", "/login", "/datenschutz", "/no-such-page"])
def test_public_pages_in_english_have_no_german_interface_text(app, seeded, path):
    client = app.test_client()
    response = client.get(path, query_string={"lang": "en"})
    assert response.status_code == (404 if path == "/no-such-page" else 200)
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert _german_words(_interface_text(page, app)) == []
    assert "Privacy" in page and "Skip to content" in page


def test_talk_page_in_english(app, seeded):
    page = app.test_client().get("/t/demo?lang=en").get_data(as_text=True)
    for words in ("Your question", "Name (optional)", "Send question", "The Q&A is open until",
                  "At most 500 characters.", "Approved questions", "(Berlin time)"):
        assert words in html.unescape(page), words
    strings = _json_strings(page, "strings")
    assert strings["sending"] == "Sending…"
    assert strings["sent"] == "Sent – awaiting approval"
    assert strings["retrying"] == "Not sent – retrying…"
    assert strings["count"] == "{n} of 500 characters"
    assert strings["openUntil"] == "The Q&A is open until {time}."
    common = _json_strings(page, "common-strings")
    assert common["status"]["approved"] == "Approved"
    assert common["status"]["forwarded"] == "At the podium"
    assert common["online"] == "Connected."


def test_login_and_privacy_pages_in_english(app, seeded):
    client = app.test_client()
    login = client.get("/login?lang=en").get_data(as_text=True)
    for words in ("Log in", "Username", "Password", "For moderators."):
        assert words in login, words
    privacy = client.get("/datenschutz?lang=en").get_data(as_text=True)
    for words in ("Privacy notice", "What is stored", "What is not stored", "Why and for how long",
                  "GDPR", "Your rights and contact"):
        assert words in privacy, words


def test_moderator_pages_in_english(app, seeded, login):
    client = login()
    for path in ("/moderate/", "/moderate/demo"):
        page = client.get(path, query_string={"lang": "en"}).get_data(as_text=True)
        assert _german_words(_interface_text(page, app)) == [], path
        assert "Log out" in page
    page = client.get("/moderate/demo?lang=en").get_data(as_text=True)
    for words in ("New", "Approved", "At the podium", "Answered", "Rejected", "Open Q&A", "Close Q&A",
                  "Extend by 15 minutes", "Undo", "Open podium view", "Export (CSV)"):
        assert words in html.unescape(page), words
    strings = _json_strings(page, "strings")
    desk = _json_strings(page, "desk")
    assert {a["name"]: a["label"] for a in desk["actions"]} == {
        "upvote": "Upvote", "approve": "Approve", "reject": "Reject", "forward": "To the podium",
        "answered": "Answered", "recall": "Take back from the podium", "edit": "Edit", "merge": "Merge"}
    assert desk["steps"]["approve"] == "“{text}” approved"
    assert {k: strings[k] for k in ("undo", "save", "cancel")} == {"undo": "Undo", "save": "Save", "cancel": "Cancel"}
    assert strings["undoStep"] == "Undo: {step}"
    assert strings["similar"] == "Similar to"
    counts = _json_strings(page, "common-strings")["counts"]
    assert counts["upvotes"] == {"one": "{n} upvote", "other": "{n} upvotes"}
    assert strings["editingBy"] == "being edited by {user}"


@pytest.mark.parametrize("header", ["en", "en-GB,en;q=0.9,de;q=0.5", "en-US"])
def test_accept_language_english(app, seeded, header):
    page = app.test_client().get("/t/demo", headers={"Accept-Language": header}).get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Your question" in page and "Send question" in page
    assert "Ihre Frage" not in page


def test_german_is_the_default(app, seeded):
    client = app.test_client()
    for headers in ({}, {"Accept-Language": "fr-FR,fr;q=0.9"}, {"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"}):
        page = client.get("/t/demo", headers=headers).get_data(as_text=True)
        assert '<html lang="de">' in page, headers
        assert "Ihre Frage" in page and "Frage senden" in page, headers
        assert "Your question" not in page
        assert _json_strings(page, "strings")["sending"] == "Wird gesendet…"


def test_lang_parameter_beats_accept_language(app, seeded):
    client = app.test_client()
    page = client.get("/t/demo?lang=de", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Ihre Frage" in page and "Your question" not in page
    page = client.get("/t/demo?lang=en", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Your question" in page and "Ihre Frage" not in page


def test_form_submission_without_javascript_answers_in_english(app, seeded):
    client = app.test_client()
    refused = client.post("/t/demo/questions?lang=en", data={"text": "", "client_msg_id": str(uuid.uuid4())})
    assert refused.status_code == 400
    assert "Please enter a question." in refused.get_data(as_text=True)
    sent = client.post("/t/demo/questions?lang=en", data={"text": "How does it work?", "name": "",
                                                          "client_msg_id": str(uuid.uuid4())},
                       follow_redirects=True)
    assert sent.status_code == 200
    assert "Sent – awaiting approval" in sent.get_data(as_text=True)


# --- socket answers -----------------------------------------------------------------------------

def _audience(app, **kwargs):
    client = socketio.test_client(app, namespace="/audience",
                                  auth={"talk": "demo", "client_id": signed_id(app)}, **kwargs)
    assert client.is_connected("/audience")
    return client


def _submit(client, text: str) -> dict:
    return client.emit("submit", {"text": text, "name": None, "client_msg_id": str(uuid.uuid4())},
                       namespace="/audience", callback=True)


@pytest.mark.parametrize("how", [{"headers": {"Accept-Language": "en"}}, {"query_string": "lang=en"}])
def test_socket_errors_in_english(app, seeded, how):
    client = _audience(app, **how)
    ack = _submit(client, "   ")
    assert ack == {"ok": False, "error": "empty", "message": "Please enter a question."}
    ack = _submit(client, "x" * 2000)
    assert ack["ok"] is False and ack["error"] == "too_long"
    assert ack["message"].startswith("The question is too long (at most ")
    ack = client.emit("submit", "not a dict", namespace="/audience", callback=True)
    assert ack["message"] == "Invalid input."
    client.disconnect(namespace="/audience")


def test_socket_errors_default_to_german(app, seeded):
    client = _audience(app)
    ack = _submit(client, "   ")
    assert ack == {"ok": False, "error": "empty", "message": "Bitte geben Sie eine Frage ein."}
    client.disconnect(namespace="/audience")


def test_the_german_word_check_finds_german(app, seeded, login):
    """Guards the guard: the same check on the German pages does find German words, also in the
    JSON strings for the scripts (where tojson escapes umlauts)."""
    page = app.test_client().get("/t/demo").get_data(as_text=True)
    assert {"Ihre", "Frage", "geöffnet"} <= set(_german_words(_interface_text(page, app)))
    page = login().get("/moderate/demo").get_data(as_text=True)
    found = _german_words(_interface_text(page, app))
    assert "Hochstufen" in found  # only in the JSON strings
    assert any(f.startswith("umlaut:") and "Zusammenführen" in f for f in found)
