"""post_media: images and GIFs queued with a post (content-addressed files), their alt text and the cached
upload (X's media id and its expiry) so a retry reuses a valid id instead of uploading again

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

import xbot_pipeline.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "post_media",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("alt_text", sa.Text(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("media_id", sa.String(length=32), nullable=True),
        sa.Column("media_expires_at", xbot_pipeline.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("media_attempt_no", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_post_media_post_id_posts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_media")),
        sa.UniqueConstraint("post_id", "part", "position", name=op.f("uq_post_media_post_id_part_position")),
    )


def downgrade() -> None:
    op.drop_table("post_media")
