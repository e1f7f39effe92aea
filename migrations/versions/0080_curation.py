"""Curation: labels per talk, private notes, written answers, blocked audience identities,
and the line to the podium.

Revision ID: 0080_curation
Revises: 0020_podium
"""
import sqlalchemy as sa
from alembic import op

revision = "0080_curation"
down_revision = "0020_podium"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("talk_id", sa.Integer(), sa.ForeignKey("talk.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.UniqueConstraint("talk_id", "name"),
    )
    op.create_index("ix_label_talk_id", "label", ["talk_id"])
    op.create_table(
        "question_label",
        sa.Column("question_id", sa.Integer(), sa.ForeignKey("question.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("label_id", sa.Integer(), sa.ForeignKey("label.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_question_label_label_id", "question_label", ["label_id"])
    op.create_table(
        "block",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("talk_id", sa.Integer(), sa.ForeignKey("talk.id", ondelete="CASCADE"), nullable=False),
        sa.Column("client_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("talk_id", "client_hash"),
    )
    op.create_index("ix_block_talk_id", "block", ["talk_id"])
    with op.batch_alter_table("question") as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("answer", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("answer_published", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("talk") as batch_op:
        batch_op.add_column(sa.Column("backstage_text", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("backstage_by", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("talk") as batch_op:
        batch_op.drop_column("backstage_by")
        batch_op.drop_column("backstage_text")
    with op.batch_alter_table("question") as batch_op:
        batch_op.drop_column("answer_published")
        batch_op.drop_column("answer")
        batch_op.drop_column("note")
    op.drop_index("ix_block_talk_id", table_name="block")
    op.drop_table("block")
    op.drop_index("ix_question_label_label_id", table_name="question_label")
    op.drop_table("question_label")
    op.drop_index("ix_label_talk_id", table_name="label")
    op.drop_table("label")
