"""Submitting questions and what moderators do with them."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..models import OPEN_STATUSES, PUBLIC_STATUSES, WEB, AuditEntry, Question, Talk, Upvote, User, Vote
from . import DbSession, actions, blocks
from . import text as texts
from .audit import record
from .errors import DomainError
from .moderation_words import flag_for
from .windows import accepts_questions
from .writes import Changed, Write, changed, unchanged

# action -> (allowed from-statuses, to-status), as the action registry declares them
TRANSITIONS = actions.TRANSITIONS
# Statuses a question can be merged out of, and the moderator queue's tabs in order.
MERGEABLE = (*OPEN_STATUSES, "rejected")
QUEUE = ("pending", "approved", "forwarded", "answered", "rejected")
MAX_ID = 2**31  # ids are 32-bit integers; a larger number would fail in the database driver, not here


def client_hash(secret: str, client_id: str) -> str:
    """The audience client id is stored only as a keyed hash."""
    return hmac.new(secret.encode(), client_id.encode(), hashlib.sha256).hexdigest()


def valid_msg_id(value: str) -> str:
    if not (8 <= len(value) <= 64) or not value.isascii() \
            or not all(ch.isalnum() or ch in "-_" for ch in value):
        raise DomainError("invalid", {"field": "client_msg_id"})
    return value


@dataclass(frozen=True)
class Channel:
    """Where a question comes from. Every channel goes through submit(): the same text rules,
    flags, limits and blocks as the question page; only the page's may skip the moderators."""

    source: str = WEB  # web, email, import, api:<label>
    label: str | None = None  # an import's "Quelle"
    by: User | None = None  # the moderator who imported it, the admin who assigned a mail
    window: bool = True  # only while the round takes questions (a moderator's import: any time)
    held: bool = False  # from where a person blocked in this talk was seen: to the moderators

    @property
    def premoderated(self) -> bool:
        """Questions from other channels, and held ones, are public only once a moderator
        approved them."""
        return self.source != WEB or self.held


PAGE = Channel()


def submit(session: DbSession, talk: Talk, *, text: object, name: str | None, client: str | None,
           client_msg_id: str, now: datetime, admit: Callable[[], None] | None = None,
           channel: Channel = PAGE, name_in_record: bool = False) -> Write:
    """Store an audience question once per client_msg_id; a resend returns the first one.

    The same text sent again by the same person (a new msg id: pressed twice, sent from two
    tabs) is stored too, but folded into their open question: merged, its text kept there.

    `client` is the keyed hash of the asker's identity (an audience id, a mail's sender, a chat
    name behind a relay), None when there is none (a pasted list). `admit` runs just before a new
    question is stored (not for resends or refused input): the caller's rate limit, raising
    DomainError('rate_limited'). `name_in_record`: the asker agrees that the documentation names
    them (kept only with a name). During a Probelauf the question is the rehearsal's."""
    msg_id = valid_msg_id(client_msg_id)
    existing = find_by_msg_id(session, talk, msg_id)
    if existing is not None:
        if existing.client_hash != client:
            raise DomainError("invalid", {"field": "client_msg_id"})
        return unchanged(existing)
    if client is not None:
        blocks.refuse_blocked(session, talk, client)
    body = texts.question_text(text)
    author = texts.author_name(name)
    if channel.window and not accepts_questions(talk, now):
        raise DomainError("closed")
    if admit is not None:
        admit()
    original = repeated(session, talk, client, body) if client is not None else None
    fold_into = original if original is not None and original.status in OPEN_STATUSES else None
    flagged = flag_for(body) or ("repeated" if original else None)
    # Without "Vorab-Moderation" a question is public at once, unless the word list or a repeat
    # flagged it: that one still waits for a moderator.
    public = not talk.premoderation and not channel.premoderated and flagged is None
    question = Question(talk_id=talk.id, text=body, name=author, client_hash=client,
                        client_msg_id=msg_id, created_at=now,
                        status="merged" if fold_into else ("approved" if public else "pending"),
                        merged_into_id=fold_into.id if fold_into else None,
                        flagged=flagged,
                        name_in_record=bool(name_in_record and author),
                        rehearsal=talk.rehearsal_since is not None,
                        source=channel.source, source_label=channel.label,
                        labels=[])  # known empty: its broadcast reads no labels
    try:
        with session.begin_nested():
            session.add(question)
            session.flush()
    except IntegrityError:
        existing = find_by_msg_id(session, talk, msg_id)
        if existing is None or existing.client_hash != client:
            raise DomainError("invalid", {"field": "client_msg_id"}) from None
        return unchanged(existing)
    if channel.source != WEB:
        record(session, talk, channel.by, "intake", question=question, to_status=question.status,
               after=channel.source if channel.label is None else f"{channel.source}:{channel.label}")
    if fold_into:
        step = record(session, talk, None, "fold", question=question, from_status="pending", to_status="merged",
                      after=str(fold_into.id))
        return changed(question, Changed(question, None),
                       Changed(fold_into, fold_into.status, actions.touches("fold")), step=step)
    return changed(question, Changed(question, None))


def repeated(session: DbSession, talk: Talk, client: str, body: str) -> Question | None:
    """This client's earlier question with the same text in this talk, if any."""
    return session.scalar(select(Question).where(
        Question.talk_id == talk.id, Question.client_hash == client, Question.text == body,
        Question.merged_into_id.is_(None)).order_by(Question.id).limit(1))


def find_by_msg_id(session: DbSession, talk: Talk, msg_id: str) -> Question | None:
    return session.scalar(select(Question).where(
        Question.talk_id == talk.id, Question.client_msg_id == msg_id))


def get(session: DbSession, talk: Talk, question_id: int) -> Question:
    if not 0 < question_id < MAX_ID:
        raise DomainError("not_found")
    question = session.get(Question, question_id)
    if question is None or question.talk_id != talk.id:
        raise DomainError("not_found")
    return question


def lock(session: DbSession, *questions: Question) -> None:
    """Hold the questions' rows until the transaction ends, read afresh: SELECT … FOR UPDATE in
    id order (two writers locking the same pair queue, never deadlock). On PostgreSQL two
    processes merging A into B and B into A at once would otherwise both read the other as open.
    SQLite's writers already queue at BEGIN IMMEDIATE; there the lock is a plain read."""
    ids = sorted({q.id for q in questions})
    session.scalars(select(Question).where(Question.id.in_(ids)).order_by(Question.id)
                    .with_for_update().execution_options(populate_existing=True)).all()


def check_version(question: Question, version: int | None) -> None:
    if version is not None and version != question.version:
        raise DomainError("conflict", {"question": question})


def flush_or_conflict(session: DbSession, question: Question,
                      same: Callable[[Question], bool] | None = None) -> bool:
    """Flush; a concurrent writer that got there first turns into `conflict` — unless it made the
    same move (`same(question)` as stored now): then False, and nothing of this write is kept."""
    try:
        session.flush()
    except StaleDataError:
        # A failed flush ends the transaction (a savepoint cannot help: begin_nested flushes first).
        session.rollback()
        session.refresh(question)
        if same is not None and same(question):
            return False
        raise DomainError("conflict", {"question": question}) from None
    return True


def transition(session: DbSession, talk: Talk, user: User, action: str, question_id: int,
               version: int | None = None, now: datetime | None = None, reason: str | None = None) -> Write:
    """approve / reject / forward / answered / recall; a reject may give a reason
    (actions.REJECT_REASONS): its asker reads it, the audit entry keeps it.

    The same move again — by a second moderator who saw the card a moment before, whatever version
    it carries, or while another writer makes it — is a success that stores nothing."""
    allowed_from, to_status = TRANSITIONS[action]
    if reason is not None and (action != "reject" or reason not in actions.REJECT_REASONS):
        raise DomainError("invalid", {"field": "reason"})
    question = get(session, talk, question_id)
    if question.status == to_status:
        return unchanged(question)
    check_version(question, version)
    if question.status not in allowed_from:
        raise DomainError("invalid", {"status": question.status, "question": question})
    old = question.status
    _set_status(question, to_status, now)
    if to_status == "rejected":
        question.reject_reason = reason
    if not flush_or_conflict(session, question, same=lambda q: q.status == to_status):
        return unchanged(question)
    step = record(session, talk, user, action, question=question, from_status=old, to_status=to_status,
                  after=reason)
    return changed(question, Changed(question, old, actions.changes(action)), step=step)


def _set_status(question: Question, status: str, now: datetime | None) -> None:
    question.status = status
    if status == "forwarded":
        question.forwarded_at = now
    elif status == "approved":
        question.forwarded_at = None
    elif status == "answered":
        question.answered_at = now


def edit(session: DbSession, talk: Talk, user: User, question_id: int, text: str, version: int) -> Write:
    """A moderator's wording; the same text again (whatever the version) changes nothing."""
    question = get(session, talk, question_id)
    body = texts.question_text(text)
    if body == question.text:
        return unchanged(question)
    check_version(question, version)
    before = question.text
    if question.original_text is None:
        question.original_text = before
    question.text = body
    if not flush_or_conflict(session, question, same=lambda q: q.text == body):
        return unchanged(question)
    step = record(session, talk, user, "edit", question=question, from_status=question.status,
                  to_status=question.status, before=before, after=body)
    return changed(question, Changed(question, question.status, actions.changes("edit")), step=step)


def merge(session: DbSession, talk: Talk, user: User, question_id: int, into_id: int,
          version: int | None = None) -> Write:
    """Merge a duplicate into another question: its votes count there, its text stays visible.
    Merging it into the same question again (whatever the version) changes nothing. Both rows are
    locked first: a question merged meanwhile is no target, so no two questions end merged into
    each other. A public question goes only into a public one (else `invalid`, reason
    `merge_hidden`)."""
    source = get(session, talk, question_id)
    target = get(session, talk, into_id)
    lock(session, source, target)

    def same(q: Question) -> bool:
        return q.status == "merged" and q.merged_into_id == target.id

    if same(source):
        return unchanged(source)
    check_version(source, version)
    if source.id == target.id or source.status not in MERGEABLE \
            or target.status == "merged":
        raise DomainError("invalid", {"field": "into_id"})
    if source.status in PUBLIC_STATUSES and target.status not in PUBLIC_STATUSES:
        # It would vanish from every phone (its votes with it) into a question nobody may see.
        raise DomainError("invalid", {"reason": "merge_hidden", "question": source})
    old = source.status
    children = session.scalars(select(Question).where(Question.merged_into_id == source.id)).all()
    for child in children:
        child.merged_into_id = target.id
    source.status = "merged"
    source.merged_into_id = target.id
    if not flush_or_conflict(session, source, same=same):
        return unchanged(source)
    step = record(session, talk, user, "merge", question=source, from_status=old, to_status="merged",
                  before=",".join(str(c.id) for c in children), after=str(target.id))
    return changed(source, Changed(source, old, actions.changes("merge")),
                   Changed(target, target.status, actions.touches("merge")), step=step)


def order_podium(session: DbSession, talk: Talk, user: User, order: list[int]) -> Write:
    """Put forwarded questions in this order on the podium, the first one on screen now ("Jetzt
    zeigen"); forwarded questions not named follow in their order. The podium orders by
    `forwarded_at`, so the questions swap those times among them: no new time is made up, and
    the first one takes the earliest. An id that is not forwarded (any more) is `invalid`."""
    forwarded = list(session.scalars(select(Question).where(
        Question.talk_id == talk.id, Question.status == "forwarded").order_by(Question.forwarded_at, Question.id)))
    by_id = {q.id: q for q in forwarded}
    if not order or len(set(order)) != len(order) or any(i not in by_id for i in order):
        raise DomainError("invalid", {"reason": "podium_order"})
    wanted = [by_id[i] for i in order] + [q for q in forwarded if q.id not in set(order)]
    times: list[datetime] = []
    for q in forwarded:  # the times they have, made distinct (two forwarded in the same instant)
        at = q.forwarded_at or talk.starts_at
        times.append(at if not times or at > times[-1] else times[-1] + timedelta(microseconds=1))
    changes = []
    for question, at in zip(wanted, times, strict=True):
        if question.forwarded_at != at:
            question.forwarded_at = at
            changes.append(Changed(question, question.status, actions.changes("podium_order")))
    if not changes:
        return unchanged(wanted[0])
    session.flush()
    step = record(session, talk, user, "podium_order", question=wanted[0], from_status="forwarded",
                  to_status="forwarded", after=",".join(str(q.id) for q in wanted))
    return changed(wanted[0], *changes, step=step)


# Taking steps back (services/steps.py): whether the question is still as the step left it, and
# the step reverted. A step's `before`/`after` are what the audit entry stored.

def status_stands(session: DbSession, step: AuditEntry, question: Question) -> bool:
    return question.status == step.to_status


def revert_status(session: DbSession, talk: Talk, user: User, step: AuditEntry, question: Question,
                  now: datetime | None) -> list[Changed]:
    old = question.status
    _set_status(question, step.from_status or "pending", now)
    return [Changed(question, old, actions.changes(step.action))]


def text_stands(session: DbSession, step: AuditEntry, question: Question) -> bool:
    return question.status == step.to_status and question.text == step.after


def revert_edit(session: DbSession, talk: Talk, user: User, step: AuditEntry, question: Question,
                now: datetime | None) -> list[Changed]:
    question.text = step.before or ""
    if question.text == question.original_text:
        question.original_text = None
    return [Changed(question, question.status, actions.changes("edit"))]


def merge_stands(session: DbSession, step: AuditEntry, question: Question) -> bool:
    return question.status == step.to_status and str(question.merged_into_id) == step.after


def revert_merge(session: DbSession, talk: Talk, user: User, step: AuditEntry, question: Question,
                 now: datetime | None) -> list[Changed]:
    """The question stands alone again; the questions the merge had moved come back to it."""
    old, target_id = question.status, question.merged_into_id
    question.status = step.from_status or "pending"
    question.merged_into_id = None
    moved = [int(i) for i in (step.before or "").split(",") if i]
    for child in session.scalars(select(Question).where(Question.id.in_(moved))):
        child.merged_into_id = question.id
    changes = [Changed(question, old, actions.changes("merge"))]
    target = session.get(Question, target_id) if target_id else None
    if target is not None:
        changes.append(Changed(target, target.status, actions.touches("merge")))
    return changes


def set_upvote(session: DbSession, talk: Talk, user: User, question_id: int, value: int = 1) -> Write:
    """A moderator's upvote: set (1) or withdrawn (0); repeating it changes nothing."""
    question = get(session, talk, question_id)
    wanted = _vote_value(value)
    existing = session.scalar(select(Upvote).where(Upvote.question_id == question.id, Upvote.user_id == user.id))
    if wanted and existing is None:
        _insert_once(session, Upvote(question_id=question.id, user_id=user.id))
    elif not wanted and existing is not None:
        session.delete(existing)
        session.flush()
    return counted(question)


def set_vote(session: DbSession, talk: Talk, client: str, question_id: int, value: int) -> Write:
    """An audience vote on a public question: one per client, set or withdrawn.

    Two plain statements, no ORM objects: at the round's peak a thousand of these arrive at once,
    and loading the question (with its labels) per vote was most of their cost."""
    if not talk.audience_votes:
        raise DomainError("closed", {"what": "votes"})
    wanted = _vote_value(value)
    found = None
    if 0 < question_id < MAX_ID:  # the question and whether its voter is blocked, in one statement
        found = session.execute(select(Question.status, Question.merged_into_id,
                                       blocks.blocked(talk, client).label("blocked")).where(
            Question.id == question_id, Question.talk_id == talk.id)).one_or_none()
    if found is None:
        blocks.refuse_blocked(session, talk, client)
        raise DomainError("not_found")
    if found.blocked:
        raise blocks.refusal()
    if found.status not in PUBLIC_STATUSES:
        raise DomainError("not_found")
    if wanted:
        session.execute(_vote_insert(session), {"question_id": question_id, "client_hash": client})
    else:
        session.execute(delete(Vote).where(Vote.question_id == question_id, Vote.client_hash == client))
    return Write(counted=[found.merged_into_id or question_id])


def flag(session: DbSession, talk: Talk, question_id: int, code: str) -> Write:
    """Flag a question for the moderators' eye (its card shows the flag's word); a question that
    carries a flag already keeps it."""
    question = get(session, talk, question_id)
    if question.flagged is not None:
        return unchanged(question)
    question.flagged = code
    return changed(question, Changed(question, question.status, frozenset({"flagged"})))


_VOTE_INSERTS: dict[str, Any] = {}


def _vote_insert(session: DbSession) -> Any:
    """INSERT … ON CONFLICT DO NOTHING into vote, for this database (SQLite or PostgreSQL): a
    repeated vote is the same vote."""
    dialect = session.get_bind().dialect.name
    if dialect not in _VOTE_INSERTS:
        table = cast(Table, Vote.__table__)
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        _VOTE_INSERTS[dialect] = insert(table).on_conflict_do_nothing(
            index_elements=[table.c.question_id, table.c.client_hash])
    return _VOTE_INSERTS[dialect]


def counted(question: Question) -> Write:
    """A vote or upvote: the counts of the question it counts for (a duplicate's owner) changed."""
    return Write(question, counted=[question.merged_into_id or question.id])


def _vote_value(value: int) -> bool:
    if value not in (0, 1):
        raise DomainError("invalid", {"field": "value"})
    return value == 1


def _insert_once(session: DbSession, row) -> None:
    """Insert a per-voter row; a concurrent duplicate is the same vote, not an error."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        pass


def counts(session: DbSession, talk: Talk, question_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
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


def voted_by(session: DbSession, talk: Talk, client: str) -> set[int]:
    """The questions of this talk this audience client has voted for."""
    return set(session.scalars(select(Vote.question_id).join(Question, Question.id == Vote.question_id)
                               .where(Question.talk_id == talk.id, Vote.client_hash == client)))



def merged_children(session: DbSession, talk: Talk,
                    into: list[int] | None = None) -> dict[int, list[Question]]:
    """The questions merged into each question of the talk (or into those given)."""
    children: dict[int, list[Question]] = {}
    query = select(Question).where(Question.talk_id == talk.id, Question.merged_into_id.is_not(None))
    if into is not None:
        query = query.where(Question.merged_into_id.in_(into))
    for q in session.scalars(query):
        if q.merged_into_id is not None:
            children.setdefault(q.merged_into_id, []).append(q)
    return children
