"""`xbot accounts add`, `xbot auth login` (PKCE through the local callback, and pasted) and `xbot auth
status`, through the real console entry point against the stand-in's authorize and token endpoints."""

from __future__ import annotations

import os
import stat

import httpx
import pytest

from xbot_pipeline.auth.errors import AuthError, AuthRefused, VaultError
from xbot_pipeline.auth.oauth2 import XApp, code_from_redirect, start_login
from xbot_pipeline.auth.provider import TokenProvider
from xbot_pipeline.auth.vault import FileVault, make_vault
from xbot_pipeline.clock import SystemClock
from xbot_pipeline.store.accounts import get_account
from xbot_pipeline.store.credentials import get_credentials
from xbot_pipeline_tests.auth.conftest import ACCOUNT, HANDLE, api_account, sign_in, xbot, xbot_popen
from xbot_pipeline_tests.conftest import BACKEND


def _authorize_url(proc) -> str:
    for _ in range(10):
        line = proc.stdout.readline()
        if line.startswith("http"):
            return line.strip()
    raise AssertionError(f"no authorize URL printed; stderr: {proc.stderr.read()}")


def test_accounts_add_then_login_through_the_local_callback(store, x, auth_env):
    out = xbot(auth_env, "accounts", "add", ACCOUNT, "--publisher", "api", "--handle", f"@{HANDLE}")
    assert out.returncode == 0, out.stderr
    assert get_account(store, ACCOUNT)["handle"] == HANDLE

    proc = xbot_popen(auth_env, "auth", "login", ACCOUNT, "--client-id", "sbx-public-client", "--port", "0")
    try:
        url = _authorize_url(proc)
        params = httpx.URL(url).params
        assert params["code_challenge_method"] == "S256" and params["code_challenge"]
        assert params["scope"] == "tweet.read tweet.write users.read offline.access media.write"
        redirect = x.admin.approve(url, HANDLE)  # the user clicks "Authorize app"
        assert httpx.get(redirect, timeout=10).status_code == 200  # the browser follows the redirect
        out_text, err_text = proc.communicate(timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err_text
    assert "signed in with OAuth 2.0 (public client" in out_text and "refresh token stored" in out_text

    row = get_credentials(store, ACCOUNT)
    assert row is not None and row["kind"] == "oauth2" and row["status"] == "ok"
    assert "sbx-at-" not in row["sealed"] and "sbx-rt-" not in row["sealed"]  # sealed, not plain
    if BACKEND == "sqlite":  # no key on the embedded default: a 0600 file under XBOT_HOME
        path = FileVault(auth_env_home(auth_env) / "credentials").path(ACCOUNT)
        assert row["sealed"] == "file" and stat.S_IMODE(os.stat(path).st_mode) == 0o600

    table = xbot(auth_env, "auth", "status")  # account, kind, expires in, last refresh, status
    assert table.returncode == 0 and "sbx-" not in table.stdout
    assert [w for w in table.stdout.split() if w in (ACCOUNT, "oauth2", "ok")] == [ACCOUNT, "oauth2", "ok"]


def auth_env_home(auth_env):
    from pathlib import Path

    return Path(auth_env["XBOT_HOME"])


def test_login_by_pasting_the_redirect_with_a_confidential_client(store, x, auth_env):
    api_account(store)
    client = x.admin.oauth_clients()["confidential"]
    env = {
        **auth_env,
        "XBOT_X_CLIENT_ID": client["client_id"],
        "XBOT_X_CLIENT_SECRET": client["client_secret"],
    }
    proc = xbot_popen(env, "auth", "login", ACCOUNT, "--paste")
    try:
        url = _authorize_url(proc)
        redirect = x.admin.approve(url, HANDLE)  # the page will not load on a headless server: pasted
        out_text, err_text = proc.communicate(redirect + "\n", timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err_text
    assert "confidential client" in out_text
    assert get_credentials(store, ACCOUNT)["confidential"] is True


def test_a_forged_or_stale_redirect_is_one_line_and_stores_nothing(store, x, auth_env):
    api_account(store)
    proc = xbot_popen(auth_env, "auth", "login", ACCOUNT, "--client-id", "sbx-public-client", "--paste")
    try:
        url = _authorize_url(proc)
        forged = x.admin.approve(url, HANDLE).replace("state=", "state=x")
        _, err_text = proc.communicate(forged + "\n", timeout=30)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 2
    assert err_text.strip().count("\n") == 0 and "state does not match" in err_text
    assert get_credentials(store, ACCOUNT) is None


def test_redirect_checks_and_vault_rules(tmp_path):
    app = XApp("sbx-public-client", "http://127.0.0.1:9/2/oauth2/token")
    login = start_login(app, "http://127.0.0.1:9/callback")
    assert code_from_redirect(login, f"http://127.0.0.1:9/callback?state={login.state}&code=abc") == "abc"
    with pytest.raises(AuthRefused, match="access_denied"):
        code_from_redirect(login, f"http://127.0.0.1:9/callback?state={login.state}&error=access_denied")
    with pytest.raises(AuthError, match="no code"):
        code_from_redirect(login, f"http://127.0.0.1:9/callback?state={login.state}")
    with pytest.raises(VaultError, match="refusing to store X tokens in Postgres without XBOT_SECRET_KEY"):
        make_vault(None, is_sqlite=False, home=tmp_path)
    with pytest.raises(VaultError, match="not a Fernet key"):
        make_vault("not-a-key", is_sqlite=False, home=tmp_path)


def test_login_is_refused_on_postgres_without_a_key(store, x, auth_env):
    if BACKEND != "postgres":
        pytest.skip("the refusal is Postgres's; SQLite keeps the tokens in a 0600 file")
    api_account(store)
    env = {k: v for k, v in auth_env.items() if k != "XBOT_SECRET_KEY"}
    out = xbot(env, "auth", "login", ACCOUNT, "--client-id", "sbx-public-client", "--paste")
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0
    assert "without XBOT_SECRET_KEY" in out.stderr
    assert get_credentials(store, ACCOUNT) is None


def test_refresh_ahead_of_expiry_and_the_token_endpoint_failing(real_store, x, vault, auth_settings):
    x.admin.set_limits(access_token_s=4)
    api_account(real_store)
    sign_in(x, real_store, vault)
    provider = TokenProvider(
        real_store, vault, ACCOUNT, auth_settings.x_token_url, SystemClock(), http_timeout_s=1.0, wait_s=2.0
    )
    first = provider.access_token()
    assert provider.access_token() == first  # fresh: no refresh
    x.admin.inject("token_500", next_n=1)
    import time

    time.sleep(3.2)  # within the last quarter of its life: due for a refresh
    with pytest.raises(AuthError, match="token endpoint"):
        provider.access_token()  # X's 500: nothing issued, the refresh token is still good
    x.admin.inject("token_hang", next_n=1, seconds=5)
    with pytest.raises(AuthError, match="did not answer in time"):
        provider.access_token()
    second = provider.access_token()
    assert second != first and get_credentials(real_store, ACCOUNT)["refresh_count"] == 1
    assert x.admin.oauth_stats()[HANDLE].get("invalid_grant", 0) == 0


def test_redaction_knows_the_sign_in_names():
    from xbot_pipeline.events.redact import redact, redact_text

    cleaned = redact(
        {"code_verifier": "v" * 50, "consumer_secret": "c" * 20, "x": {"access_token_secret": "s" * 20}}
    )
    assert "v" * 50 not in str(cleaned) and "c" * 20 not in str(cleaned) and "s" * 20 not in str(cleaned)
    body = "grant_type=refresh_token&refresh_token=sbx-rt-abcdefgh&code_verifier=verifier-123456"
    assert "sbx-rt-abcdefgh" not in redact_text(body) and "verifier-123456" not in redact_text(body)
    header = 'OAuth oauth_consumer_key="k", oauth_signature="sig%3D", oauth_token="123-abcdef"'
    assert "sig%3D" not in redact_text(header) and "123-abcdef" not in redact_text(header)


def test_a_bad_secret_key_is_one_line_that_does_not_show_it():
    from xbot_pipeline.settings import SettingsError, load_settings

    with pytest.raises(SettingsError) as caught:
        load_settings({"XBOT_SECRET_KEY": "hunter2-not-a-fernet-key"})
    assert "XBOT_SECRET_KEY must be a Fernet key" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_a_stored_static_bearer_token_posts_and_a_refused_one_pauses(real_store, x, vault, auth_settings):
    from xbot_pipeline.auth.login import save_bearer
    from xbot_pipeline.passes.from_settings import posting_pass
    from xbot_pipeline.posting.enqueue import enqueue
    from xbot_pipeline.runtime import open_runtime
    from xbot_pipeline.store.posts import list_posts

    api_account(real_store)
    save_bearer(real_store, vault, ACCOUNT, x.account(HANDLE).token)
    enqueue(real_store, ACCOUNT, "single", "posted with a stored static token")
    runtime = open_runtime(auth_settings, clock=SystemClock())
    posting_pass(runtime)
    assert [p["status"] for p in list_posts(real_store, ACCOUNT)] == ["posted"]
    save_bearer(real_store, vault, ACCOUNT, "sbx-not-a-token-any-more")
    enqueue(real_store, ACCOUNT, "single", "waits for a new token")
    posting_pass(runtime)
    account = get_account(real_store, ACCOUNT)
    assert account["status"] == "paused" and f"xbot auth login {ACCOUNT}" in account["status_reason"]
    assert sorted(p["status"] for p in list_posts(real_store, ACCOUNT)) == ["blocked", "posted"]
