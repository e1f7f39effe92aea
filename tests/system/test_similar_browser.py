"""A moderator sees "Ähnlich wie" suggestions in a real browser, follows one to the other card
and dismisses a wrong one for good."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.system.test_browser import (  # noqa: F401  (fixtures)
    ask,
    audience_page,
    card,
    expect,
    moderator,
    moderator_login,
    server,
)

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "shots"


def test_similar_questions_link_to_each_other_and_a_dismissal_is_final(server, new_context, moderator):  # noqa: F811
    audience = audience_page(new_context(), server)
    first = "Wie gut funktioniert ein Rufbus in der Uckermark?"
    second = "Welche Erfahrungen gibt es mit Rufbussen in der Uckermark?"
    ask(audience, first)
    expect(card(moderator, first)).to_be_visible()
    ask(audience, second)
    hint = card(moderator, second).locator(".similar")
    expect(hint).to_contain_text("Ähnlich wie")
    expect(hint.locator("mark").filter(has_text="Uckermark")).to_be_visible()
    link = hint.get_by_role("link", name=re.compile(r"^Zur ähnlichen Frage #\d+ springen$"))
    first_id = link.inner_text().lstrip("#")
    if os.environ.get("SHOTS"):
        SHOTS.mkdir(exist_ok=True)
        moderator.screenshot(path=str(SHOTS / "similar.png"))
    link.click()
    expect(card(moderator, first)).to_be_focused()  # the desk jumps to the other card and focuses it

    card(moderator, second).get_by_role("button", name=f"Nicht ähnlich wie #{first_id}").click()
    expect(card(moderator, second).locator(".similar")).to_be_hidden()
    expect(card(moderator, first).locator(".similar")).to_be_hidden()
    moderator.reload()
    expect(card(moderator, second)).to_be_visible()
    expect(card(moderator, second).locator(".similar")).to_be_hidden()
