"""Shared by the bad-input tests: run cases through the real entry point and check the one-line rule."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from xbot_pipeline.store import Store, metadata
from xbot_pipeline_tests.fixtures.traceback_scan import record_output

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Case:
    """``xbot ARGV`` with ``env`` changes; must fail with one stderr line containing ``expect``."""

    name: str
    argv: list[str | bytes]
    expect: str
    env: dict[str, str | bytes | None] = field(default_factory=dict)


def store_digest(store: Store) -> str:
    """A hash of every row of every table, in primary-key order: equal before and after = unchanged."""
    digest = hashlib.sha256()
    with store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            for row in conn.execute(sa.select(table).order_by(*order)):
                digest.update(repr((table.name, tuple(row))).encode())
    return digest.hexdigest()


def _hex(value: str | bytes) -> str:
    return (value if isinstance(value, bytes) else os.fsencode(value)).hex()


def run_cases(cases: list[Case], base_env: dict[str, str], tmp: Path) -> list[dict]:
    """Every case in one driver process (a fork each); returns rc/stdout/stderr per case."""
    payload = [
        {
            "argv": [_hex(a) for a in case.argv],
            "env": {
                **{k: _hex(v) for k, v in base_env.items()},
                **{k: (None if v is None else _hex(v)) for k, v in case.env.items()},
            },
            "cwd": str(tmp),
        }
        for case in cases
    ]
    src, dst = tmp / "cases.json", tmp / "results.json"
    src.write_text(json.dumps(payload))
    subprocess.run(
        [sys.executable, "-m", "xbot_pipeline_tests.cli.driver", str(src), str(dst)],
        cwd=ROOT,
        check=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    results = json.loads(dst.read_text())
    for case, result in zip(cases, results, strict=True):
        record_output(f"xbot case {case.name!r}", result["stdout"], result["stderr"])
    return results


def one_line_failure(case: Case, result: dict) -> str | None:
    """Why ``result`` breaks the rule (None when it keeps it): non-zero exit, exactly one stderr line that
    names what is wrong, no traceback anywhere."""
    lines = result["stderr"].strip().splitlines()
    if result["rc"] == 0:
        return f"{case.name}: exit 0 (stderr {result['stderr']!r})"
    if "Traceback" in result["stdout"] + result["stderr"]:
        return f"{case.name}: traceback: {result['stderr'][-800:]!r}"
    if len(lines) != 1:
        return f"{case.name}: {len(lines)} stderr lines: {result['stderr'][-800:]!r}"
    if not lines[0].startswith("xbot: error: ") or case.expect.lower() not in lines[0].lower():
        return f"{case.name}: line does not name {case.expect!r}: {lines[0]!r}"
    return None
