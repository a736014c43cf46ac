"""The operational store's tables (SQLAlchemy Core).

Multi-account from day one: every operational row names its ``account_id``. Migrations in
``store/migrations`` create exactly these tables; ``test_schema_matches_migrations`` keeps them in step.
"""

from __future__ import annotations

import sqlalchemy as sa

from xbot_pipeline.store.types import JSONType, UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

POST_KINDS = ("single", "thread", "reply")
POST_STATUSES = (
    "awaiting_review",  # the account reviews posts of this origin: waits for `xbot review approve`
    "queued",  # waiting for its slot
    "posting",  # claimed by a run; the publisher may be talking to X right now
    "posted",  # live on X (tweet_id may still be missing: see recovery)
    "retry_pending",  # failed retryably; next_attempt_at says when
    "unknown",  # the outcome of an attempt is unknown: recovery must reconcile before anything else
    "failed",  # gave up after the retry ladder
    "failed_permanent",  # rejected for a reason retries cannot fix
    "cancelled",  # by the operator
    "blocked",  # the account is paused or cooling down
    "skipped",  # expired (stale) before it could go out
    "rejected",  # refused in review by the operator (migration 0006)
)
# Who wrote a post: the operator (`xbot enqueue`), the planner (template or LLM generators), or the
# planner re-queuing an evergreen post with a variation. Review mode `generated` holds the last two.
POST_ORIGINS = ("operator", "planner", "evergreen")
REVIEW_MODES = ("off", "all", "generated")
SEVERITIES = ("info", "warning", "error", "critical")
ATTEMPT_OUTCOMES = ("pending", "posted", "posted_no_id", "rejected", "retryable", "unknown")

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("handle", sa.String(64), nullable=False),
    sa.Column("x_user_id", sa.String(32)),
    sa.Column("publisher", sa.String(16), nullable=False, server_default="api"),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),  # active|paused|cooldown
    sa.Column("status_reason", sa.Text),
    sa.Column("cooldown_until", UTCDateTime),
    sa.Column("limits", JSONType, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("review", sa.String(16), nullable=False, server_default="off"),  # off|all|generated (0006)
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

posts = sa.Table(
    "posts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("text", sa.Text, nullable=False),  # single/reply text; a thread's first part
    sa.Column("parts", JSONType),  # thread: list of part texts (first equals ``text``)
    sa.Column("reply_to_tweet_id", sa.String(24)),
    sa.Column("status", sa.String(20), nullable=False, server_default="queued"),
    sa.Column("status_reason", sa.Text),
    sa.Column("scheduled_at", UTCDateTime, nullable=False),
    sa.Column("claimed_at", UTCDateTime),
    sa.Column("claimed_by", sa.String(128)),
    sa.Column("posted_at", UTCDateTime),
    sa.Column("tweet_id", sa.String(24)),  # snowflake as text, never a float
    sa.Column("tweet_ids", JSONType),  # thread: one id per part, in order
    sa.Column("attempt_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("generator", sa.String(64)),
    sa.Column("bandit_arm", sa.String(128)),
    sa.Column("timing_arm", sa.String(32)),
    sa.Column("propensity", sa.Float),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("normalized_text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # migration 0006: who wrote it, evergreen (the planner may re-queue it), the original of a copy
    sa.Column("origin", sa.String(16), nullable=False, server_default="operator"),
    sa.Column("evergreen", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("evergreen_of", sa.Integer, sa.ForeignKey("posts.id")),
    # `xbot import`'s stable row key (migration 0007): unique, so a file imported twice, or by two
    # processes at once, adds each row once. NULL for posts from enqueue and the planner.
    sa.Column("import_key", sa.String(128)),
    sa.CheckConstraint(f"kind IN {POST_KINDS!r}", name="kind"),
    sa.CheckConstraint(f"status IN {POST_STATUSES!r}", name="status"),
    sa.Index("ix_posts_due", "account_id", "status", "scheduled_at"),
    sa.Index("ix_posts_status_claimed", "status", "claimed_at"),
    sa.Index("ix_posts_account_posted", "account_id", "posted_at"),
    sa.Index("ix_posts_hash", "account_id", "content_hash"),
    sa.Index("ix_posts_tweet_id", "tweet_id"),
    sa.Index("ix_posts_evergreen_of", "evergreen_of"),
    sa.Index("ux_posts_import_key", "import_key", unique=True),
)

post_attempts = sa.Table(
    "post_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id"), nullable=False),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("attempt_no", sa.Integer, nullable=False),
    sa.Column("publisher", sa.String(16), nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("outcome", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("tweet_id", sa.String(24)),
    sa.Column("error_type", sa.String(64)),
    sa.Column("root_cause", sa.String(32)),
    sa.Column("error_message", sa.Text),
    sa.CheckConstraint(f"outcome IN {ATTEMPT_OUTCOMES!r}", name="outcome"),
    sa.UniqueConstraint("post_id", "attempt_no"),
    sa.Index("ix_post_attempts_outcome", "outcome", "started_at"),
    sa.Index("ix_post_attempts_account_started", "account_id", "started_at"),
)

system_events = sa.Table(
    "system_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("event_type", sa.String(128), nullable=False),
    sa.Column("event_data", JSONType, nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("event_uid", sa.String(32), nullable=False, unique=True),  # dedups spool replays
    # Not "component"/"error_type": the seed's queries alias event_data keys to those names and GROUP BY
    # them; a real column of the same name would win over the alias and Postgres would reject the query.
    sa.Column("event_component", sa.String(64)),
    sa.Column("event_error_type", sa.String(64)),
    sa.Column("fingerprint", sa.String(16)),
    sa.Column("account_id", sa.String(64)),
    sa.Column("subject", sa.String(64)),  # what the event is about, e.g. "post:42", for recovery marking
    sa.Column("is_error", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("recovered", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("recovered_at", UTCDateTime),
    sa.Column("recovery_time_ms", sa.BigInteger),
    sa.CheckConstraint(f"severity IN {SEVERITIES!r}", name="severity"),
    sa.Index("ix_system_events_type_created", "event_type", "created_at"),
    sa.Index("ix_system_events_severity_created", "severity", "created_at"),
    sa.Index("ix_system_events_created", "created_at"),
    sa.Index("ix_system_events_fingerprint", "fingerprint", "created_at"),
    sa.Index("ix_system_events_errors_open", "is_error", "recovered", "event_component", "event_error_type"),
    sa.Index("ix_system_events_subject", "subject"),
    sa.Index("ix_system_events_recovered_at", "recovered_at"),  # migration 0005
)

post_metrics = sa.Table(
    "post_metrics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id"), nullable=False),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("tweet_id", sa.String(24), nullable=False),
    sa.Column("horizon", sa.String(8), nullable=False),  # 1h|6h|24h|48h|adhoc
    sa.Column("collected_at", UTCDateTime, nullable=False),
    sa.Column("impressions", sa.Integer, nullable=False, server_default="0"),
    sa.Column("likes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reposts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("replies", sa.Integer, nullable=False, server_default="0"),
    sa.Column("quotes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("bookmarks", sa.Integer, nullable=False, server_default="0"),
    sa.Column("followers", sa.Integer),
    sa.Index("ix_post_metrics_post_horizon", "post_id", "horizon"),
    sa.Index("ix_post_metrics_collected", "collected_at"),
)

circuit_breakers = sa.Table(
    "circuit_breakers",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("publisher", sa.String(16), primary_key=True),
    sa.Column("state", sa.String(12), nullable=False, server_default="closed"),  # closed|open|half_open
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("open_count", sa.Integer, nullable=False, server_default="0"),  # for the doubling wait
    sa.Column("opened_at", UTCDateTime),
    sa.Column("open_until", UTCDateTime),
    sa.Column("forced_until", UTCDateTime),  # forced open until a known rate-limit reset
    sa.Column("probe_started_at", UTCDateTime),
    sa.Column("reason", sa.Text),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),  # e.g. "browser:<account>"
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("purpose", sa.String(32), nullable=False, server_default="other"),
    sa.Column("acquired_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

# Small persisted state that must survive restarts (spike counters, alert routing, bandit posteriors...),
# keyed by namespace + key. Domains that need real tables add them in their own migration.
kv_state = sa.Table(
    "kv_state",
    metadata,
    sa.Column("namespace", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("value", JSONType, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# -- learning (migration 0004) ------------------------------------------------------------------------
# Each horizon of a post is measured once (append-only); 'adhoc' reads may repeat.
sa.Index(
    "ux_post_metrics_once",
    post_metrics.c.post_id,
    post_metrics.c.horizon,
    unique=True,
    sqlite_where=sa.text("horizon != 'adhoc'"),
    postgresql_where=sa.text("horizon != 'adhoc'"),
)

# Drafts a quality gate refused before they reached the queue, with the reason.
content_rejections = sa.Table(
    "content_rejections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("generator", sa.String(64), nullable=False),
    sa.Column("gate", sa.String(32), nullable=False),  # length|near_duplicate|banned_phrase|thread_shape|...
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("similar_post_id", sa.Integer),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_content_rejections_account_created", "account_id", "created_at"),
    sa.Index("ix_content_rejections_gate_created", "gate", "created_at"),
)

# How the planner chose each planned post: arms, their probabilities and the choice set (for IPS).
plan_decisions = sa.Table(
    "plan_decisions",
    metadata,
    sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id"), primary_key=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("policy", sa.String(32), nullable=False),
    sa.Column("generator", sa.String(64), nullable=False),
    sa.Column("hour", sa.Integer, nullable=False),
    sa.Column("p_generator", sa.Float, nullable=False),
    sa.Column("p_hour", sa.Float, nullable=False),
    sa.Column("propensity", sa.Float, nullable=False),
    sa.Column("generators", JSONType, nullable=False),  # the generator arms that could be chosen
    sa.Column("hours", JSONType, nullable=False),  # the hour slots that were free
    sa.Column("planned_at", UTCDateTime, nullable=False),
    sa.Index("ix_plan_decisions_account_planned", "account_id", "planned_at"),
)

# One row per published post: its arms (hour from posted_at) and, once measured, its 24 h reward.
post_rewards = sa.Table(
    "post_rewards",
    metadata,
    sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id"), primary_key=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("generator", sa.String(64)),
    sa.Column("hour", sa.Integer, nullable=False),  # UTC hour of posted_at
    sa.Column("posted_at", UTCDateTime, nullable=False),
    sa.Column("propensity", sa.Float),
    sa.Column("horizon", sa.String(8), nullable=False, server_default="24h"),
    sa.Column("impressions", sa.Integer),
    sa.Column("engagements", sa.Integer),  # likes + reposts + replies
    sa.Column("engagement_rate", sa.Float),
    sa.Column("reward", sa.Float),  # in [0, 1]; NULL until measured
    sa.Column("success", sa.Boolean),  # the seed's line: engagement rate > 3 %
    sa.Column("measured_at", UTCDateTime),
    sa.Column("applied_at", UTCDateTime),  # folded into bandit_arms
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_post_rewards_account_applied", "account_id", "applied_at"),
)

# The persisted Beta posteriors (generator arms and hour-of-day arms), discounted over time.
bandit_arms = sa.Table(
    "bandit_arms",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("family", sa.String(16), primary_key=True),  # generator | hour
    sa.Column("arm", sa.String(64), primary_key=True),
    sa.Column("alpha", sa.Float, nullable=False),
    sa.Column("beta", sa.Float, nullable=False),
    sa.Column("n_eff", sa.Float, nullable=False, server_default="0"),  # discounted observation count
    sa.Column("observations", sa.Integer, nullable=False, server_default="0"),  # undiscounted
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("alpha > 0 AND beta > 0", name="positive"),
)

follower_snapshots = sa.Table(
    "follower_snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("collected_at", UTCDateTime, nullable=False),
    sa.Column("followers", sa.Integer, nullable=False),
    sa.Index("ix_follower_snapshots_account_collected", "account_id", "collected_at"),
)

# -- media (migration 0009) ------------------------------------------------------------------------
# Images / a GIF queued with a post: one row per file per thread part (``part`` counts from 1), the file
# content-addressed by ``sha256`` at ``path``; ``media_id``/``media_expires_at`` cache the upload to X so
# a retry reuses a still-valid id (``media_attempt_no``: the attempt that uploaded it).
post_media = sa.Table(
    "post_media",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id"), nullable=False),
    sa.Column("part", sa.Integer, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("mime", sa.String(32), nullable=False),
    sa.Column("alt_text", sa.Text),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("media_id", sa.String(32)),
    sa.Column("media_expires_at", UTCDateTime),
    sa.Column("media_attempt_no", sa.Integer),
    sa.UniqueConstraint("post_id", "part", "position"),
)

# -- X's posting budget (migration 0010) -------------------------------------------------------------
# What X's 24-hour post caps said last: scope 'user' (key: our account id) or 'app' (key: the X app).
x_budgets = sa.Table(
    "x_budgets",
    metadata,
    sa.Column("scope", sa.String(8), primary_key=True),  # user | app
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("cap", sa.Integer),  # x-...-24hour-limit
    sa.Column("remaining", sa.Integer),  # x-...-24hour-remaining after the last answer
    sa.Column("reset_at", UTCDateTime),  # x-...-24hour-reset
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("scope IN ('user', 'app')", name="scope"),
)

# -- sign-in (migration 0008) -------------------------------------------------------------------------
CREDENTIAL_KINDS = ("oauth2", "oauth1", "bearer")

# One account's X credentials. ``sealed`` holds the secrets (tokens, client secret, OAuth 1.0a keys) as
# auth/vault.py sealed them: never plain text. ``version`` grows with every stored token pair, so a
# refresh stores its pair only over the version it read (single-use refresh tokens rotate).
account_credentials = sa.Table(
    "account_credentials",
    metadata,
    sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.id"), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # oauth2 | oauth1 | bearer
    sa.Column("client_id", sa.String(128)),
    sa.Column("confidential", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("scopes", sa.Text),
    sa.Column("sealed", sa.Text, nullable=False),
    sa.Column("expires_at", UTCDateTime),  # the access token's expiry (OAuth 2.0 only)
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("refresh_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("refreshed_at", UTCDateTime),
    sa.Column("status", sa.String(16), nullable=False, server_default="ok"),  # ok | refused
    sa.Column("status_reason", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(f"kind IN {CREDENTIAL_KINDS!r}", name="kind"),
)
