"""Offline content generators: one per persona, from templates and the shipped corpus.

``generate(rng, kind=None)`` returns a ``Draft`` (a single or a thread) and never touches the network or
the store; the same ``random.Random`` state gives the same draft.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Protocol

from xbot_pipeline.content.personas import PERSONAS, Persona

KINDS = ("single", "thread")


@dataclass(frozen=True)
class Draft:
    """A post a generator proposes; the gates decide whether it is queued."""

    generator: str
    kind: str  # single | thread
    parts: tuple[str, ...]
    topic: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        return self.parts[0]


class Generator(Protocol):
    name: str

    def generate(self, rng: random.Random, *, kind: str | None = None) -> Draft:
        """A new draft; ``kind`` forces single or thread (None: the generator's own mix)."""


@cache
def load_corpus() -> dict[str, dict[str, list[Any]]]:
    """The shipped corpus: ``{topic: {stats, claims, myths, tips, stories, questions}}``."""
    raw = resources.files("xbot_pipeline.content").joinpath("data/corpus.json").read_text("utf-8")
    return json.loads(raw)["topics"]


def _upper(s: str) -> str:
    return s[:1].upper() + s[1:]


def _lower(s: str) -> str:
    first = s.split(" ", 1)[0]
    return (
        s if first in ("I", "I'm", "I've") or (first.isupper() and len(first) > 1) else s[:1].lower() + s[1:]
    )


class _Fields(dict):
    """Template fields drawn lazily, without repeating an item within one post."""

    def __init__(self, topic: str, corpus: dict[str, list[Any]], rng: random.Random) -> None:
        super().__init__()
        self.topic, self.corpus, self.rng = topic, corpus, rng
        self.used: dict[str, set[int]] = {}

    def draw(self, name: str) -> Any:
        pool = self.corpus[name]
        used = self.used.setdefault(name, set())
        free = [i for i in range(len(pool)) if i not in used] or list(range(len(pool)))
        i = self.rng.choice(free)
        used.add(i)
        return pool[i]

    def __missing__(self, key: str) -> str:
        base = key[:-2] if key.endswith("_l") else key.lower()
        if base == "topic":
            value = self.topic
        elif base in ("myth", "truth"):
            if "_pair" not in self:
                self["_pair"] = self.draw("myths")
            value = self["_pair"][0 if base == "myth" else 1]
        else:
            plural = {"story": "stories"}.get(base, base + "s")
            value = self.draw(plural)
        if key.endswith("_l"):
            return _lower(value)
        return _upper(value) if key[:1].isupper() else value


class TemplateGenerator:
    """A persona's voice over the corpus: varied, well-formed singles and threads, offline."""

    def __init__(self, persona: Persona, corpus: dict[str, dict[str, list[Any]]] | None = None) -> None:
        self.persona = persona
        self.name = persona.name
        self.corpus = corpus or load_corpus()

    def _fill(self, template: str, fields: _Fields) -> str:
        text = template.format_map(fields)
        return text.replace("..", ".").replace(" .", ".").strip()

    def generate(self, rng: random.Random, *, kind: str | None = None) -> Draft:
        p = self.persona
        topic = rng.choice(p.topics)
        fields = _Fields(topic, self.corpus[topic], rng)
        can_thread = bool(p.thread_hooks and p.thread_body)
        if kind is None:
            kind = "thread" if can_thread and rng.random() < p.thread_share else "single"
        if kind == "thread" and not can_thread:
            kind = "single"
        if kind == "single":
            parts: tuple[str, ...] = (self._fill(rng.choice(p.singles), fields),)
        else:
            body = rng.sample(p.thread_body, k=min(len(p.thread_body), rng.randint(2, 3)))
            texts = [self._fill(rng.choice(p.thread_hooks), fields)]
            texts += [self._fill(t, fields) for t in body]
            if p.thread_closers:
                texts.append(self._fill(rng.choice(p.thread_closers), fields))
            n = len(texts)
            parts = tuple([texts[0]] + [f"{i + 1}/{n} {t}" for i, t in enumerate(texts) if i > 0])
        return Draft(self.name, kind, parts, topic, {"persona": p.name})


def template_roster() -> dict[str, TemplateGenerator]:
    """Every persona's template generator, by name."""
    return {p.name: TemplateGenerator(p) for p in PERSONAS}
