"""OAuth 1.0a user context: `xbot auth login --oauth1` checks the keys against X and stores them; posts are
signed by authlib and verified by the stand-in; a wrong secret is one clear line at login, and keys that
stop working later pause the account with one critical error (queued posts wait)."""

from __future__ import annotations

import sqlalchemy as sa

from xbot_pipeline.auth.login import save_oauth1
from xbot_pipeline.clock import SystemClock
from xbot_pipeline.passes.from_settings import posting_pass
from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.runtime import open_runtime
from xbot_pipeline.store.accounts import get_account
from xbot_pipeline.store.credentials import get_credentials
from xbot_pipeline.store.posts import list_posts
from xbot_pipeline.store.schema import system_events
from xbot_pipeline_tests.auth.conftest import ACCOUNT, HANDLE, api_account, xbot


def _keys_env(auth_env: dict[str, str], keys: dict[str, str]) -> dict[str, str]:
    return {
        **auth_env,
        "XBOT_X_CONSUMER_KEY": keys["consumer_key"],
        "XBOT_X_CONSUMER_SECRET": keys["consumer_secret"],
        "XBOT_X_ACCESS_TOKEN": keys["access_token"],
        "XBOT_X_ACCESS_TOKEN_SECRET": keys["access_token_secret"],
    }


def test_oauth1_login_and_signed_posts(real_store, x, auth_env, auth_settings):
    api_account(real_store)
    keys = x.admin.oauth1_keys(HANDLE)
    wrong = xbot(
        _keys_env(auth_env, {**keys, "consumer_secret": "not-the-secret"}),
        "auth",
        "login",
        ACCOUNT,
        "--oauth1",
    )
    assert wrong.returncode == 2 and wrong.stderr.strip().count("\n") == 0, wrong.stderr
    assert "refused the OAuth 1.0a signature" in wrong.stderr and "not-the-secret" not in wrong.stderr
    assert get_credentials(real_store, ACCOUNT) is None  # nothing stored

    out = xbot(_keys_env(auth_env, keys), "auth", "login", ACCOUNT, "--oauth1")
    assert out.returncode == 0, out.stderr
    assert "signed in with OAuth 1.0a" in out.stdout and f"@{HANDLE}" in out.stdout
    assert get_credentials(real_store, ACCOUNT)["kind"] == "oauth1"

    enqueue(real_store, ACCOUNT, "single", "signed with OAuth 1.0a")
    enqueue(real_store, ACCOUNT, "thread", ["an OAuth 1.0a thread, part one", "and part two"])
    posting_pass(open_runtime(auth_settings, clock=SystemClock()))
    assert all(p["status"] == "posted" for p in list_posts(real_store, ACCOUNT))
    live = {p["text"] for p in x.admin.posts(HANDLE)}
    assert {"signed with OAuth 1.0a", "an OAuth 1.0a thread, part one", "and part two"} <= live


def test_oauth1_keys_that_stop_working_pause_the_account(real_store, x, vault, auth_settings):
    api_account(real_store)
    keys = x.admin.oauth1_keys(HANDLE)
    save_oauth1(real_store, vault, ACCOUNT, {**keys, "access_token_secret": "rotated-on-x"})
    enqueue(real_store, ACCOUNT, "single", "this one waits for new keys")
    posting_pass(open_runtime(auth_settings, clock=SystemClock()))
    account = get_account(real_store, ACCOUNT)
    assert account["status"] == "paused" and "OAuth 1.0a signature" in account["status_reason"]
    assert f"xbot auth login {ACCOUNT} --oauth1" in account["status_reason"]
    assert [p["status"] for p in list_posts(real_store, ACCOUNT)] == ["blocked"]
    with real_store.connect() as conn:
        errors = conn.execute(
            sa.select(system_events).where(system_events.c.is_error, system_events.c.account_id == ACCOUNT)
        ).all()
    assert len(errors) == 1 and errors[0].severity == "critical"  # one clear error
    assert x.admin.posts(HANDLE) == []
