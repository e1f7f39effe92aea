"""podium: "Als Nächstes" optional per talk

Revision ID: 0020_podium
Revises: 0003_view_seqs
Create Date: 2026-11-26 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0020_podium'
down_revision = '0003_view_seqs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('talk') as batch_op:
        batch_op.add_column(sa.Column('podium_shows_next', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))


def downgrade():
    with op.batch_alter_table('talk') as batch_op:
        batch_op.drop_column('podium_shows_next')
