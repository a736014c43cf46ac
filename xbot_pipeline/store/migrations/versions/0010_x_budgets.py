"""x_budgets: what X's 24-hour post caps (per account and per X app) said in their last answer

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from xbot_pipeline.store.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "x_budgets",
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("cap", sa.Integer(), nullable=True),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("reset_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope IN ('user', 'app')", name=op.f("ck_x_budgets_scope")),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_x_budgets")),
    )


def downgrade() -> None:
    op.drop_table("x_budgets")
