"""posts.import_key: the stable row key of `xbot import`, unique, so importing a file twice adds nothing

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, never a batch "move and copy": on SQLite that rebuilds ``posts``, and dropping the old
# table fails while four tables reference it with foreign keys on. SQLite (3.35+) adds and drops an
# unindexed column in place.


def upgrade() -> None:
    op.add_column("posts", sa.Column("import_key", sa.String(128), nullable=True))
    # NULLs are distinct in a unique index (SQLite and Postgres): posts from enqueue/the planner have none.
    op.create_index("ux_posts_import_key", "posts", ["import_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_posts_import_key", table_name="posts")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE posts DROP COLUMN import_key")
    else:
        op.drop_column("posts", "import_key")
