"""Sentence vectors stored with their questions (issue 25): a restart never encodes a talk again.

Revision ID: 0250_question_vector
Revises: 0010_similar
"""
import sqlalchemy as sa
from alembic import op

revision = "0250_question_vector"
down_revision = "0230_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "question_vector",
        sa.Column("question_id", sa.Integer(), sa.ForeignKey("question.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("talk_id", sa.Integer(), sa.ForeignKey("talk.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model", sa.String(20), nullable=False),
        sa.Column("digest", sa.String(16), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_question_vector_talk_id", "question_vector", ["talk_id"])


def downgrade() -> None:
    op.drop_index("ix_question_vector_talk_id", table_name="question_vector")
    op.drop_table("question_vector")
