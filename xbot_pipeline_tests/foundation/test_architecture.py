"""The package graph stays the one docs/ARCHITECTURE.md draws: layered, acyclic, SQL only in the store.

Imports are read with ``ast`` from every module (function-level imports included), so a hidden
``import`` inside a function counts like one at the top of the file.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "xbot_pipeline"

# Lower layers first; a node may import only nodes of a lower layer (or itself). Same-layer nodes
# must not import each other. Keep in step with docs/ARCHITECTURE.md.
LAYERS: list[set[str]] = [
    {"clock", "private_files"},
    {"store"},
    {"events", "sandbox"},
    {"content", "auth"},
    {"publishing"},
    {"posting"},
    {"recovery", "analytics", "warehouse"},
    {"alerts", "learning"},
    {"settings"},
    {"runtime", "instance"},
    {"passes"},
    {"defs"},
    {"definitions"},
    {"cli"},
]
RANK = {node: i for i, layer in enumerate(LAYERS) for node in layer}

# Exceptions, each with its reason.
ALLOWED_EXTRA = {
    # The learning simulation drives the real jobs' code against the local X stand-in.
    ("learning", "sandbox"): "learning/simulation.py",
}


def _node(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, node.lineno))
            if node.module == "xbot_pipeline":
                out += [(f"xbot_pipeline.{alias.name}", node.lineno) for alias in node.names]
    return out


def _modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts or p.name != "env.py"]


def _graph() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in _modules():
        if path.parent == PACKAGE and path.name == "__init__.py":
            continue
        src = _node(path)
        for name, line in _imports(path):
            parts = name.split(".")
            if parts[0] != "xbot_pipeline" or len(parts) < 2:
                continue
            dst = parts[1]
            if dst != src:
                edges[(src, dst)].append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    return edges


def test_every_node_has_a_layer() -> None:
    nodes = {_node(p) for p in _modules() if not (p.parent == PACKAGE and p.name == "__init__.py")}
    assert nodes <= set(RANK), f"add to LAYERS (and docs/ARCHITECTURE.md): {sorted(nodes - set(RANK))}"


def test_imports_only_go_down_the_layers() -> None:
    wrong = []
    for (src, dst), where in sorted(_graph().items()):
        if (src, dst) in ALLOWED_EXTRA and all(ALLOWED_EXTRA[(src, dst)] in w for w in where):
            continue
        if RANK.get(dst, -1) >= RANK.get(src, -1):
            wrong.append(f"{src} -> {dst} ({', '.join(where)})")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for src, dst in _graph():
        graph[src].add(dst)
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, node])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [])):
            raise AssertionError("import cycle: " + " -> ".join(cycle))


def _third_party_users(prefix: str) -> set[str]:
    users = set()
    for path in _modules():
        if any(name == prefix or name.startswith(prefix + ".") for name, _ in _imports(path)):
            users.add(str(path.relative_to(PACKAGE)))
    return users


def test_sqlalchemy_only_under_store() -> None:
    outside = sorted(u for u in _third_party_users("sqlalchemy") if not u.startswith("store/"))
    assert not outside, f"SQLAlchemy imported outside store/: {outside}"


def test_dagster_only_in_the_shell() -> None:
    shell = ("defs/", "cli/", "definitions.py", "instance.py")
    outside = sorted(u for u in _third_party_users("dagster") if not u.startswith(shell))
    assert not outside, f"dagster imported by domain code: {outside}"


def test_playwright_only_in_the_browser_publisher() -> None:
    outside = sorted(u for u in _third_party_users("playwright") if not u.startswith("publishing/browser"))
    assert not outside, f"playwright imported outside publishing/browser: {outside}"
