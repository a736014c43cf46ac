"""The order tests start in, so that pytest-xdist's workers finish together.

``--dist worksteal`` first hands each worker one contiguous slice of the collection (equal counts), then
moves tests from the end of the longest queue to a worker that runs dry. A few tests take minutes (the
drill, the fault campaign, the demo); left together in one slice they run one after the other on one
worker while the others idle. So the long tests are dealt out like cards (longest first, each to the
slice with the least expected time), every slice starts with its share, and the short tests fill the
slices' ends, where stealing evens out what the estimates got wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

# Seconds a test takes on the CI machine (pytest --durations, 2-core VM under load), for those over ~10 s.
# A missing or wrong entry costs balance, never correctness. Matched as a substring of the test's node id.
EXPECTED_S: dict[str, float] = {
    "production/test_drill.py": 215,
    "posting/test_campaign.py::test_fault_campaign": 200,
    "cli/test_hostile_input.py::test_every_variable": 65,
    "foundation/test_demo.py": 45,
    "foundation/test_ui_screenshot.py": 40,
    "posting/test_hung_store.py": 36,
    "posting/test_account_publisher.py::test_the_environment_is_only": 35,
    "fleet/test_celery_fleet.py": 30,
    "cli/test_hostile_input.py::test_every_command": 26,
    "foundation/test_ui.py": 25,
    "health/test_dagster.py::test_materialize_health_checks": 21,
    "publishing/test_browser_chain.py::test_posting_layer_finishes_a_broken_chain_exactly_once[hang]": 20,
    "learning/test_simulation.py": 20,
    "recovery/test_killed_mid_post.py": 19,
    "posting/test_thread_resume_cli.py": 19,
    "auth/test_campaign.py": 19,
    "posting/test_account_limits.py::test_operator_limits_apply": 17,
    "learning/test_cli.py": 15,
    "media/test_enqueue_media.py": 14,
    "learning/test_best_times.py::test_best_times_command": 14,
    "learning/test_dagster.py": 13,
    "posting/test_cli.py": 13,
    "auth/test_sign_in.py": 12,
    "posting/test_account_limits.py::test_bad_limits": 10,
    "production/test_pool_slots.py": 11,
    "publishing/test_browser_thread_ids.py": 11,
    "fleet/test_account_health.py": 10,
}
SLOW_MARKED_S = 60.0  # a test marked slow that the table does not know
DEFAULT_S = 1.0


class Item(Protocol):
    nodeid: str

    def get_closest_marker(self, name: str) -> object | None: ...


T = TypeVar("T", bound=Item)


def expected_s(item: Item) -> float:
    for pattern, seconds in EXPECTED_S.items():
        if pattern in item.nodeid:
            return seconds
    return SLOW_MARKED_S if item.get_closest_marker("slow") is not None else DEFAULT_S


def slice_sizes(n: int, workers: int) -> list[int]:
    """The counts worksteal's first distribution gives each worker (its own arithmetic)."""
    sizes, left = [], n
    for i in range(workers):
        size = left // (workers - i)
        sizes.append(size)
        left -= size
    return sizes


def deal(items: Sequence[T], workers: int) -> list[T]:
    """``items`` reordered: ``workers`` contiguous slices of worksteal's sizes, of about equal expected
    time, each longest first. Deterministic (every worker must compute the same order)."""
    ordered = sorted(items, key=expected_s, reverse=True)  # stable: ties keep the collection order
    if workers <= 1:
        return ordered
    sizes = slice_sizes(len(ordered), workers)
    slices: list[list[T]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    for item in ordered:
        open_slices = [i for i in range(workers) if len(slices[i]) < sizes[i]]
        target = min(open_slices, key=lambda i: (loads[i], i))
        slices[target].append(item)
        loads[target] += expected_s(item)
    return [item for part in slices for item in part]
