"""Two real processes race to claim the same rows: each row is won exactly once (SQLite and Postgres)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from xbot_pipeline.posting.enqueue import enqueue
from xbot_pipeline.store.accounts import ensure_account
from xbot_pipeline.store.posts import list_posts

RACER = r"""
import json, sys, time
from xbot_pipeline.store import Store
from xbot_pipeline.store.posts import claim
url, start, ids, me = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
store = Store.open(url, migrate=False)
while time.time() < start:
    time.sleep(0.001)
won = [i for i in ids if claim(store, i, me, store.clock.now())]
print(json.dumps(won))
"""


def test_two_processes_claim_each_row_once(store, database_url):
    ensure_account(store, "a1")
    ids = [enqueue(store, "a1", "single", f"race {i}")["id"] for i in range(40)]
    start = time.time() + 2.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, database_url, str(start), json.dumps(order), name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, order in (("p1", ids), ("p2", list(reversed(ids))))
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    won1, won2 = set(results[0]), set(results[1])
    assert not won1 & won2
    assert won1 | won2 == set(ids)
    assert won1 and won2  # both really raced
    rows = {r["id"]: r for r in list_posts(store)}
    assert all(rows[i]["status"] == "posting" for i in ids)
    assert {rows[i]["claimed_by"] for i in won1} == {"p1"}
