"""Channels: the source of every question, intake tokens for relays, the intake mailbox (mails
taken, how far it was read) and a lease so that one process at a time reads it.

Revision ID: 0230_channels
Revises: 0010_similar
"""
import sqlalchemy as sa
from alembic import op

revision = "0230_channels"
down_revision = "0240_accountability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("question") as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=50), nullable=False, server_default="web"))
        batch_op.add_column(sa.Column("source_label", sa.String(length=40), nullable=True))
    op.create_table(
        "intake_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("talk_id", sa.Integer(), sa.ForeignKey("talk.id", ondelete="CASCADE"), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_intake_token_talk_id", "intake_token", ["talk_id"])
    op.create_table(
        "mail_message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mailbox", sa.String(length=64), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=True),
        sa.Column("talk_id", sa.Integer(), sa.ForeignKey("talk.id", ondelete="SET NULL"), nullable=True),
        sa.Column("question_id", sa.Integer(), sa.ForeignKey("question.id", ondelete="SET NULL"), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("name", sa.String(length=80), nullable=True),
        sa.Column("sender_hash", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("mailbox", "uidvalidity", "uid"),
    )
    op.create_index("ix_mail_message_fingerprint", "mail_message", ["fingerprint"])
    op.create_index("ix_mail_message_talk_id", "mail_message", ["talk_id"])
    op.create_table(
        "mail_cursor",
        sa.Column("mailbox", sa.String(length=64), primary_key=True),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "worker_lease",
        sa.Column("name", sa.String(length=40), primary_key=True),
        sa.Column("holder", sa.String(length=80), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("worker_lease")
    op.drop_table("mail_cursor")
    op.drop_index("ix_mail_message_talk_id", table_name="mail_message")
    op.drop_index("ix_mail_message_fingerprint", table_name="mail_message")
    op.drop_table("mail_message")
    op.drop_index("ix_intake_token_talk_id", table_name="intake_token")
    op.drop_table("intake_token")
    with op.batch_alter_table("question") as batch_op:
        batch_op.drop_column("source_label")
        batch_op.drop_column("source")
