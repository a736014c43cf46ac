"""A posting process for the sign-in campaign: production's ``posting_pass`` (settings from XBOT_*,
the account's stored sign-in) in a loop, one pass every ``interval`` seconds, until nothing is left to
post or ``seconds`` have passed. Prints one JSON line at the end: passes and this process's refreshes.

python -m xbot_pipeline_tests.auth.poster SECONDS INTERVAL
"""

from __future__ import annotations

import json
import logging
import sys
import time

from xbot_pipeline.cli.logs import set_up_logging
from xbot_pipeline.passes.from_settings import posting_pass
from xbot_pipeline.runtime import open_runtime
from xbot_pipeline.store.posts import queue_counts


def post_until_done(seconds: float, interval: float) -> dict[str, int]:
    set_up_logging()  # XBOT_HOME/logs/xbot.log, as the CLI writes it: the secret scan reads it
    logging.getLogger().setLevel(logging.DEBUG)
    runtime = open_runtime()
    deadline = time.monotonic() + seconds
    passes = 0
    while time.monotonic() < deadline:
        started = time.monotonic()
        posting_pass(runtime)
        passes += 1
        counts = queue_counts(runtime.store)
        if not any(counts.get(s, 0) for s in ("queued", "retry_pending", "posting", "blocked", "unknown")):
            break
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    runtime.store.dispose()
    return {"passes": passes}


if __name__ == "__main__":
    print(json.dumps(post_until_done(float(sys.argv[1]), float(sys.argv[2]))), flush=True)
