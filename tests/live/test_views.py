"""The View table (readmodel/views.py) as data: what each kind of screen may carry and hear."""
from __future__ import annotations

from moderation.models import PODIUM_STATUSES, PUBLIC_STATUSES, STATUSES
from moderation.readmodel import views
from moderation.readmodel.views import AUDIENCE, AUTHOR, MODERATOR, OVERLAY, PODIUM, STAFF_FIELDS


def test_public_screens_carry_no_staff_field_and_the_author_only_why_and_where_to():
    for view in (AUDIENCE, PODIUM, OVERLAY):
        assert view.fields & STAFF_FIELDS == frozenset() and view.staff_fields == frozenset(), view.name
    assert views.OWN_FIELDS == {"reason", "merged_into"} <= STAFF_FIELDS
    assert AUTHOR.fields & STAFF_FIELDS == views.OWN_FIELDS and AUTHOR.staff_fields == frozenset()
    assert AUDIENCE.own_fields == AUTHOR.own_fields == views.OWN_FIELDS  # its snapshot's own questions
    assert {"reports", "source", "source_label", "blocked", "note", "labels"} <= STAFF_FIELDS
    assert MODERATOR.fields == views.BASE_FIELDS | {"answer"} | STAFF_FIELDS
    assert "answer" not in PODIUM.fields | OVERLAY.fields


def test_what_each_view_sees_and_hears():
    assert (MODERATOR.statuses, AUDIENCE.statuses, AUTHOR.statuses) == (set(STATUSES), set(PUBLIC_STATUSES),
                                                                         set(STATUSES))
    assert PODIUM.statuses == OVERLAY.statuses == set(PODIUM_STATUSES)
    hears = {view.name: view.kinds for view in views.VIEWS}
    assert all(kinds <= views.KINDS for kinds in hears.values())
    assert {name for name, kinds in hears.items() if "topics" in kinds} == {"moderator"}
    assert {name for name, kinds in hears.items() if "backstage" in kinds} == {"moderator", "podium"}
    assert hears["author"] == {"question"} and not AUTHOR.advances and AUTHOR.within == "audience"
    assert len({view.seq_field for view in views.VIEWS if view.advances}) == len([v for v in views.VIEWS if v.advances])
