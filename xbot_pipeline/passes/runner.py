"""Run posting or recovery in a process of its own (the fault campaign kills these with SIGKILL).

python -m xbot_pipeline.passes.runner posting|recovery CONFIG.json

CONFIG: {"database_url", "home", "api_url", "web_url", "accounts": {id: {publisher, token, session_file,
handle}}, "fast": true, "passes": 1}. Prints one JSON summary line per pass.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from xbot_pipeline.clock import SystemClock
from xbot_pipeline.events import EventTracker
from xbot_pipeline.posting.config import PostingConfig, fast_config
from xbot_pipeline.posting.journal import default_journal_path
from xbot_pipeline.posting.run import run_posting
from xbot_pipeline.publishing.factory import publisher_for_map
from xbot_pipeline.recovery.config import RecoveryConfig, fast_recovery_config
from xbot_pipeline.recovery.run import run_recovery
from xbot_pipeline.store import Store


def main(argv: list[str]) -> int:
    mode, path = argv[0], Path(argv[1])
    cfg = json.loads(path.read_text())
    clock = SystemClock()
    store = Store.open(cfg["database_url"], clock=clock, migrate=False)
    home = Path(cfg["home"])
    tracker = EventTracker.for_home(store, home)
    journal_path = default_journal_path(home)
    posting_config: PostingConfig = fast_config() if cfg.get("fast", True) else PostingConfig()
    posting_config = replace(posting_config, journal_path=journal_path)
    if cfg.get("per_run"):
        posting_config = posting_config.with_limits(per_run=int(cfg["per_run"]))
    publisher_for = publisher_for_map(
        cfg["accounts"],
        api_url=cfg["api_url"],
        web_url=cfg["web_url"],
        clock=clock,
        executable=cfg.get("browser_executable"),
    )
    for _ in range(int(cfg.get("passes", 1))):
        if mode == "posting":
            report = run_posting(store, tracker, publisher_for, config=posting_config)
            print(json.dumps({"mode": mode, "counts": report.counts}), flush=True)
        else:
            recovery_config: RecoveryConfig = (
                fast_recovery_config() if cfg.get("fast", True) else RecoveryConfig()
            )
            recovery_config = replace(recovery_config, journal_path=journal_path)
            rep = run_recovery(
                store,
                tracker,
                publisher_for,
                config=recovery_config,
                posting_config=posting_config,
            )
            print(
                json.dumps({"mode": mode, "summary": rep.summary(), "quiet": rep.quiet, "lines": rep.lines}),
                flush=True,
            )
    store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
