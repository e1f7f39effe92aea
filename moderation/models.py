"""SQLAlchemy models. Times are stored as naive UTC and handed out as aware UTC."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import JSON

from .extensions import Base, db

if TYPE_CHECKING:
    Model = Base  # what db.Model is at run time, as far as a type checker can follow
else:
    Model = db.Model

STATUSES = ("pending", "approved", "forwarded", "answered", "rejected", "merged")
OPEN_STATUSES = ("pending", "approved", "forwarded")
PUBLIC_STATUSES = ("approved", "forwarded", "answered")
PODIUM_STATUSES = ("forwarded", "answered")
# Where a question came from: the question page, the intake mailbox, a moderator's pasted list,
# or a relay through the intake API (`api:<label>`, e.g. `api:YouTube`).
WEB, EMAIL, IMPORT, API = "web", "email", "import", "api:"


class UTCDateTime(TypeDecorator):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class User(UserMixin, Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="moderator")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped at logout: every session and socket of the user signed with the old value is void.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"


class Series(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    organisers: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # "Regeln der Fragerunde"; None: the default text (services/record.py).
    rules: Mapped[str | None] = mapped_column(Text, nullable=True)
    talks: Mapped[list[Talk]] = relationship(back_populates="series", order_by="Talk.starts_at")


class Talk(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), nullable=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None: follow the schedule; "open"/"closed": set by hand (open until manual_until, if set)
    manual_state: Mapped[str | None] = mapped_column(String(10), nullable=True)
    manual_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    audience_votes: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Off: questions are approved as they arrive (moderators can still reject them).
    premoderation: Mapped[bool] = mapped_column(Boolean, default=True)
    # On: the question form is open before the window too (not after it).
    early_questions: Mapped[bool] = mapped_column(Boolean, default=False)
    # Most audience sockets connected at once while the round was open (for the report).
    audience_peak: Mapped[int] = mapped_column(Integer, default=0)
    # The podium lists the forwarded questions after the current one ("Als Nächstes").
    podium_shows_next: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    podium_token: Mapped[str] = mapped_column(String(64), unique=True)
    # Per view, rises by one for each change that view is told of (readmodel/sequence.py);
    # stored so that it survives restarts. `seq` is the moderators' view: every change.
    seq: Mapped[int] = mapped_column(Integer, default=0)
    audience_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    podium_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overlay_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The line to the podium ("Noch 5 Minuten"): shown on the podium screen until cleared.
    backstage_text: Mapped[str | None] = mapped_column(String(200), nullable=True)
    backstage_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    # "Aufzeichnung": a link to the video of the talk; the documentation links into it.
    recording_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # "Dokumentation veröffentlichen": /t/<slug>/dokumentation is public (404 before).
    record_published: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A "Probelauf" runs since then (None: none); what it changed is taken back at its end
    # (services/rehearsal.py), with the round's state saved here at its start.
    rehearsal_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rehearsal_saved: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    series: Mapped[Series | None] = relationship(back_populates="talks")


class TalkModerator(Model):
    """Who moderates which talk (admins moderate every talk without a row here)."""
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True)


class AccountEntry(Model):
    """The audit log of the organiser's side: accounts created, disabled, reset, promoted."""
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), nullable=True)
    username: Mapped[str | None] = mapped_column(String(80), nullable=True)
    action: Mapped[str] = mapped_column(String(30))
    target: Mapped[str] = mapped_column(String(80))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Question(Model):
    __table_args__ = (
        UniqueConstraint("talk_id", "client_msg_id"),
        Index("ix_question_talk_status", "talk_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    original_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    client_hash: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    client_msg_id: Mapped[str] = mapped_column(String(64))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"), nullable=True, index=True)
    flagged: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Curation: a private note among moderators, a written answer (public once published), labels.
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # "Vormerken": on the moderators' shortlist of this talk (shared, never shown to audience or podium).
    shortlisted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answer_published: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why it was rejected (services/actions.REJECT_REASONS), shown while it is rejected; None: no reason given.
    reject_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # The asker ticked "Meinen Namen in der Dokumentation nennen".
    name_in_record: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Asked during a "Probelauf": removed when it ends, never in a report or the documentation.
    rehearsal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The channel (web, email, import, api:<label>) and, for an import, the "Quelle" typed with it.
    source: Mapped[str] = mapped_column(String(50), default=WEB, server_default=WEB)
    source_label: Mapped[str | None] = mapped_column(String(40), nullable=True)
    talk: Mapped[Talk] = relationship()
    labels: Mapped[list[Label]] = relationship(secondary="question_label", lazy="selectin", order_by="Label.name")

    # Optimistic locking: an UPDATE on a stale version matches no row and raises StaleDataError.
    __mapper_args__ = {"version_id_col": version}


class Upvote(Model):
    """A moderator's upvote: one per moderator and question."""
    __table_args__ = (UniqueConstraint("question_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Vote(Model):
    """An audience vote: one per (hashed) client and question."""
    __table_args__ = (UniqueConstraint("question_id", "client_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    client_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Model):
    """One line of the audit log: a moderator action, who, when, from, to, before/after."""
    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), nullable=True,
                                                    index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), nullable=True)
    username: Mapped[str | None] = mapped_column(String(80), nullable=True)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("audit_entry.id"), nullable=True)
    undone: Mapped[bool] = mapped_column(Boolean, default=False)
    # Written during a "Probelauf" (a step on one of its questions, or on the round): removed at its end.
    rehearsal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Label(Model):
    """A moderators' topic label of one talk ("Wohnen", "an die Politik"); never shown to the audience."""
    __table_args__ = (UniqueConstraint("talk_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))


class QuestionLabel(Model):
    __tablename__ = "question_label"
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), primary_key=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("label.id", ondelete="CASCADE"), primary_key=True, index=True)


class Block(Model):
    """One audience identity (the keyed hash of its client id, never an address) that may no
    longer submit or vote in one talk."""
    __table_args__ = (UniqueConstraint("talk_id", "client_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    client_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SimilarSuggestion(Model):
    """The questions suggested as similar to one open question, computed once after it was
    written (not with the question row: that would bump its version under a moderator's edit)."""
    __tablename__ = "similar_suggestion"
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    # [{"id": other question, "words": [shared words, most telling first]}, ...], best first
    items: Mapped[list] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuestionVector(Model):
    """A question's sentence vector (services/meaning.py): float16 bytes, with the model and a digest
    of the text it was encoded from. A row of its own, so that storing it never bumps the question's
    version under a moderator's edit, and reading the queue never reads it."""
    __tablename__ = "question_vector"
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(20))
    digest: Mapped[str] = mapped_column(String(16))
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class DismissedSimilar(Model):
    """A pair a moderator said is not alike: never suggested again (lower id first)."""
    __tablename__ = "dismissed_similar"
    __table_args__ = (UniqueConstraint("question_id", "other_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"))
    other_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuestionReport(Model):
    """"Melden": one audience identity (the keyed client hash) reports one public question, once,
    for one reason (services/actions.REPORT_REASONS). Moderators see the counts; nobody sees who."""
    __tablename__ = "question_report"
    __table_args__ = (UniqueConstraint("question_id", "client_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    client_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
class IntakeToken(Model):
    """A relay's access to one talk's intake API; its questions come in as `api:<label>`.
    Only a hash of the token is kept: it is shown once, when it is made."""
    __tablename__ = "intake_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(40))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MailMessage(Model):
    """One mail of the intake mailbox, taken once (its UIDVALIDITY and UID): the question it
    became, or why not yet ("Ohne Zuordnung": no talk, round closed, too long, …). Only mails
    waiting for an admin keep their text and the sender's keyed hash; nothing keeps the address."""
    __tablename__ = "mail_message"
    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", "uid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(64))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    # question: became one; waiting: for an admin ("Ohne Zuordnung"); assigned, discarded: by an
    # admin; ignored: automatic replies, blocked senders, a copy of a mail already taken
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    talk_id: Mapped[int | None] = mapped_column(ForeignKey("talk.id", ondelete="SET NULL"), nullable=True,
                                                index=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id", ondelete="SET NULL"), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    sender_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailCursor(Model):
    """How far the intake mailbox has been read: the highest UID taken under its UIDVALIDITY."""
    __tablename__ = "mail_cursor"
    mailbox: Mapped[str] = mapped_column(String(64), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)


class WorkerLease(Model):
    """One background job that only one process may run at a time (the mailbox poller): who holds
    it, until when. A holder renews it while it works; a process that died loses it by expiry."""
    __tablename__ = "worker_lease"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
