"""Every asset's description (what the UI shows on its page) links to the docs section that explains it,
and the linked file and heading exist: a renamed heading or a new asset without a link fails here."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from xbot_pipeline.definitions import defs

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"docs/([A-Za-z_]+\.md)#([\w-]+)")


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a file's headings: lower case, punctuation dropped (letters, digits, '_',
    '-' and spaces kept), spaces as '-', a repeated slug numbered -1, -2, ..."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        title = line.lstrip("#").strip().lower()
        slug = "".join(ch for ch in title if ch in " -_" or unicodedata.category(ch)[0] in "LN").replace(
            " ", "-"
        )
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_anchor_rules_match_github() -> None:
    text = (
        "# A\n## Rewards and posteriors (`learning/rewards.py`, `learning_job`)\n"
        "```\n# not a heading\n```\n## A\n"
    )
    assert github_anchors(text) == {"a", "rewards-and-posteriors-learningrewardspy-learning_job", "a-1"}


def _problems(described: list[tuple[str, str | None]]) -> list[str]:
    problems = []
    for name, description in described:
        found = LINK.findall(description or "")
        if not found:
            problems.append(f"{name}: no 'docs/FILE.md#anchor' in its description")
        for file, anchor in found:
            path = ROOT / "docs" / file
            if not path.exists():
                problems.append(f"{name}: docs/{file} does not exist")
            elif anchor not in github_anchors(path.read_text()):
                problems.append(f"{name}: docs/{file} has no heading with anchor #{anchor}")
    return problems


def test_every_asset_and_sensor_description_links_to_an_existing_docs_section() -> None:
    definitions = defs()
    specs = list(definitions.resolve_all_asset_specs())
    sensors = list(definitions.sensors or [])
    assert len(specs) >= 9 and len(sensors) >= 6
    described = [(s.key.to_user_string(), s.description) for s in specs]
    described += [(f"sensor {s.name}", s.description) for s in sensors]
    problems = _problems(described)
    assert not problems, "\n".join(problems)
