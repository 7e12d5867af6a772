"""Incidents grouped by cause: the cause they group on (the dedup key when set), their symptoms' metrics and
the scope their figures are measured in.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cause_key', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('symptom_metrics', JSON, nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('scope', sa.String(length=1000), nullable=True))
        batch_op.create_index('ix_incident_workspace_cause', ['workspace_id', 'cause_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_workspace_cause')
        batch_op.drop_column('scope')
        batch_op.drop_column('symptom_metrics')
        batch_op.drop_column('cause_key')
