"""Benchmark text validation (``posting.enqueue.validate``) against input size, hostile shapes included.

For each shape (plain text, CJK, emoji, dotted words "a.", "a.com.", "a_a.com.", "@a.com.", "a.-",
keycap digits, long URLs) and each size up to 100 KB, prints the median and the worst of ``--runs``
validations in milliseconds, and the twitter-text reference (``parse_tweet``) for the small sizes it can
finish. Validation should stay flat (bounded by the limit, not the input) and under 10 ms. Times are
CPU time of this process (``time.process_time``), so other load on the machine does not inflate them;
the wall-clock median of the slowest shape is printed as well.

    .venv/bin/python scripts/bench_validation.py [--runs 15] [--reference]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time

from xbot_pipeline.posting.config import PostingConfig
from xbot_pipeline.posting.enqueue import ValidationError, validate

SHAPES = {
    "x": "x",
    "日": "日",
    "emoji": "😀",
    "a.": "a.",
    "a.com.": "a.com.",
    "a_a.com.": "a_a.com.",
    "@a.com.": "@a.com.",
    "a.-": "a.-",
    "1": "1",
    "words": "health tips daily ",
    "url": "https://example.com/some/path?q=1 ",
}
SIZES = (140, 280, 1_000, 5_000, 20_000, 45_000, 100_000)


def once(text: str, clock=time.process_time) -> float:
    start = clock()
    with contextlib.suppress(ValidationError):
        validate("single", text, None, PostingConfig())
    return (clock() - start) * 1000


def reference_ms(text: str) -> float:
    from twitter_text import parse_tweet

    start = time.perf_counter()
    parse_tweet(text)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reference", action="store_true", help="also time parse_tweet up to 1,000 chars")
    args = parser.parse_args()
    print(f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}; median / max of {args.runs} runs, ms")
    print(f"{'shape':10}" + "".join(f"{size:>16,}" for size in SIZES))
    worst, worst_text = 0.0, ""
    for name, unit in SHAPES.items():
        cells = []
        for size in SIZES:
            text = (unit * (size // len(unit) + 1))[:size]
            times = [once(text) for _ in range(args.runs)]
            if statistics.median(times) >= worst:
                worst, worst_text = statistics.median(times), text
            cells.append(f"{statistics.median(times):7.2f} /{max(times):7.2f}")
        print(f"{name:10}" + "".join(f"{c:>16}" for c in cells))
        if args.reference:
            ref = [f"{size}: {reference_ms((unit * size)[:size]):.0f}" for size in (140, 280, 1_000)]
            print(f"{'':10}  parse_tweet ms  " + ", ".join(ref))
    wall = statistics.median(once(worst_text, time.perf_counter) for _ in range(args.runs))
    print(f"worst median: {worst:.2f} ms CPU ({wall:.2f} ms wall clock)")


if __name__ == "__main__":
    main()
