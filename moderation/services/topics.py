"""Themen: the questions of a talk grouped into a handful of topics, each named by its most telling
words — live on the desk for the open round, and in the report for the whole talk.

The topics are clusters over the same vectors as the suggestions: the sentence vectors centred on
the talk's mean (embedding backend), or the TF-IDF vectors of the questions' content words
(lexical backend), with the nouns' TF-IDF beside them. The algorithm is spherical k-means,
deterministic: seeded k-means++ starts, the tightest wins, except that the previous map's topics
(as centres of today's points) win unless clearly looser, and a topic keeps its id when it keeps
questions, so that the map does not jump while questions arrive.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from sqlalchemy import select

from ..models import Question, QuestionVector, Talk
from . import DbSession, insert_for, meaning, paced
from . import questions as question_service
from .similar import MIN_TALK_SIZE, STOP_WORDS, centre, terms

MAX_TOPICS = 8
MIN_QUESTIONS = 6  # fewer: no map (one topic per question says nothing)
ROUNDS = 25
RESTARTS = 6
MEANING_WEIGHT = 0.7  # tried 0 … 1 on the fixtures' four talks as topics: 0.7 grouped them best
WORDS = 3
_TOKEN = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*|[.!?:;–]")
LIVE_STATUSES = ("pending", "approved", "forwarded", "answered")  # rejected and merged ones are no topic


@dataclass
class Topic:
    id: int
    words: list[str]
    questions: list[int]  # ids, oldest first


@dataclass
class TopicMap:
    topics: list[Topic]

    def payload(self) -> list[dict]:
        return [{"id": t.id, "words": t.words, "questions": t.questions} for t in self.topics]


@dataclass
class ReportTopic:
    words: list[str]
    total: int
    answered: int
    not_reached: int  # still pending, approved or forwarded when the report was drawn
    support: int  # votes and upvotes of the questions not reached
    example: str | None = None  # the most supported question not reached
    statuses: Counter[str] = field(default_factory=Counter)


def how_many(n: int) -> int:
    """A handful: about √(n/2), between 2 and MAX_TOPICS; none for fewer than MIN_QUESTIONS."""
    if n < MIN_QUESTIONS:
        return 0
    return max(2, min(MAX_TOPICS, round(math.sqrt(n / 2))))


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def _seeds(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++: each next centre drawn with odds growing with its distance to those chosen."""
    chosen = [int(rng.integers(len(points)))]
    best = points @ points[chosen[0]]
    while len(chosen) < k:
        odds = np.clip(1.0 - best, 0.0, None) ** 2
        total = float(odds.sum())
        chosen.append(int(rng.choice(len(points), p=odds / total)) if total > 0 else int(np.argmin(best)))
        best = np.maximum(best, points @ points[chosen[-1]])
    return points[chosen].copy()


def _kmeans(points: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Spherical k-means from these centres: labels, centres, and how close the points are to them."""
    k, rows = len(centres), np.arange(len(points))
    labels = np.full(len(points), -1)
    for _ in range(ROUNDS):
        similarity = points @ centres.T
        fresh = np.argmax(similarity, axis=1)
        if np.array_equal(fresh, labels):
            break
        labels = fresh
        # The sums of all topics in one product (BLAS, without the GIL): copying each topic's
        # members out took most of a draw, holding the GIL against the server's other threads.
        members = np.zeros((k, len(points)), dtype=points.dtype)
        members[labels, rows] = 1.0
        filled = np.bincount(labels, minlength=k) > 0
        centres[filled] = _unit(members[filled] @ points)
        if not filled.all():  # an empty topic takes the question least like its own
            centres[~filled] = points[int(np.argmin(similarity[rows, labels]))]
    return labels, centres, float(np.sum(points * centres[labels]))


def cluster(points: np.ndarray, k: int, start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means over unit rows: (label per row, centres). Deterministic: RESTARTS seeded
    starts (k-means++), the tightest wins; the previous map's centres win unless a fresh start is
    clearly tighter, so that a topic does not change its questions for nothing."""
    rng = np.random.default_rng(25)
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    for _ in range(RESTARTS):
        tried = _kmeans(points, _seeds(points, k, rng))
        if best is None or tried[2] > best[2]:
            best = tried
    assert best is not None
    if start is not None and start.shape == (k, points.shape[1]):
        kept = _kmeans(points, start.copy())
        if kept[2] >= best[2] - 0.05 * abs(best[2]):
            best = kept
    return best[0], best[1]


def _same_ids(previous: list[Topic], fresh: list[Topic]) -> list[Topic]:
    """Fresh topics take the ids of the previous ones they share most questions with."""
    free = {t.id for t in previous}
    pairs = sorted(((len(set(a.questions) & set(b.questions)), -b.id, a.id, n)
                    for n, b in enumerate(fresh) for a in previous), reverse=True)
    given: dict[int, int] = {}
    for shared, _b, old, n in pairs:
        if shared and n not in given and old in free:
            given[n] = old
            free.discard(old)
    spare = iter(sorted(set(range(1, len(fresh) + len(previous) + 1)) - set(given.values())))
    return [Topic(given[n] if n in given else next(spare), t.words, t.questions) for n, t in enumerate(fresh)]


@dataclass(frozen=True)
class _Words:
    words: Counter[str]  # content-word stem → count (similar.terms)
    surface: dict[str, str]  # stem → the word as written
    nouns: frozenset[str]  # words written as nouns (`_nouns`)


@lru_cache(maxsize=4096)
def _words(text: str) -> _Words:
    """A question's words, read once per text: a map is drawn again every few seconds while
    questions arrive, and reading 400 texts twice per draw was two thirds of its CPU, all of it
    holding the GIL against the hub."""
    found = terms(text)
    return _Words(found.words, found.surface, frozenset(_nouns(text)))


def _noun_stems(text: str) -> Counter[str]:
    """The stems of a question's nouns (what it is about); all its content words when it has none
    written as nouns (typed in lower case)."""
    found = _words(text)
    chosen = Counter({stem: n for stem, n in found.words.items() if found.surface[stem] in found.nouns})
    return chosen or found.words


def word_points(texts: list[str]) -> np.ndarray:
    """TF-IDF vectors of the questions' nouns (the lexical backend's points), unit length."""
    found = [_noun_stems(text) for text in texts]
    df = Counter(stem for words in found for stem in words)
    vocabulary = {stem: i for i, stem in enumerate(sorted(df))}
    matrix = np.zeros((len(texts), max(1, len(vocabulary))), dtype=np.float32)
    size = max(len(texts), MIN_TALK_SIZE)
    for row, words in enumerate(found):
        for stem, n in words.items():
            matrix[row, vocabulary[stem]] = (1 + math.log(n)) * math.log((size + 1) / (df[stem] + 1))
    return _unit(matrix)


def meaning_points(vectors: np.ndarray) -> np.ndarray:
    """Sentence vectors centred on their talk (what every question shares says nothing), unit length."""
    return centre(vectors)


def _nouns(text: str) -> set[str]:
    """Words written with a capital inside a sentence: in German, nouns ("Radweg", "Glasfaser")."""
    found, first = set(), True
    for match in _TOKEN.finditer(text):
        word = match.group()
        if word in ".!?:;–":
            first = True
            continue
        if not first and word[:1].isupper():
            found.add(word)
        first = False
    return found


def names(texts: list[str], labels: np.ndarray, k: int) -> list[list[str]]:
    """Each topic's most telling nouns: frequent in it, rare in the others (as written most often)."""
    found = [_words(text) for text in texts]
    df = Counter(stem for t in found for stem in t.words)
    n = len(texts)
    result = []
    for c in range(k):
        members = [found[i] for i in np.flatnonzero(labels == c)]
        inside = Counter(stem for t in members for stem in t.words)
        written: dict[str, Counter[str]] = {}
        for i in np.flatnonzero(labels == c):
            for stem in found[i].words:
                if found[i].surface[stem] in found[i].nouns:
                    written.setdefault(stem, Counter())[found[i].surface[stem]] += 1
        if not written:  # typed in lower case: its content words stand in for nouns
            for i in np.flatnonzero(labels == c):
                for stem, word in found[i].surface.items():
                    written.setdefault(stem, Counter())[word] += 1
        least = 2 if len(members) >= 3 and any(inside[s] >= 2 for s in written) else 1

        def telling(stem: str, inside: Counter[str] = inside, size: int = len(members)) -> float:
            return inside[stem] / size * math.log((n + 1) / (df[stem] + 1) + 1) * (inside[stem] / df[stem])

        nouns_here = [s for s in inside if s in written and s not in STOP_WORDS]
        # Stricter first; a topic whose nouns are each said once, or are common across the talk,
        # is still named by its best ones rather than left without a word.
        for level_least, common in ((least, max(3, 0.25 * n)), (1, max(3, 0.25 * n)), (1, n + 1)):
            stems = [s for s in nouns_here if inside[s] >= level_least and df[s] < common]
            if stems:
                break
        stems.sort(key=lambda s: (-telling(s), s))
        words: list[str] = []
        for stem in stems:
            word = max(written[stem].items(), key=lambda item: (item[1], item[0][:1].isupper(), item[0]))[0]
            if word.casefold() not in {w.casefold() for w in words}:
                words.append(word)
            if len(words) == WORDS:
                break
        result.append(words)
    return result


def _previous_centres(previous: TopicMap | None, ids: list[int], points: np.ndarray) -> np.ndarray | None:
    """The previous map's topics as centres in today's points (the words' space grows with the talk)."""
    if previous is None:
        return None
    row = {qid: i for i, qid in enumerate(ids)}
    centres = [points[[row[q] for q in t.questions if q in row]].sum(axis=0) for t in previous.topics
               if any(q in row for q in t.questions)]
    return _unit(np.stack(centres)) if centres else None


def build(ids: list[int], texts: list[str], points: np.ndarray, previous: TopicMap | None = None) -> TopicMap:
    """The topics of these questions (ids in order, their texts, their unit points), keeping the
    ids of the previous map's topics where they share questions."""
    k = how_many(len(ids))
    if not k:
        return TopicMap([])
    labels = cluster(points, k, _previous_centres(previous, ids, points))[0]
    words = names(texts, labels, k)
    found = [Topic(c + 1, words[c], [ids[i] for i in np.flatnonzero(labels == c)]) for c in range(k)]
    found = [t for t in found if t.questions]
    if previous is not None and previous.topics:
        found = _same_ids(previous.topics, found)
    return TopicMap(sorted(found, key=lambda t: t.id))


# --- reading what a map needs ---------------------------------------------------------------------

def questions_of(session: DbSession, talk_id: int, statuses: Iterable[str] = LIVE_STATUSES,
                 pause: Callable[[], None] | None = None) -> list[tuple[int, str, str]]:
    """(id, status, text) of the talk's questions in these statuses, oldest first."""
    query = (select(Question.id, Question.status, Question.text)
             .where(Question.talk_id == talk_id, Question.status.in_(list(statuses)))
             .order_by(Question.created_at, Question.id))
    return [(qid, status, text) for qid, status, text in paced(session.execute(query), pause)]


def stored_vectors(session: DbSession, texts: dict[int, str],
                   pause: Callable[[], None] | None = None) -> dict[int, np.ndarray]:
    """The stored vectors of these questions that were encoded from their present text by this model."""
    found: dict[int, np.ndarray] = {}
    ids = list(texts)
    for start in range(0, len(ids), 500):
        rows = session.execute(select(QuestionVector.question_id, QuestionVector.model, QuestionVector.digest,
                                      QuestionVector.vector)
                               .where(QuestionVector.question_id.in_(ids[start:start + 500])))
        for qid, model, digest, data in rows:
            if model == meaning.MODEL and digest == meaning.digest(texts[qid]):
                found[qid] = meaning.from_bytes(data)
        if pause is not None:
            pause()
    return found


def save_vectors(session: DbSession, talk_id: int, texts: dict[int, str], vectors: dict[int, np.ndarray]) -> None:
    """Store freshly encoded vectors with their questions, replacing older ones, in one upsert:
    two processes' workers encoding the same new questions store them once, without a clash, and
    take their rows in question order, so that one waits for the other instead of deadlocking."""
    if not vectors:
        return
    statement = insert_for(session)(QuestionVector)
    session.execute(statement.on_conflict_do_update(
        index_elements=[QuestionVector.question_id],
        set_={"model": statement.excluded.model, "digest": statement.excluded.digest,
              "vector": statement.excluded.vector}),
        [{"question_id": qid, "talk_id": talk_id, "model": meaning.MODEL, "digest": meaning.digest(texts[qid]),
          "vector": meaning.to_bytes(vector)} for qid, vector in sorted(vectors.items(), key=lambda kv: kv[0])])


def vectors_for(session: DbSession, talk_id: int, texts: dict[int, str]) -> dict[int, np.ndarray]:
    """Every question's vector: stored, else encoded now (off the event loop) and stored."""
    found = stored_vectors(session, texts)
    missing = [qid for qid in texts if qid not in found]
    fresh = dict(zip(missing, meaning.embed([texts[qid] for qid in missing]))) if missing else {}
    save_vectors(session, talk_id, texts, fresh)
    return found | fresh


def points_for(ids: list[int], texts: list[str], vectors: dict[int, np.ndarray] | None) -> np.ndarray:
    """What is clustered: the content words' TF-IDF, and with vectors the meaning beside them
    (MEANING_WEIGHT of the squared length: topics are what the questions are about, and the words
    keep the map close to its names)."""
    if not ids:
        return np.zeros((0, 1), dtype=np.float32)
    words = word_points(texts)
    if vectors is None:
        return words
    meaning_part = meaning_points(np.stack([vectors[qid] for qid in ids]))
    return _unit(np.hstack([math.sqrt(MEANING_WEIGHT) * meaning_part, math.sqrt(1 - MEANING_WEIGHT) * words]))


def draw(ids: list[int], texts: list[str], vectors: dict[int, np.ndarray] | None,
         previous: TopicMap | None = None) -> TopicMap:
    """The map of these questions from their texts and (embedding backend) vectors: pure, numpy,
    half a second of CPU at 1,500 questions, so callers on a server run it `meaning.off_hub`."""
    return build(ids, texts, points_for(ids, texts, vectors), previous)


def for_report(session: DbSession, talk: Talk, with_meaning: bool) -> list[ReportTopic]:
    """The topics of the whole talk (its rejected and merged questions aside), most questions
    first: how many were answered and how many the round never reached, with their support."""
    rows = questions_of(session, talk.id)
    if how_many(len(rows)) == 0:
        return []
    ids, texts = [qid for qid, _, _ in rows], [text for _, _, text in rows]
    vectors = vectors_for(session, talk.id, dict(zip(ids, texts))) if with_meaning else None
    built = meaning.off_hub(draw, ids, texts, vectors)
    status = {qid: s for qid, s, _ in rows}
    text = dict(zip(ids, texts))
    counts = question_service.counts(session, talk, ids)

    def support(qid: int) -> int:
        return counts.get(qid, {}).get("votes", 0) + counts.get(qid, {}).get("upvotes", 0)

    result = []
    for topic in built.topics:
        statuses = Counter(status[qid] for qid in topic.questions)
        open_ones = [qid for qid in topic.questions if status[qid] != "answered"]
        best = max(open_ones, key=lambda qid: (support(qid), -qid), default=None)
        result.append(ReportTopic(topic.words, len(topic.questions), statuses["answered"], len(open_ones),
                                  sum(support(qid) for qid in open_ones), text[best] if best else None, statuses))
    result.sort(key=lambda t: (-t.total, t.words))
    return result
