"""Submitting questions and what moderators do with them."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..models import (OPEN_STATUSES, PODIUM_STATUSES, PUBLIC_STATUSES, Question, Talk, Transition, Upvote,
                      User, Vote)
from . import text as texts
from .audit import record
from .errors import DomainError
from .moderation_words import flag_for
from .sequence import next_seq
from .windows import is_open

# action -> (allowed from-statuses, to-status)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "approve": (("pending", "rejected"), "approved"),
    "reject": (("pending", "approved"), "rejected"),
    "forward": (("approved", "answered"), "forwarded"),
    "answered": (("approved", "forwarded"), "answered"),
    "recall": (("forwarded",), "approved"),  # taken back from the podium
}
MAX_ID = 2**31  # ids are 32-bit integers; a larger number would fail in the database driver, not here


@dataclass
class Change:
    """What a service changed: the question, its status before, and the talk's new seq."""
    question: Question
    old_status: str | None
    seq: int | None
    created: bool = True
    related: list["Change"] = field(default_factory=list)  # other questions the change touched


def client_hash(secret: str, client_id: str) -> str:
    """The audience client id is stored only as a keyed hash."""
    return hmac.new(secret.encode(), client_id.encode(), hashlib.sha256).hexdigest()


def valid_msg_id(value: object) -> str:
    if not isinstance(value, str) or not (8 <= len(value) <= 64) or not value.isascii() \
            or not all(ch.isalnum() or ch in "-_" for ch in value):
        raise DomainError("invalid", {"field": "client_msg_id"})
    return value


def submit(session: Session, talk: Talk, *, text: object, name: object, client: str,
           client_msg_id: object, now: datetime, admit: Callable[[], None] | None = None) -> Change:
    """Store an audience question once per client_msg_id; a resend returns the first one.

    The same text sent again by the same person (a new msg id: pressed twice, sent from two
    tabs) is stored too, but folded into their open question: merged, its text kept there.

    `admit` runs just before a new question is stored (not for resends or refused input): the
    caller's rate limit, raising DomainError('rate_limited')."""
    msg_id = valid_msg_id(client_msg_id)
    existing = find_by_msg_id(session, talk, msg_id)
    if existing is not None:
        if existing.client_hash != client:
            raise DomainError("invalid", {"field": "client_msg_id"})
        return Change(existing, existing.status, None, created=False)
    body = texts.question_text(text)
    author = texts.author_name(name)
    if not is_open(talk, now):
        raise DomainError("closed")
    if admit is not None:
        admit()
    original = repeated(session, talk, client, body)
    folded = original is not None and original.status in OPEN_STATUSES
    question = Question(talk_id=talk.id, text=body, name=author, client_hash=client,
                        client_msg_id=msg_id, created_at=now,
                        status="merged" if folded else "pending",
                        merged_into_id=original.id if folded else None,
                        flagged=flag_for(body) or ("repeated" if original else None))
    try:
        with session.begin_nested():
            session.add(question)
            session.flush()
    except IntegrityError:
        existing = find_by_msg_id(session, talk, msg_id)
        if existing is None or existing.client_hash != client:
            raise DomainError("invalid", {"field": "client_msg_id"}) from None
        return Change(existing, existing.status, None, created=False)
    seq = next_seq(session, talk)
    change = Change(question, None, seq)
    if folded:
        record(session, talk, None, "fold", question=question, from_status="pending", to_status="merged",
               after=str(original.id))
        change.related.append(Change(original, original.status, seq, created=False))
    return change


def repeated(session: Session, talk: Talk, client: str, body: str) -> Question | None:
    """This client's earlier question with the same text in this talk, if any."""
    return session.scalar(select(Question).where(
        Question.talk_id == talk.id, Question.client_hash == client, Question.text == body,
        Question.merged_into_id.is_(None)).order_by(Question.id).limit(1))


def find_by_msg_id(session: Session, talk: Talk, msg_id: str) -> Question | None:
    return session.scalar(select(Question).where(
        Question.talk_id == talk.id, Question.client_msg_id == msg_id))


def get(session: Session, talk: Talk, question_id: object) -> Question:
    if isinstance(question_id, bool) or not isinstance(question_id, int):
        raise DomainError("invalid", {"field": "question_id"})
    if not 0 < question_id < MAX_ID:
        raise DomainError("not_found")
    question = session.get(Question, question_id)
    if question is None or question.talk_id != talk.id:
        raise DomainError("not_found")
    return question


def check_version(question: Question, version: object, required: bool = False) -> None:
    if version is None and not required:
        return
    if isinstance(version, bool) or not isinstance(version, int):
        raise DomainError("invalid", {"field": "version"})
    if version != question.version:
        raise DomainError("conflict", {"question": question})


def _flush_or_conflict(session: Session, question: Question) -> None:
    """Flush; a concurrent writer that got there first turns into `conflict`."""
    try:
        session.flush()
    except StaleDataError:
        # A failed flush ends the transaction (a savepoint cannot help: begin_nested flushes first).
        session.rollback()
        session.refresh(question)
        raise DomainError("conflict", {"question": question}) from None


def transition(session: Session, talk: Talk, user: User, action: str, question_id: object,
               version: object = None, now: datetime | None = None) -> Change:
    """approve / reject / forward / answered / recall. Repeating the same move is a no-op."""
    allowed_from, to_status = TRANSITIONS[action]
    question = get(session, talk, question_id)
    check_version(question, version)
    if question.status == to_status:
        return Change(question, to_status, None, created=False)
    if question.status not in allowed_from:
        raise DomainError("invalid", {"status": question.status, "question": question})
    old = question.status
    _set_status(question, to_status, now)
    try:
        _flush_or_conflict(session, question)
    except DomainError:
        if question.status == to_status:  # a second moderator did the same thing first
            return Change(question, to_status, None, created=False)
        raise
    record(session, talk, user, action, question=question, from_status=old, to_status=to_status)
    return Change(question, old, next_seq(session, talk))


def _set_status(question: Question, status: str, now: datetime | None) -> None:
    question.status = status
    if status == "forwarded":
        question.forwarded_at = now
    elif status == "approved":
        question.forwarded_at = None
    elif status == "answered":
        question.answered_at = now


def edit(session: Session, talk: Talk, user: User, question_id: object, text: object,
         version: object) -> Change:
    question = get(session, talk, question_id)
    check_version(question, version, required=True)
    body = texts.question_text(text)
    if body == question.text:
        return Change(question, question.status, None, created=False)
    before = question.text
    if question.original_text is None:
        question.original_text = before
    question.text = body
    _flush_or_conflict(session, question)
    record(session, talk, user, "edit", question=question, from_status=question.status,
           to_status=question.status, before=before, after=body)
    return Change(question, question.status, next_seq(session, talk))


def merge(session: Session, talk: Talk, user: User, question_id: object, into_id: object,
          version: object = None) -> list[Change]:
    """Merge a duplicate into another question: its votes count there, its text stays visible."""
    source = get(session, talk, question_id)
    target = get(session, talk, into_id)
    check_version(source, version)
    if source.id == target.id or source.status not in OPEN_STATUSES + ("rejected",) \
            or target.status == "merged":
        raise DomainError("invalid", {"field": "into_id"})
    old = source.status
    children = session.scalars(select(Question).where(Question.merged_into_id == source.id)).all()
    for child in children:
        child.merged_into_id = target.id
    source.status = "merged"
    source.merged_into_id = target.id
    _flush_or_conflict(session, source)
    record(session, talk, user, "merge", question=source, from_status=old, to_status="merged",
           before=",".join(str(c.id) for c in children), after=str(target.id))
    seq = next_seq(session, talk)
    return [Change(source, old, seq), Change(target, target.status, seq, created=False)]


def undo(session: Session, talk: Talk, user: User, now: datetime | None = None) -> list[Change]:
    """Revert this moderator's last transition or edit in this talk, as a new audited entry."""
    last = session.scalar(
        select(Transition).where(
            Transition.talk_id == talk.id, Transition.user_id == user.id,
            Transition.question_id.is_not(None), Transition.undone.is_(False),
            Transition.action.in_(tuple(TRANSITIONS) + ("edit", "merge")))
        .order_by(Transition.id.desc()).limit(1))
    if last is None:
        raise DomainError("not_found", {"what": "undo"})
    question = session.get(Question, last.question_id)
    if question.status != last.to_status or (last.action == "edit" and question.text != last.after):
        raise DomainError("conflict", {"question": question})
    changes: list[Change] = []
    old = question.status
    if last.action == "edit":
        question.text = last.before
        if question.text == question.original_text:
            question.original_text = None
    elif last.action == "merge":
        target_id = question.merged_into_id
        question.status = last.from_status
        question.merged_into_id = None
        moved = [int(i) for i in (last.before or "").split(",") if i]
        for child in session.scalars(select(Question).where(Question.id.in_(moved))):
            child.merged_into_id = question.id
        target = session.get(Question, target_id) if target_id else None
        if target is not None:
            changes.append(Change(target, target.status, None, created=False))
    else:
        _set_status(question, last.from_status, now)
    _flush_or_conflict(session, question)
    last.undone = True
    record(session, talk, user, "undo", question=question, from_status=old,
           to_status=question.status, before=last.after, after=last.before, undoes=last)
    seq = next_seq(session, talk)
    for change in changes:
        change.seq = seq
    return [Change(question, old, seq)] + changes


def set_upvote(session: Session, talk: Talk, user: User, question_id: object, value: object = 1) -> Question:
    """A moderator's upvote: set (1) or withdrawn (0); repeating it changes nothing."""
    question = get(session, talk, question_id)
    wanted = _vote_value(value)
    existing = session.scalar(select(Upvote).where(Upvote.question_id == question.id, Upvote.user_id == user.id))
    if wanted and existing is None:
        _insert_once(session, Upvote(question_id=question.id, user_id=user.id))
    elif not wanted and existing is not None:
        session.delete(existing)
        session.flush()
    return question


def set_vote(session: Session, talk: Talk, client: str, question_id: object, value: object) -> Question:
    """An audience vote on a public question: one per client, set or withdrawn."""
    if not talk.audience_votes:
        raise DomainError("forbidden")
    question = get(session, talk, question_id)
    if question.status not in PUBLIC_STATUSES:
        raise DomainError("not_found")
    wanted = _vote_value(value)
    existing = session.scalar(select(Vote).where(Vote.question_id == question.id, Vote.client_hash == client))
    if wanted and existing is None:
        _insert_once(session, Vote(question_id=question.id, client_hash=client))
    elif not wanted and existing is not None:
        session.delete(existing)
        session.flush()
    return question


def _vote_value(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 1):
        raise DomainError("invalid", {"field": "value"})
    return value == 1


def _insert_once(session: Session, row) -> None:
    """Insert a per-voter row; a concurrent duplicate is the same vote, not an error."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        pass


def counts(session: Session, talk: Talk, question_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Moderator upvotes and audience votes per question, merged duplicates included.

    A voter who voted for both a question and its duplicate counts once.
    """
    owner = func.coalesce(Question.merged_into_id, Question.id)
    result: dict[int, dict[str, int]] = {}
    for model, key, voter in ((Upvote, "upvotes", Upvote.user_id), (Vote, "votes", Vote.client_hash)):
        query = (select(owner, func.count(func.distinct(voter)))
                 .select_from(model).join(Question, Question.id == model.question_id)
                 .where(Question.talk_id == talk.id).group_by(owner))
        if question_ids is not None:
            query = query.where(owner.in_(question_ids))
        for qid, n in session.execute(query):
            result.setdefault(qid, {"upvotes": 0, "votes": 0})[key] = n
    return result


def voted_by(session: Session, talk: Talk, client: str) -> set[int]:
    """The questions of this talk this audience client has voted for."""
    return set(session.scalars(select(Vote.question_id).join(Question, Question.id == Vote.question_id)
                               .where(Question.talk_id == talk.id, Vote.client_hash == client)))


def visible(session: Session, talk: Talk, view: str, client: str | None = None) -> list[Question]:
    """The questions one kind of screen may see, oldest first."""
    query = select(Question).where(Question.talk_id == talk.id)
    if view == "podium":
        query = query.where(Question.status.in_(PODIUM_STATUSES))
    elif view == "audience":
        mine = Question.client_hash == client if client else False
        query = query.where(Question.status.in_(PUBLIC_STATUSES) | mine)
    return list(session.scalars(query.order_by(Question.created_at, Question.id)))


def merged_children(session: Session, talk: Talk) -> dict[int, list[Question]]:
    children: dict[int, list[Question]] = {}
    for q in session.scalars(select(Question).where(Question.talk_id == talk.id,
                                                    Question.merged_into_id.is_not(None))):
        children.setdefault(q.merged_into_id, []).append(q)
    return children
