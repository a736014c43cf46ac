"""learning tables: content rejections, plan decisions, post rewards, bandit arms, follower snapshots;
post_metrics horizons unique (except 'adhoc')

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xbot_pipeline.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, xbot_pipeline.store.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_index(
        "ux_post_metrics_once",
        "post_metrics",
        ["post_id", "horizon"],
        unique=True,
        sqlite_where=sa.text("horizon != 'adhoc'"),
        postgresql_where=sa.text("horizon != 'adhoc'"),
    )
    op.create_table(
        "content_rejections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("generator", sa.String(length=64), nullable=False),
        sa.Column("gate", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("similar_post_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_rejections")),
    )
    op.create_index(
        "ix_content_rejections_account_created", "content_rejections", ["account_id", "created_at"]
    )
    op.create_index("ix_content_rejections_gate_created", "content_rejections", ["gate", "created_at"])
    op.create_table(
        "plan_decisions",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=32), nullable=False),
        sa.Column("generator", sa.String(length=64), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("p_generator", sa.Float(), nullable=False),
        sa.Column("p_hour", sa.Float(), nullable=False),
        sa.Column("propensity", sa.Float(), nullable=False),
        sa.Column("generators", JSON, nullable=False),
        sa.Column("hours", JSON, nullable=False),
        _ts("planned_at"),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_plan_decisions_post_id_posts")),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_plan_decisions")),
    )
    op.create_index("ix_plan_decisions_account_planned", "plan_decisions", ["account_id", "planned_at"])
    op.create_table(
        "post_rewards",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("generator", sa.String(length=64), nullable=True),
        sa.Column("hour", sa.Integer(), nullable=False),
        _ts("posted_at"),
        sa.Column("propensity", sa.Float(), nullable=True),
        sa.Column("horizon", sa.String(length=8), server_default="24h", nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=True),
        sa.Column("engagements", sa.Integer(), nullable=True),
        sa.Column("engagement_rate", sa.Float(), nullable=True),
        sa.Column("reward", sa.Float(), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=True),
        _ts("measured_at", True),
        _ts("applied_at", True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_post_rewards_post_id_posts")),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_post_rewards")),
    )
    op.create_index("ix_post_rewards_account_applied", "post_rewards", ["account_id", "applied_at"])
    op.create_table(
        "bandit_arms",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("family", sa.String(length=16), nullable=False),
        sa.Column("arm", sa.String(length=64), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("beta", sa.Float(), nullable=False),
        sa.Column("n_eff", sa.Float(), server_default="0", nullable=False),
        sa.Column("observations", sa.Integer(), server_default="0", nullable=False),
        _ts("updated_at"),
        sa.CheckConstraint("alpha > 0 AND beta > 0", name=op.f("ck_bandit_arms_positive")),
        sa.PrimaryKeyConstraint("account_id", "family", "arm", name=op.f("pk_bandit_arms")),
    )
    op.create_table(
        "follower_snapshots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        _ts("collected_at"),
        sa.Column("followers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follower_snapshots")),
    )
    op.create_index(
        "ix_follower_snapshots_account_collected", "follower_snapshots", ["account_id", "collected_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_follower_snapshots_account_collected", table_name="follower_snapshots")
    op.drop_table("follower_snapshots")
    op.drop_table("bandit_arms")
    op.drop_index("ix_post_rewards_account_applied", table_name="post_rewards")
    op.drop_table("post_rewards")
    op.drop_index("ix_plan_decisions_account_planned", table_name="plan_decisions")
    op.drop_table("plan_decisions")
    op.drop_index("ix_content_rejections_gate_created", table_name="content_rejections")
    op.drop_index("ix_content_rejections_account_created", table_name="content_rejections")
    op.drop_table("content_rejections")
    op.drop_index("ux_post_metrics_once", table_name="post_metrics")
