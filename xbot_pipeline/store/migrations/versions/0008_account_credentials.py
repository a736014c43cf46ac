"""account_credentials: each account's X sign-in (OAuth 2.0, OAuth 1.0a or a static bearer token)

Secrets are sealed before they reach this table (auth/vault.py): Fernet-encrypted with XBOT_SECRET_KEY,
or, on the embedded SQLite default without a key, kept in a 0600 file and only referenced here.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from xbot_pipeline.store.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_credentials",
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("client_id", sa.String(128)),
        sa.Column("confidential", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("scopes", sa.Text),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("expires_at", UTCDateTime),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("refresh_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("refreshed_at", UTCDateTime),
        sa.Column("status", sa.String(16), nullable=False, server_default="ok"),
        sa.Column("status_reason", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_credentials")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_credentials_account_id_accounts")
        ),
        sa.CheckConstraint(
            "kind IN ('oauth2', 'oauth1', 'bearer')", name=op.f("ck_account_credentials_kind")
        ),
    )


def downgrade() -> None:
    op.drop_table("account_credentials")
