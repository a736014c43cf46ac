"""index system_events.recovered_at: incremental health runs and snapshot syncs read recent recoveries

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("system_events", schema=None) as batch_op:
        batch_op.create_index("ix_system_events_recovered_at", ["recovered_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("system_events", schema=None) as batch_op:
        batch_op.drop_index("ix_system_events_recovered_at")
