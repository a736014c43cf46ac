"""review window and evergreen posts: accounts.review; posts.origin, evergreen, evergreen_of; statuses
awaiting_review and rejected

Revision ID: 0006
Revises: 0005

SQLite cannot alter a CHECK constraint, and its batch mode (copy, drop, rename) fails here: ``posts`` is
the parent of four tables and the store runs with ``foreign_keys=ON`` (which cannot be switched off inside
the migration's transaction). So on SQLite the table is rebuilt by hand with deferred foreign keys: copy
the rows aside, drop ``posts``, create it anew, insert the rows back (which satisfies the children again
before the commit checks them).
"""

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xbot_pipeline.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_STATUSES = (
    "queued",
    "posting",
    "posted",
    "retry_pending",
    "unknown",
    "failed",
    "failed_permanent",
    "cancelled",
    "blocked",
    "skipped",
)
NEW_STATUSES = ("awaiting_review", *OLD_STATUSES, "rejected")
OLD_COLUMNS = (
    "id, account_id, kind, text, parts, reply_to_tweet_id, status, status_reason, scheduled_at, claimed_at, "
    "claimed_by, posted_at, tweet_id, tweet_ids, attempt_count, next_attempt_at, generator, bandit_arm, "
    "timing_arm, propensity, content_hash, normalized_text, created_at, updated_at"
)
INDEXES = (
    ("ix_posts_account_posted", ["account_id", "posted_at"]),
    ("ix_posts_due", ["account_id", "status", "scheduled_at"]),
    ("ix_posts_hash", ["account_id", "content_hash"]),
    ("ix_posts_status_claimed", ["status", "claimed_at"]),
    ("ix_posts_tweet_id", ["tweet_id"]),
)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, xbot_pipeline.store.types.UTCDateTime(timezone=True), nullable=nullable)


def _status_check(statuses: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


def _new_columns() -> list[sa.Column]:
    return [
        sa.Column("origin", sa.String(length=16), server_default="operator", nullable=False),
        sa.Column("evergreen", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("evergreen_of", sa.Integer(), nullable=True),
    ]


def _posts_table(statuses: tuple[str, ...], extra: bool) -> None:
    """``posts`` as of 0005 (``extra=False``) or 0006."""
    columns: list[Any] = [
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("parts", JSON, nullable=True),
        sa.Column("reply_to_tweet_id", sa.String(length=24), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="queued", nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        _ts("scheduled_at", nullable=False),
        _ts("claimed_at"),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        _ts("posted_at"),
        sa.Column("tweet_id", sa.String(length=24), nullable=True),
        sa.Column("tweet_ids", JSON, nullable=True),
        sa.Column("attempt_count", sa.Integer(), server_default="0", nullable=False),
        _ts("next_attempt_at"),
        sa.Column("generator", sa.String(length=64), nullable=True),
        sa.Column("bandit_arm", sa.String(length=128), nullable=True),
        sa.Column("timing_arm", sa.String(length=32), nullable=True),
        sa.Column("propensity", sa.Float(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("normalized_text", sa.Text(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
    ]
    constraints: list[Any] = [
        sa.CheckConstraint("kind IN ('single', 'thread', 'reply')", name=op.f("ck_posts_kind")),
        sa.CheckConstraint(_status_check(statuses), name=op.f("ck_posts_status")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_posts_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    ]
    if extra:
        columns += _new_columns()
        constraints.append(
            sa.ForeignKeyConstraint(["evergreen_of"], ["posts.id"], name=op.f("fk_posts_evergreen_of_posts"))
        )
    op.create_table("posts", *columns, *constraints)
    for name, cols in INDEXES:
        op.create_index(name, "posts", cols)
    if extra:
        op.create_index("ix_posts_evergreen_of", "posts", ["evergreen_of"])


def _rebuild_sqlite(create: Callable[[], None], copy_columns: str) -> None:
    bind = op.get_bind()
    # pysqlite opens its transaction only before DML; the deferred foreign keys need one open
    op.execute("UPDATE posts SET id = id WHERE 1 = 0")
    op.execute("PRAGMA defer_foreign_keys = ON")
    bind.exec_driver_sql("DROP TABLE IF EXISTS _posts_0006")
    bind.exec_driver_sql("CREATE TABLE _posts_0006 AS SELECT * FROM posts")
    op.drop_table("posts")  # its indexes go with it
    create()
    bind.exec_driver_sql(f"INSERT INTO posts ({copy_columns}) SELECT {copy_columns} FROM _posts_0006")
    bind.exec_driver_sql("DROP TABLE _posts_0006")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(lambda: _posts_table(NEW_STATUSES, extra=True), OLD_COLUMNS)
        op.add_column(
            "accounts", sa.Column("review", sa.String(length=16), server_default="off", nullable=False)
        )
        return
    op.drop_constraint(op.f("ck_posts_status"), "posts", type_="check")
    op.create_check_constraint(op.f("ck_posts_status"), "posts", _status_check(NEW_STATUSES))
    for column in _new_columns():
        op.add_column("posts", column)
    op.create_foreign_key(op.f("fk_posts_evergreen_of_posts"), "posts", "posts", ["evergreen_of"], ["id"])
    op.create_index("ix_posts_evergreen_of", "posts", ["evergreen_of"])
    op.add_column("accounts", sa.Column("review", sa.String(length=16), server_default="off", nullable=False))


def downgrade() -> None:
    op.execute("UPDATE posts SET status = 'queued' WHERE status = 'awaiting_review'")
    op.execute("UPDATE posts SET status = 'cancelled' WHERE status = 'rejected'")
    op.execute("UPDATE posts SET evergreen_of = NULL")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(lambda: _posts_table(OLD_STATUSES, extra=False), OLD_COLUMNS)
        op.execute("ALTER TABLE accounts DROP COLUMN review")
        return
    op.drop_column("accounts", "review")
    op.drop_index("ix_posts_evergreen_of", table_name="posts")
    op.drop_constraint(op.f("fk_posts_evergreen_of_posts"), "posts", type_="foreignkey")
    for column in ("evergreen_of", "evergreen", "origin"):
        op.drop_column("posts", column)
    op.drop_constraint(op.f("ck_posts_status"), "posts", type_="check")
    op.create_check_constraint(op.f("ck_posts_status"), "posts", _status_check(OLD_STATUSES))
