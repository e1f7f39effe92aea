"""Issue 21, finding 9: a talk could be named `new` (then /admin/talks/new never reached it), and
private pages stayed in a shared conference PC's disk cache."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from moderation.extensions import db
from moderation.models import Talk
from moderation.services import organiser, talks
from tests.web.test_admin import page, talk_form

STAFF_BLUEPRINTS = ("admin", "moderate", "podium")


@pytest.mark.parametrize("slug", ["new", "neu", "report", "import", "export", "admin", "t"])
def test_a_route_word_is_refused_as_slug_in_german(app, admin, slug):
    response = admin.post("/admin/talks/new", data=talk_form(slug=slug))
    assert response.status_code == 400
    assert "Dieses Kürzel ist ein Wort der Adressen dieser Anwendung" in page(response)
    with app.app_context():
        assert db.session.scalar(select(Talk).where(Talk.slug == slug)) is None


def test_renaming_a_talk_to_new_is_refused_too(app, admin):
    form = talk_form(slug="new", title="Demo: Fragerunde ausprobieren")
    response = admin.post("/admin/talks/demo", data=form)
    assert response.status_code == 400 and "Wort der Adressen" in page(response)
    assert "new" in organiser.RESERVED_SLUGS and admin.get("/admin/talks/new").status_code == 200


def _url(rule, values: dict[str, object]) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)


def test_every_staff_page_and_export_says_no_store(app, admin):
    """Every GET route of the staff and podium blueprints, found in the URL map (so that a new
    page is checked without being named here), answers with `Cache-Control: no-store`."""
    with app.app_context():
        talk = talks.by_slug(db.session, "demo")
        values = {"slug": "demo", "token": talk.podium_token, "user_id": 1, "mail_id": 1, "token_id": 1}
    rules = [rule for rule in app.url_map.iter_rules()
             if rule.endpoint.split(".")[0] in STAFF_BLUEPRINTS and "GET" in (rule.methods or ())]
    assert len(rules) >= 14
    for rule in rules:
        url = _url(rule, values | ({"slug": "kleinstaedte"} if "series" in rule.rule else {}))
        response = admin.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert response.headers.get("Cache-Control") == "no-store", url
    # a refusal too (it may carry the page it refuses), and the login page with its form
    assert app.test_client().get("/moderate/demo").headers["Cache-Control"] == "no-store"
    assert app.test_client().get("/login").headers["Cache-Control"] == "no-store"
    # public pages stay cacheable
    assert "no-store" not in app.test_client().get("/").headers.get("Cache-Control", "")
