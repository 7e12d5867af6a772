"""Reconciliation runs: started through the API or imported from a `cxw reconcile` output folder, with
progress, heartbeat and the stored summary.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table('reconciliation_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('legacy_name', sa.String(length=1000), nullable=False),
    sa.Column('migrated_name', sa.String(length=1000), nullable=False),
    sa.Column('options', JSON, nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('folder', sa.String(length=1000), nullable=False),
    sa.Column('step', sa.String(length=200), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('verdict', sa.String(length=20), nullable=True),
    sa.Column('summary', JSON, nullable=True),
    sa.Column('host', sa.String(length=300), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['previous_id'], ['reconciliation_run.id'],
                            name=op.f('fk_reconciliation_run_previous_id_reconciliation_run'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_run'))
    )
    with op.batch_alter_table('reconciliation_run', schema=None) as batch_op:
        batch_op.create_index('ix_reconciliation_run_status', ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_reconciliation_run_started_at'), ['started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reconciliation_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_run_started_at'))
        batch_op.drop_index('ix_reconciliation_run_status')
    op.drop_table('reconciliation_run')
