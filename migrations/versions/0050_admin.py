"""The organiser's side: talk settings, who moderates what, the account log, audience peak.

Revision ID: 0050_admin
Revises: 0003_view_seqs
"""
from alembic import op
import sqlalchemy as sa

revision = "0050_admin"
down_revision = "0003_view_seqs"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("talk") as batch:
        batch.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("premoderation", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("early_questions", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("audience_peak", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "talk_moderator",
        sa.Column("talk_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["talk_id"], ["talk.id"], name=op.f("fk_talk_moderator_talk_id_talk"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_talk_moderator_user_id_user"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("talk_id", "user_id", name=op.f("pk_talk_moderator")),
    )
    op.create_index(op.f("ix_talk_moderator_user_id"), "talk_moderator", ["user_id"])
    op.create_table(
        "account_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=80), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_account_entry_user_id_user"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_entry")),
    )


def downgrade():
    op.drop_table("account_entry")
    op.drop_index(op.f("ix_talk_moderator_user_id"), table_name="talk_moderator")
    op.drop_table("talk_moderator")
    with op.batch_alter_table("talk") as batch:
        batch.drop_column("audience_peak")
        batch.drop_column("early_questions")
        batch.drop_column("premoderation")
        batch.drop_column("description")
