"""Issue 11 items 14 and 18 through the real `xbot` entry point against the stand-in.

14: X refuses part 2 of a 3-part thread as a duplicate (not live): the thread is partial with a critical
event, and `xbot thread-resume` with an edited part finishes the reply chain, each part once, in order.
18: `xbot account-handle` refuses a bad handle in one line, sets a good one, and checks it against the
signed-in session (the API publisher's GET /2/users/me).
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from xbot_pipeline.sandbox.server import DEMO_HANDLE
from xbot_pipeline.store.accounts import ensure_account, get_account
from xbot_pipeline.store.posts import get_post
from xbot_pipeline.store.schema import system_events
from xbot_pipeline_tests.cli.forkserver import Result, run_xbot
from xbot_pipeline_tests.fixtures.sandbox import chain_of

PARTS = [
    "Resume test, part one: the chain starts here.",
    "Resume test, part two: X will refuse this one.",
    "Resume test, part three: the chain ends here.",
]
EDITED = "Resume test, part two, edited by the operator."


def xbot(env: dict[str, str], *args: str) -> Result:
    return run_xbot(env, *args)


def events(store, post_id: int) -> list[dict]:
    with store.connect() as conn:
        rows = conn.execute(sa.select(system_events).where(system_events.c.subject == f"post:{post_id}"))
        return [dict(r._mapping) for r in rows]


def test_a_thread_cut_by_a_duplicate_part_is_resumed_from_the_cli(store, sandbox, api_cli_env) -> None:
    out = xbot(api_cli_env, "enqueue", "--kind", "thread", *PARTS, "--json")
    assert out.returncode == 0, out.stderr
    post_id = json.loads(out.stdout)["id"]
    sandbox.admin.inject("duplicate", next_n=1, skip=1, account=DEMO_HANDLE)  # part 2 is refused
    out = xbot(api_cli_env, "post")
    assert "Traceback" not in out.stderr
    row = get_post(store, post_id)
    assert row["status"] == "failed_permanent" and row["status_reason"].startswith("partial thread"), row
    assert f"xbot thread-resume {post_id} --part 2" in row["status_reason"]
    [part_one] = sandbox.admin.posts(DEMO_HANDLE)
    assert [str(i) for i in row["tweet_ids"]] == [part_one["id"]]
    partial = [e for e in events(store, post_id) if e["event_type"].endswith("thread_partial")]
    assert len(partial) == 1 and partial[0]["severity"] == "critical", partial

    wrong = xbot(api_cli_env, "thread-resume", str(post_id), "--part", "3", "--text", EDITED)
    assert wrong.returncode != 0 and len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr
    assert "resume from part 2" in wrong.stderr and get_post(store, post_id)["status"] == "failed_permanent"

    out = xbot(api_cli_env, "thread-resume", str(post_id), "--part", "2", "--text", EDITED)
    assert out.returncode == 0, out.stderr
    assert get_post(store, post_id)["status"] == "queued"
    out = xbot(api_cli_env, "post")
    assert out.returncode == 0, out.stderr
    row = get_post(store, post_id)
    assert row["status"] == "posted", (row["status"], row["status_reason"])
    ids = [str(i) for i in row["tweet_ids"]]
    assert ids[0] == part_one["id"] == str(row["tweet_id"])
    assert chain_of(sandbox, ids) == [(PARTS[0], None), (EDITED, ids[0]), (PARTS[2], ids[1])]
    live = sandbox.admin.posts(DEMO_HANDLE)
    assert sorted(p["text"] for p in live) == sorted([PARTS[0], EDITED, PARTS[2]])  # each part once


def test_account_handle_validates_sets_and_checks_the_session(store, sandbox, api_cli_env) -> None:
    ensure_account(store, DEMO_HANDLE, publisher="api")
    before = get_account(store, DEMO_HANDLE)["handle"]
    for bad, message in (
        ("no spaces!", "an X handle is 1-15 letters, digits or underscores"),
        ("@" + "x" * 16, "an X handle is 1-15 letters, digits or underscores"),
        ("someone_else", f"signed in as @{DEMO_HANDLE}, not @someone_else"),
    ):
        out = xbot(api_cli_env, "account-handle", DEMO_HANDLE, bad)
        assert out.returncode != 0, out.stdout
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], out.stderr
        assert get_account(store, DEMO_HANDLE)["handle"] == before  # nothing written
    out = xbot(api_cli_env, "account-handle", "nobody", "@xbot_demo")
    assert out.returncode != 0
    assert out.stderr.strip().splitlines() == ["xbot: error: unknown account 'nobody'"]

    out = xbot(api_cli_env, "account-handle", DEMO_HANDLE, "@other_name", "--no-check")
    assert out.returncode == 0, out.stderr
    assert get_account(store, DEMO_HANDLE)["handle"] == "other_name"
    out = xbot(api_cli_env, "account-handle", DEMO_HANDLE, f"@{DEMO_HANDLE}")
    assert out.returncode == 0, out.stderr
    assert "checked against the session" in out.stdout
    assert get_account(store, DEMO_HANDLE)["handle"] == DEMO_HANDLE
    shown = xbot(api_cli_env, "account-handle", DEMO_HANDLE)
    assert shown.returncode == 0 and f"handle @{DEMO_HANDLE}" in shown.stdout
