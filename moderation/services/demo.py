"""Generated questions for a demo talk: something to look at in the queue and in the report."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from ..models import Question, Talk, User, Vote
from . import DbSession
from .audit import record

TOPICS = ("Wohnraum", "Busverbindungen", "Glasfaser", "Ehrenamt", "Leerstand in der Innenstadt",
          "Ärztliche Versorgung", "Coworking", "Schulwege", "Fördermittel", "Bürgerbeteiligung")
FORMS = ("Wie geht Ihre Stadt mit dem Thema {t} um?", "Was kostet {t} eine Kleinstadt im Jahr?",
         "Welche Rolle spielt {t} für junge Familien?", "Gibt es gute Beispiele für {t}?",
         "Wer ist bei {t} zuständig: Land oder Kommune?")
# final status -> weight
OUTCOMES = (("answered", 30), ("approved", 25), ("forwarded", 5), ("rejected", 15), ("pending", 20), ("merged", 5))


def generate(session: DbSession, talk: Talk, count: int, moderators: list[User], seed: int = 1) -> list[Question]:
    """`count` questions spread over the talk's window, with outcomes, votes and audit entries."""
    rng = random.Random(seed)
    span = (talk.ends_at - talk.starts_at).total_seconds()
    made: list[Question] = []
    statuses = [status for status, weight in OUTCOMES for _ in range(weight)]
    for i in range(count):
        created = talk.starts_at + timedelta(seconds=span * rng.betavariate(2, 3))
        status = rng.choice(statuses)
        question = Question(talk_id=talk.id, text=rng.choice(FORMS).format(t=rng.choice(TOPICS)) + f" ({i + 1})",
                            name=rng.choice((None, "Anna", "Ben", "Cem", "Dora")), status="pending",
                            client_hash=uuid.UUID(int=rng.getrandbits(128)).hex, client_msg_id=uuid.uuid4().hex,
                            created_at=created)
        session.add(question)
        session.flush()
        if status == "merged" and made:
            question.merged_into_id = rng.choice(made).id
        if status != "pending":
            _history(session, talk, question, status, rng.choice(moderators) if moderators else None, created)
        question.status = status
        for _ in range(int(rng.expovariate(0.25)) if status in ("approved", "forwarded", "answered") else 0):
            session.add(Vote(question_id=question.id, client_hash=uuid.UUID(int=rng.getrandbits(128)).hex,
                             created_at=created))
        made.append(question)
    session.flush()
    return made


def _history(session: DbSession, talk: Talk, question: Question, status: str, user: User | None,
             created: datetime) -> None:
    path = {"approved": ("approve",), "forwarded": ("approve", "forward"),
            "answered": ("approve", "forward", "answered"), "rejected": ("reject",), "merged": ("merge",)}[status]
    before = "pending"
    for action in path:
        after = {"approve": "approved", "forward": "forwarded", "answered": "answered", "reject": "rejected",
                 "merge": "merged"}[action]
        entry = record(session, talk, user, action, question=question, from_status=before, to_status=after)
        entry.at = created
        before = after
    if status == "forwarded":
        question.forwarded_at = created
    elif status == "answered":
        question.forwarded_at = question.answered_at = created

