"""The German similar-question suggester: its index (pure), its measured quality on the
fixture of the series, and the stored suggestions with dismissals (on a real session)."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from moderation.models import AuditEntry, DismissedSimilar
from moderation.services import accounts, meaning, similar
from moderation.services.errors import DomainError
from moderation.services.similar import TalkIndex, terms
from tests.helpers import PASSWORD, another_process_first, ask

FIXTURE = Path(__file__).parent.parent / "fixtures" / "kleinstaedte_fragen.json"


def index_of(*texts: str) -> TalkIndex:
    index = TalkIndex()
    for qid, text in enumerate(texts, start=1):
        index.add(qid, text)
    return index


# --- the suggester ----------------------------------------------------------------------------

def test_stop_words_and_filler_are_dropped_and_words_stemmed():
    found = terms("Gibt es eigentlich überhaupt Rufbusse in den Kleinstädten?")
    assert set(found.words) == {"rufbus", "kleinstadt"}


@pytest.mark.parametrize("a, b", [
    ("Kleinstädten", "Kleinstaedten"),  # umlaut digraphs
    ("Straße", "Strasse"),  # ß
    ("Ｒｕｆｂｕｓ", "Rufbus"),  # NFKC: full-width letters
    ("Rufbusse", "Rufbus"),  # plural with a doubled consonant
    ("Car-Sharing", "Carsharing"),  # hyphenated compound
])
def test_spelling_variants_meet_in_one_word(a, b):
    assert set(terms(a).words) & set(terms(b).words)


def test_a_phrase_meets_its_compound():
    assert terms("Coworking Spaces").words["coworkingspac"] == 1 == terms("Coworking-Spaces").words["coworkingspac"]
    assert "kleinstadt" in terms("in kleinen Städten").words
    assert "kleinstadtfinanziert" not in terms("in Kleinstädten finanziert").words  # a verb is no part


def test_typos_and_plurals_are_suggested_but_topic_words_alone_are_not():
    index = index_of(
        "Wie gut funktioniert ein Rufbus in Kleinstädten?",
        "Welche Erfahrungen gibt es mit Rufbussen in Kleinstädten?",
        "Wie wird der Radverkehr in Kleinstädten gefördert?",
        "Wie wird der ÖPNV in Kleinstädten finanziert?",
        "Wie wird der OEPNV in Kleinstaedten finanzirt?",
        "Wann kommt der Glasfaserausbau in Kleinstädten?",
    )
    assert [s.id for s in index.suggest(1)] == [2]
    assert [s.id for s in index.suggest(4)] == [5]
    assert 3 not in [s.id for s in index.suggest(4)]  # "Wie wird … in Kleinstädten" is no match
    assert index.suggest(6) == []


def test_suggestions_come_best_first_with_the_shared_words_rarest_first():
    index = index_of(
        "Werden stillgelegte Bahnstrecken in der Region reaktiviert?",
        "Werden stillgelegte Bahnstrecken reaktiviert?",
        "Gibt es Pläne, alte Bahnstrecken wieder in Betrieb zu nehmen?",
        "Was kostet ein Rufbus pro Fahrgast in der Region?",
    )
    found = index.suggest(2, threshold=0.05)
    assert [s.id for s in found[:2]] == [1, 3]
    assert found[0].score > found[1].score
    assert set(found[0].words) == {"stillgelegte", "Bahnstrecken", "reaktiviert"}
    assert found[1].words == ("Bahnstrecken",)


def test_excluded_removed_and_edited_questions_are_not_suggested():
    index = index_of("Lohnt sich Carsharing in kleinen Städten?", "Funktioniert Carsharing in kleinen Städten?",
                     "Brauchen wir auf dem Land ein eigenes Auto?")
    assert [s.id for s in index.suggest(1)] == [2]
    assert index.suggest(1, exclude={2}) == []
    index.add(2, "Wie sicher sind Radwege zwischen den Dörfern?")
    assert index.suggest(1) == []
    index.add(2, "Funktioniert Carsharing in kleinen Städten?")
    index.remove(2)
    assert index.suggest(1) == [] and 2 not in index and len(index) == 2


def test_a_text_not_in_the_index_can_be_compared_too():
    index = index_of("Haben sich Rufbusse auf dem Land bewährt?")
    assert [s.id for s in index.suggest(text="Hat sich der Rufbus auf dem Land bewährt?")] == [1]


def test_the_index_only_scores_questions_sharing_a_telling_feature():
    index = TalkIndex()
    for qid in range(1, 1201):
        index.add(qid, f"Frage Nummer {qid} zu Kleinstädten und dem Thema {qid % 37} mit Zusatz{qid}")
    index.add(5000, "Werden stillgelegte Bahnstrecken reaktiviert?")
    found = index._candidates(terms("Wann werden stillgelegte Bahnstrecken reaktiviert?"), set())
    assert 5000 in found and len(found) < 50


# --- measured quality -------------------------------------------------------------------------

def pair_quality(threshold: float = similar.THRESHOLD) -> tuple[float, float, int, int]:
    """Precision and recall of the suggested pairs over the fixture's four talks."""
    talks = json.loads(FIXTURE.read_text(encoding="utf-8"))["talks"]
    truth: set[tuple[str, int, int]] = set()
    found: set[tuple[str, int, int]] = set()
    for slug, items in talks.items():
        index = TalkIndex()
        for i, item in enumerate(items):
            index.add(i, item["text"])
        for i, j in itertools.combinations(range(len(items)), 2):
            if items[i].get("group") and items[i].get("group") == items[j].get("group"):
                truth.add((slug, i, j))
        for i in range(len(items)):
            for s in index.suggest(i, threshold=threshold):
                low, high = sorted((i, s.id))
                found.add((slug, low, high))
    hits = len(truth & found)
    return hits / len(found), hits / len(truth), len(found), len(truth)


def test_fixture_is_big_enough_and_has_groups_in_every_talk():
    talks = json.loads(FIXTURE.read_text(encoding="utf-8"))["talks"]
    assert sum(len(items) for items in talks.values()) >= 80
    assert set(talks) == {"kleinstaedte", "wohnen", "arbeit-digital", "mobilitaet"}
    for items in talks.values():
        assert len({item["group"] for item in items if "group" in item}) >= 5
        assert sum("group" not in item for item in items) >= 7


def test_precision_and_recall_of_suggested_pairs_on_the_series_fixture():
    precision, recall, suggested, true = pair_quality()
    print(f"\nsimilar questions at threshold {similar.THRESHOLD}: precision {precision:.2f}, "
          f"recall {recall:.2f} ({suggested} pairs suggested, {true} true pairs)")
    assert precision >= 0.7
    assert recall >= 0.7


# --- stored suggestions and dismissals --------------------------------------------------------

@pytest.mark.postgres
def test_saved_suggestions_are_read_back_and_only_open_ones_are_shown(session, demo, clock):
    a, b, c = (ask(session, demo, clock, t) for t in ("Rufbus?", "Rufbusse?", "Bahn?"))
    changed = similar.save(session, demo.id, {a.id: [similar.Suggestion(b.id, 0.9, ("Rufbus",)),
                                                     similar.Suggestion(c.id, 0.3, ())]})
    session.commit()
    assert changed == {a.id: []}  # nothing was stored before
    assert similar.save(session, demo.id, {a.id: [similar.Suggestion(b.id, 0.9, ("Rufbus",)),
                                                  similar.Suggestion(c.id, 0.3, ())]}) == {}
    assert similar.save(session, demo.id, {a.id: [similar.Suggestion(c.id, 0.3, ())]}) == {
        a.id: [{"id": b.id, "words": ["Rufbus"]}, {"id": c.id, "words": []}]}
    session.rollback()
    items = similar.stored(session, demo.id)[a.id]
    assert similar.payload(a, items, {b.id, c.id}) == {"similar": [b.id, c.id],
                                                       "similar_words": {str(b.id): ["Rufbus"], str(c.id): []}}
    assert similar.payload(a, items, {c.id})["similar"] == [c.id]
    a.status = "rejected"
    assert similar.payload(a, items, {b.id, c.id}) == {"similar": [], "similar_words": {}}


@pytest.mark.postgres
def test_suggestions_stored_by_two_processes_at_once_are_replaced_not_refused(session, demo, clock):
    """Behind nginx each process's worker stores the suggestions of the questions its writes
    touched: the other one's row is committed just before this one's INSERT (a primary-key error
    in the worker's log before the upsert). The later list replaces it."""
    a, b = ask(session, demo, clock, "Rufbus?"), ask(session, demo, clock, "Rufbusse?")
    engine = session.get_bind()
    with another_process_first(engine, "INSERT INTO similar_suggestion",
                               "INSERT INTO similar_suggestion (question_id, talk_id, items, computed_at) "
                               "VALUES (:q, :t, '[]', now())", {"q": a.id, "t": demo.id}) as raced:
        changed = similar.save(session, demo.id, {a.id: [similar.Suggestion(b.id, 0.9, ("Rufbus",))]})
        session.commit()
    assert raced == ([True] if engine.dialect.name == "postgresql" else [])
    assert list(changed) == [a.id]
    assert similar.stored(session, demo.id)[a.id] == [{"id": b.id, "words": ["Rufbus"]}]


def test_a_dismissed_pair_is_removed_audited_and_never_suggested_again(session, demo, clock):
    anna = accounts.create_or_update(session, "anna", PASSWORD)
    a, b = ask(session, demo, clock, "Rufbus?"), ask(session, demo, clock, "Rufbusse?")
    similar.save(session, demo.id, {a.id: [similar.Suggestion(b.id, 0.9, ("Rufbus",))],
                                    b.id: [similar.Suggestion(a.id, 0.9, ("Rufbusse",))]})
    session.commit()
    write = similar.dismiss(session, demo, anna, b.id, a.id)
    session.commit()
    assert all(c.fields == {"similar"} for c in write.changed) and {c.question.id for c in write.changed} == {a.id, b.id}
    assert similar.stored(session, demo.id) == {a.id: [], b.id: []}
    assert similar.dismissed(session, demo.id) == {a.id: {b.id}, b.id: {a.id}}
    pair = session.scalar(select(DismissedSimilar))
    assert (pair.question_id, pair.other_id, pair.user_id) == (a.id, b.id, anna.id)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "dismiss_similar"))
    assert (entry.question_id, entry.before, entry.username) == (b.id, str(a.id), "anna")
    again = similar.dismiss(session, demo, anna, a.id, b.id)
    assert again.changed == []  # nothing changed: no broadcast


@pytest.mark.parametrize("question, other, code", [(1, 1, "invalid"), (1, 999, "not_found"), (999, 1, "not_found")])
def test_dismissing_needs_two_questions_of_the_talk(session, demo, clock, question, other, code):
    anna = accounts.create_or_update(session, "anna", PASSWORD)
    real = ask(session, demo, clock, "Rufbus?")
    ids = {1: real.id, 999: real.id + 999}
    with pytest.raises(DomainError) as info:
        similar.dismiss(session, demo, anna, ids[question], ids[other])
    assert info.value.code == code


def test_a_young_talk_of_two_questions_gets_its_suggestion():
    index = index_of("Wie gut funktioniert ein Rufbus in der Uckermark?",
                     "Welche Erfahrungen gibt es mit Rufbussen in der Uckermark?")
    assert [s.id for s in index.suggest(2)] == [1]


def test_a_questions_spread_leans_on_the_typical_one_while_its_talk_is_young():
    mean0, sd0 = similar.STANDOUT_PRIOR
    young = similar.spread(np.array([1.0, 0.6]), 0)  # its own row (0) left out: one other question
    assert mean0 < young[0] < 0.6 and young[1] > 0
    assert similar.spread(np.array([0.6]), None) == pytest.approx(young)
    rng = np.random.default_rng(7)
    big = rng.normal(0.1, 0.2, 20000)
    assert similar.spread(big, None) == pytest.approx((big.mean(), big.std()), abs=2e-3)


def test_the_cosines_of_several_vectors_at_once_are_each_ones_cosines():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = similar.Meanings()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(meaning, "typical", lambda: np.zeros(8, dtype=np.float32))
        for qid, vector in enumerate(vectors):
            index.add(qid, vector)
        together = index.cosines(vectors[:5])
        assert together.shape == (5, 40)
        for row, vector in zip(together, vectors[:5]):
            assert row == pytest.approx(index.cosines(vector), abs=1e-5)
        assert index.cosines(vectors[0], upto=10) == pytest.approx(together[0][:10], abs=1e-5)
