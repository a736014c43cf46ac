"""The review window and evergreen posts (issue 15) through the real `xbot` entry point, on the test's store
and the local X stand-in behind the API publisher: a generated post waits, is never published unapproved,
is approved and posts once; an edit is re-validated; a rejection is recorded and the bandit learns from it;
auto-approval; the stale-queue alert; an evergreen post comes back varied after its gap, not before."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from xbot_pipeline.alerts import WebhookSender, evaluate_alerts
from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.defs.alerts.sensors import alerts_sensor
from xbot_pipeline.defs.resources import XbotResource
from xbot_pipeline.learning.evergreen import DEFAULT_VARIATIONS, vary
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.posting.review import approve
from xbot_pipeline.sandbox.server import DEMO_HANDLE
from xbot_pipeline.store.accounts import ensure_account, get_account, set_review
from xbot_pipeline.store.engine import create_store_engine
from xbot_pipeline.store.learning import load_arms, reward_rows
from xbot_pipeline.store.migrate import downgrade, upgrade
from xbot_pipeline.store.posts import get_post, list_posts, set_fields
from xbot_pipeline.store.schema import system_events
from xbot_pipeline_tests import dbutil
from xbot_pipeline_tests.cli.forkserver import Result, run_xbot
from xbot_pipeline_tests.cli.hostile import store_digest
from xbot_pipeline_tests.conftest import BACKEND
from xbot_pipeline_tests.fixtures.health import WebhookReceiver


def xbot(env: dict[str, str], *args: str) -> Result:
    """`xbot ARGS` as a real process, forked from one that imported the CLI once (cli/forkserver.py)."""
    return run_xbot(env, *args)


@pytest.fixture
def env(api_cli_env, clock):
    clock.set(datetime.now(UTC))  # the `xbot` processes run on the real clock
    return {**api_cli_env, "XBOT_LEARNING_POSTS_PER_DAY": "2", "COLUMNS": "250"}


def _ok(out) -> str:
    assert out.returncode == 0, (out.stdout, out.stderr)
    return out.stdout


def _refused(out, words: str) -> None:
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xbot: error: ") and words in lines[0], out.stderr


def test_a_generated_post_waits_is_approved_and_posts_once_and_a_rejection_teaches_the_bandit(
    store, sandbox, env
) -> None:
    ensure_account(store, DEMO_HANDLE, publisher="api")
    assert "review generated (was off)" in _ok(xbot(env, "account-review", DEMO_HANDLE, "generated"))
    # the operator's own post is not held under `generated`
    _ok(xbot(env, "enqueue", "The operator wrote this one, and it goes straight to the queue."))
    assert [p["status"] for p in list_posts(store, DEMO_HANDLE)] == ["queued"]
    _ok(xbot(env, "cancel", str(list_posts(store, DEMO_HANDLE)[0]["id"])))

    _ok(xbot(env, "plan", "--seed", "7"))
    planned = list_posts(store, DEMO_HANDLE, ("awaiting_review",))
    assert len(planned) >= 2 and all(p["origin"] == "planner" for p in planned)
    assert not list_posts(store, DEMO_HANDLE, ("queued",))
    now = store.clock.now()
    for p in planned:  # their slots have come: still nothing goes out unapproved
        set_fields(store, p["id"], now, scheduled_at=now - timedelta(minutes=1))
    _ok(xbot(env, "post"))
    assert sandbox.admin.posts() == [] and len(list_posts(store, DEMO_HANDLE, ("awaiting_review",))) == len(
        planned
    )

    listed = json.loads(_ok(xbot(env, "review", "--json")))
    assert [r["id"] for r in listed] == [p["id"] for p in planned]
    assert all(r["gates_pass"] and r["gates"]["valid"] == "pass" for r in listed)
    table = _ok(xbot(env, "review"))
    assert "Awaiting review" in table and "pass" in table and str(planned[0]["id"]) in table

    keep, drop = planned[:2]
    assert f"approved post {keep['id']}" in _ok(xbot(env, "review", "approve", str(keep["id"])))
    _refused(xbot(env, "review", "approve", str(keep["id"])), "not awaiting review (it is queued)")
    _ok(xbot(env, "post"))
    _ok(xbot(env, "post"))
    live = sandbox.admin.posts()
    assert len(live) == 1 and get_post(store, keep["id"])["status"] == "posted"
    assert get_post(store, drop["id"])["status"] == "awaiting_review"

    out = json.loads(_ok(xbot(env, "review", "reject", str(drop["id"]), "--reason", "off-brand", "--json")))
    assert out["status"] == "rejected" and out["rewarded"] is True
    rejected = get_post(store, drop["id"])
    assert rejected["status"] == "rejected" and "off-brand" in rejected["status_reason"]
    (reward,) = [r for r in reward_rows(store, DEMO_HANDLE) if r["post_id"] == drop["id"]]
    assert reward["reward"] == 0.0 and reward["horizon"] == "review" and reward["applied_at"] is None
    _ok(xbot(env, "learning", "--update"))
    arms = {(a["family"], a["arm"]): a for a in load_arms(store, DEMO_HANDLE)}
    arm = arms[("generator", drop["bandit_arm"])]
    assert arm["observations"] == 1 and arm["beta"] > arm["alpha"]  # a zero reward: all failure
    assert arms[("hour", f"{int(drop['timing_arm'][5:]):02d}")]["observations"] == 1
    _refused(xbot(env, "review", "reject", str(drop["id"])), "not awaiting review (it is rejected)")


def test_an_edit_is_revalidated_and_a_bad_one_changes_nothing(store, env) -> None:
    ensure_account(store, DEMO_HANDLE, publisher="api")
    other = enqueue(store, DEMO_HANDLE, "single", "Some other post that is already in the queue.")
    _ok(xbot(env, "account-review", DEMO_HANDLE, "all"))
    out = _ok(xbot(env, "enqueue", "A post the operator wants a second look at before it goes out."))
    assert "awaits review" in out
    (waiting,) = list_posts(store, DEMO_HANDLE, ("awaiting_review",))
    pid = str(waiting["id"])
    before = store_digest(store)
    _refused(xbot(env, "review", "edit", pid, "--text", "  "), "empty")
    _refused(xbot(env, "review", "edit", pid, "--text", "x" * 300), "weighted characters")
    _refused(xbot(env, "review", "edit", pid, "--text", other["text"]), f"(post {other['id']})")
    _refused(xbot(env, "review", "edit", pid, "--text", "a", "--text", "b"), "exactly one")
    _refused(xbot(env, "review", "edit", "999999", "--text", "fine text"), "post 999999 does not exist")
    assert store_digest(store) == before
    _ok(xbot(env, "review", "edit", pid, "--text", "A better post [v2], rewritten in review."))
    edited = get_post(store, waiting["id"])
    assert (
        edited["text"] == "A better post [v2], rewritten in review." and edited["status"] == "awaiting_review"
    )
    assert "A better post [v2]" in _ok(xbot(env, "review"))  # shown as written, never as Rich markup
    assert edited["content_hash"] != waiting["content_hash"]
    _refused(
        xbot(env, "account-review", DEMO_HANDLE, "sometimes"), "review must be one of off, all, generated"
    )
    assert get_account(store, DEMO_HANDLE)["review"] == "all"


def test_auto_approve_lets_a_post_that_waited_too_long_go_out(store, sandbox, env) -> None:
    ensure_account(store, DEMO_HANDLE, publisher="api")
    _ok(xbot(env, "account-review", DEMO_HANDLE, "all"))
    _ok(xbot(env, "enqueue", "This one waited for review long enough to be approved automatically."))
    _ok(xbot(env, "enqueue", "This one was queued a moment ago and keeps waiting for its review."))
    old, new = list_posts(store, DEMO_HANDLE, ("awaiting_review",))
    set_fields(store, old["id"], store.clock.now(), created_at=store.clock.now() - timedelta(minutes=45))
    _ok(xbot(env, "post"))  # auto-approval is off by default
    assert sandbox.admin.posts() == []
    _ok(xbot({**env, "XBOT_REVIEW_AUTO_APPROVE_MIN": "30"}, "post"))
    assert len(sandbox.admin.posts()) == 1
    assert get_post(store, old["id"])["status"] == "posted"
    assert get_post(store, new["id"])["status"] == "awaiting_review"


def test_a_stale_review_queue_alerts_once_and_resolves(
    store, clock, tracker, webhook: WebhookReceiver
) -> None:
    ensure_account(store, "brand")
    set_review(store, "brand", "all")
    post = enqueue(store, "brand", "single", "A post nobody has reviewed yet, sitting in the queue.")
    sender = WebhookSender(webhook.url, timeout_s=2, attempts=2, backoff_s=0.01)
    thresholds = HealthThresholds()
    evaluate_alerts(store, tracker, sender, thresholds, review_alert_minutes=120)
    assert webhook.texts() == []
    clock.advance(minutes=121)
    result = evaluate_alerts(store, tracker, sender, thresholds, review_alert_minutes=120)
    evaluate_alerts(store, tracker, sender, thresholds, review_alert_minutes=120)
    assert "review_stale:brand" in result.fired
    (text,) = webhook.texts()
    assert text.startswith("[FIRING] Review queue of brand") and "121 min" in text
    events = [e for e in tracker_events(store) if e[0] == "review_queue_stale"]
    assert len(events) == 1 and events[0][1] == "warning"
    approve(store, tracker, post["id"])
    evaluate_alerts(store, tracker, sender, thresholds, review_alert_minutes=120)
    assert webhook.texts()[1:] == ["[RESOLVED] Review queue of brand is worked off"]


def tracker_events(store) -> list[tuple[str, str]]:
    with store.connect() as conn:
        return [
            (r.event_type, r.severity)
            for r in conn.execute(sa.select(system_events).order_by(system_events.c.id))
        ]


def test_an_evergreen_post_comes_back_varied_after_its_gap_and_not_before(store, sandbox, env) -> None:
    ensure_account(store, DEMO_HANDLE, publisher="api")
    text = "Sleep is the cheapest performance enhancer there is: seven hours, every night."
    _ok(xbot(env, "enqueue", "--evergreen", text))
    _ok(xbot(env, "post"))
    (original,) = list_posts(store, DEMO_HANDLE, ("posted",))
    assert original["evergreen"] and original["origin"] == "operator"
    plan_env = {**env, "XBOT_LEARNING_POSTS_PER_DAY": "1"}

    def posted_days_ago(days: float) -> None:
        when = store.clock.now() - timedelta(days=days)
        set_fields(store, original["id"], store.clock.now(), posted_at=when, created_at=when)

    posted_days_ago(10)
    out = _ok(xbot(plan_env, "plan", "--seed", "3"))
    assert "evergreen" not in out
    assert [p for p in list_posts(store, DEMO_HANDLE) if p["evergreen_of"]] == []
    for p in list_posts(store, DEMO_HANDLE, ("queued",)):  # free the plan again
        set_fields(store, p["id"], store.clock.now(), status="cancelled")

    posted_days_ago(31)
    out = _ok(xbot(plan_env, "plan", "--seed", "3"))
    assert "1 evergreen re-queued" in out, out
    (copy,) = [p for p in list_posts(store, DEMO_HANDLE) if p["evergreen_of"] == original["id"]]
    assert copy["origin"] == "evergreen" and copy["status"] == "queued" and not copy["evergreen"]
    assert copy["text"] == vary([text], DEFAULT_VARIATIONS[0])[0] != text
    assert copy["content_hash"] != original["content_hash"]
    again = _ok(xbot(plan_env, "plan", "--seed", "3"))  # a copy is pending: no second one
    assert "evergreen" not in again
    _refused(xbot(env, "evergreen", str(copy["id"]), "on"), "mark the original")
    assert "evergreen off" in _ok(xbot(env, "evergreen", str(original["id"]), "off"))
    assert not get_post(store, original["id"])["evergreen"]


def test_migration_0006_keeps_every_post_and_its_children(tmp_path) -> None:
    """SQLite rebuilds ``posts`` (a CHECK constraint cannot be altered) while four tables reference it and
    foreign keys are on: every row, id and reference must survive, up and down again (on the store the run
    tests: XBOT_TEST_DATABASE)."""
    backend = BACKEND
    if backend == "postgres":
        dbutil.require_postgres()
        url = dbutil.create_pg_database("xbot_m6")
    else:
        url = f"sqlite:///{tmp_path / 'm6.sqlite3'}"
    engine = create_store_engine(url)
    try:
        upgrade(engine, "0005")
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO accounts (id, handle, publisher, status, limits, created_at, updated_at) "
                    "VALUES ('a', 'a', 'api', 'active', '{}', :t, :t)"
                ),
                {"t": now},
            )
            for i, status in ((1, "posted"), (2, "queued"), (7, "cancelled")):
                conn.execute(
                    sa.text(
                        "INSERT INTO posts (id, account_id, kind, text, status, scheduled_at, attempt_count, "
                        "content_hash, normalized_text, created_at, updated_at) VALUES "
                        "(:i, 'a', 'single', :x, :s, :t, 0, :h, :x, :t, :t)"
                    ),
                    {"i": i, "x": f"post {i}", "s": status, "t": now, "h": f"h{i}"},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO post_attempts (post_id, account_id, attempt_no, publisher, content_hash, "
                    "started_at, outcome) VALUES (1, 'a', 1, 'api', 'h1', :t, 'posted')"
                ),
                {"t": now},
            )
        upgrade(engine)
        with engine.begin() as conn:
            rows = conn.execute(sa.text("SELECT id, status, origin, evergreen FROM posts ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [
                (1, "posted", "operator", False),
                (2, "queued", "operator", False),
                (7, "cancelled", "operator", False),
            ]
            assert conn.execute(sa.text("SELECT post_id FROM post_attempts")).scalar_one() == 1
            conn.execute(sa.text("UPDATE posts SET status = 'awaiting_review' WHERE id = 2"))
            conn.execute(sa.text("UPDATE posts SET status = 'rejected', evergreen_of = 1 WHERE id = 7"))
            assert conn.execute(sa.text("SELECT review FROM accounts")).scalar_one() == "off"
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:  # foreign keys still enforced
            conn.execute(sa.text("UPDATE posts SET evergreen_of = 999 WHERE id = 2"))
        downgrade(engine, "0005")
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, status FROM posts ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "posted"), (2, "queued"), (7, "cancelled")]
        upgrade(engine)
    finally:
        engine.dispose()
        if backend == "postgres":
            dbutil.drop_pg_database(url)


def test_the_alerts_sensor_warns_about_a_stale_review_queue(
    store,
    clock,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    xbot_home,
) -> None:
    """The rule reaches the operator the way every alert does: a tick of the real `alerts_sensor`."""
    monkeypatch.setenv("XBOT_HOME", str(xbot_home))
    monkeypatch.setenv("XBOT_ALERT_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("XBOT_REVIEW_ALERT_MIN", "60")
    clock.set(datetime.now(UTC) - timedelta(minutes=90))  # queued 90 min ago (the sensor runs on real time)
    ensure_account(store, "brand")
    set_review(store, "brand", "generated")
    enqueue(store, "brand", "single", "A planned post nobody has looked at yet.", origin="planner")
    resource = XbotResource(database_url=database_url, home=str(xbot_home))
    defs = dg.Definitions(sensors=[alerts_sensor], resources={"xbot": resource})
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, definitions=defs, sensor_name="alerts_sensor", resources={"xbot": resource}
        )
        result = defs.resolve_sensor_def("alerts_sensor").evaluate_tick(context)
    assert result.skip_message and result.skip_message.startswith("sent 1"), result.skip_message
    (text,) = webhook.texts()
    assert text.startswith("[FIRING] Review queue of brand: the oldest post has waited 90 min (> 60 min)")
    assert ("review_queue_stale", "warning") in tracker_events(store)
