"""Similar-question suggestions stored per question, and pairs moderators dismissed.

Revision ID: 0010_similar
Revises: 0003_view_seqs
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_similar"
down_revision = "0003_view_seqs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "similar_suggestion",
        sa.Column("question_id", sa.Integer(), sa.ForeignKey("question.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("talk_id", sa.Integer(), sa.ForeignKey("talk.id", ondelete="CASCADE"), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_similar_suggestion_talk_id", "similar_suggestion", ["talk_id"])
    op.create_table(
        "dismissed_similar",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("talk_id", sa.Integer(), sa.ForeignKey("talk.id", ondelete="CASCADE"), nullable=False),
        sa.Column("question_id", sa.Integer(), sa.ForeignKey("question.id", ondelete="CASCADE"), nullable=False),
        sa.Column("other_id", sa.Integer(), sa.ForeignKey("question.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("question_id", "other_id"),
    )
    op.create_index("ix_dismissed_similar_talk_id", "dismissed_similar", ["talk_id"])


def downgrade() -> None:
    op.drop_index("ix_dismissed_similar_talk_id", table_name="dismissed_similar")
    op.drop_table("dismissed_similar")
    op.drop_index("ix_similar_suggestion_talk_id", table_name="similar_suggestion")
    op.drop_table("similar_suggestion")
