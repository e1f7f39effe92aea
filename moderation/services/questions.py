"""Submitting questions and what moderators do with them."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, delete, func, literal, or_, select, tuple_, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from ..models import OPEN_STATUSES, PUBLIC_STATUSES, WEB, AuditEntry, Question, Talk, Upvote, User, Vote
from . import DbSession, actions, blocks, insert_for
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

    @property
    def premoderated(self) -> bool:
        """Questions from other channels are public only once a moderator approved them."""
        return self.source != WEB


PAGE = Channel()


@dataclass(frozen=True)
class Asked:
    """One question as sent, for submit_all(); the fields are submit()'s."""

    text: object
    name: str | None
    client: str | None
    client_msg_id: str
    now: datetime
    admit: Callable[[], None] | None = None
    name_in_record: bool = False
    held: bool = False  # sent from where a person blocked in this talk was seen: to the moderators


def submit(session: DbSession, talk: Talk, *, text: object, name: str | None, client: str | None,
           client_msg_id: str, now: datetime, admit: Callable[[], None] | None = None,
           channel: Channel = PAGE, name_in_record: bool = False, held: bool = False) -> Write:
    """Store an audience question once per client_msg_id; a resend returns the first one.

    The same text sent again by the same person (a new msg id: pressed twice, sent from two
    tabs) is stored too, but folded into their open question: merged, its text kept there.

    `client` is the keyed hash of the asker's identity (an audience id, a mail's sender, a chat
    name behind a relay), None when there is none (a pasted list). `admit` runs just before a new
    question is stored (not for resends or refused input): the caller's rate limit, raising
    DomainError('rate_limited'). `name_in_record`: the asker agrees that the documentation names
    them (kept only with a name). During a Probelauf the question is the rehearsal's."""
    result = submit_all(session, talk, [Asked(text, name, client, client_msg_id, now, admit, name_in_record, held)],
                        channel)[0]
    if isinstance(result, DomainError):
        raise result
    return result


def submit_all(session: DbSession, talk: Talk, asked: Sequence[Asked],
               channel: Channel = PAGE) -> list[Write | DomainError]:
    """submit() for questions asked at once (the group writer's, workers/group.py): each answered
    in order with its write or its refusal, refused before anything is written; a constant
    number of statements however many (their resends and earlier texts read in one statement,
    their blocks in another, all stored in one multi-row INSERT)."""
    results: list[Write | DomainError | None] = [None] * len(asked)
    msg_ids: dict[int, str] = {}
    bodies: dict[int, str | DomainError] = {}  # the text as stored, or why it cannot be
    for i, one in enumerate(asked):
        try:
            msg_ids[i] = valid_msg_id(one.client_msg_id)
        except DomainError as exc:
            results[i] = exc
            continue
        try:
            bodies[i] = texts.question_text(one.text)
        except DomainError as exc:
            bodies[i] = exc
    stored, originals = _known(session, talk, set(msg_ids.values()),
                               [(asked[i].client, body) for i, body in bodies.items() if isinstance(body, str)])
    blocked = blocks.blocked_among(session, talk, {one.client for one in asked if one.client is not None})
    fresh: list[tuple[int, str, str, str | None]] = []  # index, msg id, text, name
    claimed: dict[str, int] = {}  # msg id -> the index that stores it
    resent: list[int] = []  # the same msg id again in this group
    for i, one in enumerate(asked):
        if results[i] is not None:
            continue
        msg_id = msg_ids[i]
        if msg_id in stored:
            results[i] = _resend(stored[msg_id], one.client)
            continue
        if msg_id in claimed:
            resent.append(i)
            continue
        try:
            if one.client is not None and one.client in blocked:
                raise blocks.refusal()
            body = bodies[i]
            if isinstance(body, DomainError):
                raise body
            author = texts.author_name(one.name)
            if channel.window and not accepts_questions(talk, one.now):
                raise DomainError("closed")
            if one.admit is not None:
                one.admit()
        except DomainError as exc:
            results[i] = exc
            continue
        claimed[msg_id] = i
        fresh.append((i, msg_id, body, author))
    # The same text twice from one person in this group: the second folds into the first, once stored.
    seen: set[tuple[str, str]] = set()
    now_round: list[tuple[int, str, str, str | None]] = []
    next_round: list[tuple[int, str, str, str | None]] = []
    for item in fresh:
        key = (asked[item[0]].client or "", item[2])
        (next_round if asked[item[0]].client is not None and key in seen else now_round).append(item)
        seen.add(key)
    rows = [_row(talk, asked[i], msg_id, body, author, channel, originals.get((asked[i].client, body)))
            for i, msg_id, body, author in now_round]
    inserted = _insert(session, [row for row, _ in rows])
    for (i, msg_id, _, _), (_, fold_into) in zip(now_round, rows, strict=True):
        question = inserted.get(msg_id)
        if question is not None:
            results[i] = _stored(session, talk, question, fold_into, channel)
            continue
        existing = find_by_msg_id(session, talk, msg_id)  # stored meanwhile, by another process
        results[i] = _resend(existing, asked[i].client) if existing is not None \
            else DomainError("invalid", {"field": "client_msg_id"})
    for i in resent:
        first = results[claimed[msg_ids[i]]]
        results[i] = _resend(first.question, asked[i].client) if isinstance(first, Write) and first.question \
            else first
    if next_round:
        again = submit_all(session, talk, [replace(asked[i], admit=None) for i, *_ in next_round], channel)
        for (i, *_), result in zip(next_round, again, strict=True):
            results[i] = result
    return [r if r is not None else DomainError("internal") for r in results]


def _resend(first: Question, client: str | None) -> Write | DomainError:
    """The answer to a msg id already stored: the same question, if it is the same person's."""
    if first.client_hash != client:
        return DomainError("invalid", {"field": "client_msg_id"})
    return unchanged(first)


def _row(talk: Talk, one: Asked, msg_id: str, body: str, author: str | None, channel: Channel,
         original: Question | None) -> tuple[dict[str, Any], Question | None]:
    """The new question's row, and the open question of the same person and text it folds into."""
    fold_into = original if original is not None and original.status in OPEN_STATUSES else None
    flagged = flag_for(body) or ("repeated" if original else None)
    # Without "Vorab-Moderation" a question is public at once, unless the word list or a repeat
    # flagged it, or it was sent from where a blocked person was seen: those wait for a moderator.
    public = not talk.premoderation and not channel.premoderated and not one.held and flagged is None
    return {"talk_id": talk.id, "text": body, "name": author, "client_hash": one.client,
            "client_msg_id": msg_id, "created_at": one.now,
            "status": "merged" if fold_into else ("approved" if public else "pending"),
            "merged_into_id": fold_into.id if fold_into else None,
            "flagged": flagged,
            "name_in_record": bool(one.name_in_record and author),
            "rehearsal": talk.rehearsal_since is not None,
            "source": channel.source, "source_label": channel.label, "version": 1}, fold_into


def _insert(session: DbSession, rows: list[dict[str, Any]]) -> dict[str, Question]:
    """Store the rows in one INSERT … ON CONFLICT DO NOTHING RETURNING; the stored questions by msg
    id (a msg id stored meanwhile is left out). Their labels are known empty: no read for them."""
    if not rows:
        return {}
    statement = insert_for(session)(Question).on_conflict_do_nothing(index_elements=["talk_id", "client_msg_id"]) \
        .returning(Question).options(lazyload(Question.labels))
    stored = {q.client_msg_id: q for q in session.scalars(statement, rows)}
    for question in stored.values():
        set_committed_value(question, "labels", [])
    return stored


def _stored(session: DbSession, talk: Talk, question: Question, fold_into: Question | None,
            channel: Channel) -> Write:
    """A stored question's write, with its audit entries (another channel's intake, a fold)."""
    if channel.source != WEB:
        record(session, talk, channel.by, "intake", question=question, to_status=question.status,
               after=channel.source if channel.label is None else f"{channel.source}:{channel.label}")
    if fold_into:
        step = record(session, talk, None, "fold", question=question, from_status="pending", to_status="merged",
                      after=str(fold_into.id))
        return changed(question, Changed(question, None),
                       Changed(fold_into, fold_into.status, actions.touches("fold")), step=step)
    return changed(question, Changed(question, None))


def _known(session: DbSession, talk: Talk, msg_ids: set[str], pairs: list[tuple[str | None, str]]
           ) -> tuple[dict[str, Question], dict[tuple[str | None, str], Question]]:
    """In one statement: the questions already stored under these msg ids (resends), and each
    person's earliest question with the same text in this talk (see repeated())."""
    pairs = [(client, body) for client, body in pairs if client is not None]
    asked_before = and_(Question.client_hash.in_({c for c, _ in pairs}),
                        Question.text.in_({b for _, b in pairs}), Question.merged_into_id.is_(None))
    conditions = ([Question.client_msg_id.in_(msg_ids)] if msg_ids else []) + ([asked_before] if pairs else [])
    if not conditions:
        return {}, {}
    stored: dict[str, Question] = {}
    originals: dict[tuple[str | None, str], Question] = {}
    wanted = set(pairs)
    for q in session.scalars(select(Question).where(Question.talk_id == talk.id, or_(*conditions))
                             .order_by(Question.id)):
        if q.client_msg_id in msg_ids:
            stored[q.client_msg_id] = q
        key = (q.client_hash, q.text)
        if q.merged_into_id is None and key in wanted and key not in originals:
            originals[key] = q
    return stored, originals


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
    # Its labels are read when used: a write publishes the question read again once it holds its
    # numbers (publish._as_committed), labels and all.
    question = session.get(Question, question_id, options=[lazyload(Question.labels)])
    if question is None or question.talk_id != talk.id:
        raise DomainError("not_found")
    return question


def lock(session: DbSession, *questions: Question) -> None:
    """Hold the questions' rows until the transaction ends, read afresh: SELECT … FOR NO KEY
    UPDATE in id order (two writers locking the same pair queue, never deadlock). On PostgreSQL
    two processes merging A into B and B into A at once would otherwise both read the other as
    open. NO KEY: rows that only refer to the questions (votes, suggestions, audit entries) are
    written meanwhile without waiting — with FOR UPDATE the suggestion worker's inserts for a new
    pair took the pair's key locks in the other order, and one side died in a deadlock.
    SQLite's writers already queue at BEGIN IMMEDIATE; there the lock is a plain read."""
    ids = sorted({q.id for q in questions})
    session.scalars(select(Question).where(Question.id.in_(ids)).order_by(Question.id)
                    .with_for_update(key_share=True).execution_options(populate_existing=True)).all()


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


@dataclass(frozen=True)
class Ballot:
    """One audience vote as sent: set (1) or withdrawn (0)."""

    client: str
    question_id: int
    value: int
    fresh: bool = False  # one of many fresh ids from one address voting for it: flag the question


def set_vote(session: DbSession, talk: Talk, client: str, question_id: int, value: int) -> Write:
    """An audience vote on a public question: one per client, set or withdrawn."""
    result = set_votes(session, talk, [Ballot(client, question_id, value)])[0]
    if isinstance(result, DomainError):
        raise result
    return result


def set_votes(session: DbSession, talk: Talk, ballots: Sequence[Ballot]) -> list[Write | DomainError]:
    """Audience votes sent at once (the group writer's, workers/group.py), each answered in order
    with its write or its refusal, refused before anything is written.

    A constant number of statements however many: their questions and blocked voters read in one
    statement each, the votes given in one multi-row INSERT … ON CONFLICT DO NOTHING (a repeated
    vote is the same vote), those withdrawn in one DELETE; no ORM objects. Of one person's votes
    on one question in the group, the last stands."""
    if not talk.audience_votes:
        return [DomainError("closed", {"what": "votes"}) for _ in ballots]
    ids = {b.question_id for b in ballots if 0 < b.question_id < MAX_ID}
    found = {row.id: row for row in session.execute(
        select(Question.id, Question.status, Question.merged_into_id).where(
            Question.talk_id == talk.id, Question.id.in_(ids)))} if ids else {}
    blocked = blocks.blocked_among(session, talk, {b.client for b in ballots})
    results: list[Write | DomainError] = []
    wanted: dict[tuple[int, str], bool] = {}
    suspicious: list[tuple[int, int]] = []  # (result, question): rare, one flag each
    for b in ballots:
        try:
            given = _vote_value(b.value)
            if b.client in blocked:
                raise blocks.refusal()
            row = found.get(b.question_id)
            if row is None or row.status not in PUBLIC_STATUSES:
                raise DomainError("not_found")
        except DomainError as exc:
            results.append(exc)
            continue
        wanted[b.question_id, b.client] = given
        owner = row.merged_into_id or b.question_id
        results.append(Write(counted=[owner]))
        if b.fresh and given:
            suspicious.append((len(results) - 1, owner))
    given_rows = [{"question_id": qid, "client_hash": client} for (qid, client), on in wanted.items() if on]
    taken = [key for key, on in wanted.items() if not on]
    if given_rows:
        session.execute(_vote_insert(session).values(given_rows))
    if taken:
        session.execute(delete(Vote).where(tuple_(Vote.question_id, Vote.client_hash).in_(taken)))
    for index, question_id in suspicious:
        write = results[index]
        assert isinstance(write, Write)
        write.changed.extend(flag(session, talk, question_id, "fresh_votes").changed)
    return results


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
        _VOTE_INSERTS[dialect] = insert_for(session)(table).on_conflict_do_nothing(
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
    parts = []
    for model, key, voter in ((Upvote, "upvotes", Upvote.user_id), (Vote, "votes", Vote.client_hash)):
        query = (select(owner.label("owner"), literal(key).label("key"), func.count(func.distinct(voter)).label("n"))
                 .select_from(model).join(Question, Question.id == model.question_id)
                 .where(Question.talk_id == talk.id).group_by(owner))
        if question_ids is not None:
            query = query.where(owner.in_(question_ids))
        parts.append(query)
    result: dict[int, dict[str, int]] = {}
    for qid, key, n in session.execute(union_all(*parts)):  # one statement for both
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
