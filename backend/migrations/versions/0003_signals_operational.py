"""Operational signals: signal records (idempotent by signal id), analyses, proposals; outbox messages for proposals.

Revision ID: 0002_signals
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table('signal_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signal_id', sa.String(length=128), nullable=False),
    sa.Column('type', sa.String(length=30), nullable=False),
    sa.Column('ts', sa.DateTime(), nullable=False),
    sa.Column('merchant_id', sa.String(length=128), nullable=False),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('received_by', sa.String(length=200), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signal_record')),
    sa.UniqueConstraint('signal_id', name='uq_signal_record_signal_id')
    )
    with op.batch_alter_table('signal_record', schema=None) as batch_op:
        batch_op.create_index('ix_signal_record_type_ts', ['type', 'ts'], unique=False)
        batch_op.create_index('ix_signal_record_merchant_ts', ['merchant_id', 'ts'], unique=False)
        batch_op.create_index('ix_signal_record_ts', ['ts'], unique=False)

    op.create_table('signal_analysis',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('signals', sa.Integer(), nullable=False),
    sa.Column('raised', sa.Integer(), nullable=False),
    sa.Column('report', JSON, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signal_analysis'))
    )
    with op.batch_alter_table('signal_analysis', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signal_analysis_created_at'), ['created_at'], unique=False)

    op.create_table('signal_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('analysis_id', sa.Integer(), nullable=False),
    sa.Column('pattern_id', sa.String(length=32), nullable=False),
    sa.Column('pattern_label', sa.String(length=500), nullable=False),
    sa.Column('hypothesis', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('tool', sa.String(length=30), nullable=False),
    sa.Column('leaves_system', sa.Boolean(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('risk', sa.Float(), nullable=False),
    sa.Column('severity', sa.String(length=20), nullable=False),
    sa.Column('merchants', sa.Integer(), nullable=False),
    sa.Column('needs_approval', sa.Boolean(), nullable=False),
    sa.Column('reasons', JSON, nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('executed_at', sa.DateTime(), nullable=True),
    sa.Column('result', JSON, nullable=True),
    sa.ForeignKeyConstraint(['analysis_id'], ['signal_analysis.id'],
                            name=op.f('fk_signal_proposal_analysis_id_signal_analysis'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signal_proposal')),
    sa.UniqueConstraint('analysis_id', 'pattern_id', 'action', name='uq_signal_proposal_once')
    )
    with op.batch_alter_table('signal_proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signal_proposal_analysis_id'), ['analysis_id'], unique=False)
        batch_op.create_index('ix_signal_proposal_status', ['status'], unique=False)
        batch_op.create_index('ix_signal_proposal_hypothesis', ['hypothesis', 'status'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('incident_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('proposal_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_outbox_proposal_id_signal_proposal'), 'signal_proposal',
                                    ['proposal_id'], ['id'], ondelete='CASCADE')
        batch_op.create_unique_constraint('uq_outbox_proposal_once', ['proposal_id', 'url', 'event'])


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE incident_id IS NULL")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint('uq_outbox_proposal_once', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_outbox_proposal_id_signal_proposal'), type_='foreignkey')
        batch_op.drop_column('proposal_id')
        batch_op.alter_column('incident_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('signal_proposal', schema=None) as batch_op:
        batch_op.drop_index('ix_signal_proposal_hypothesis')
        batch_op.drop_index('ix_signal_proposal_status')
        batch_op.drop_index(batch_op.f('ix_signal_proposal_analysis_id'))
    op.drop_table('signal_proposal')
    with op.batch_alter_table('signal_analysis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signal_analysis_created_at'))
    op.drop_table('signal_analysis')
    with op.batch_alter_table('signal_record', schema=None) as batch_op:
        batch_op.drop_index('ix_signal_record_ts')
        batch_op.drop_index('ix_signal_record_merchant_ts')
        batch_op.drop_index('ix_signal_record_type_ts')
    op.drop_table('signal_record')
