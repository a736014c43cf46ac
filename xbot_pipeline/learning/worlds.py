"""The learning simulation's worlds: a family generated from a seed, and the truth each one implies.

A generated world ``g<k>`` draws, from ``random.Random(k)``:

- its day: ``flat``, ``unimodal`` or ``bimodal`` (by ``k % 3``), peaks at random hours and widths, scaled
  to the same mean activity as the stand-in's default day (0.8);
- its taste: each content effect's log-multiplier scaled by a factor in [-1, 1.8] (so some effects
  reverse: a world may like hype or dislike questions), and one multiplier per persona (log-normal,
  sigma 0.3);
- its week: 1 + A cos(2 pi (weekday - d0) / 7), A in [0.1, 0.3];
- by ``k % 4``: ``shifted`` (only the above), ``fatigue`` (a persona's rate is divided by
  1 + 0.06 x its uses, each use fading with a 2-day time constant), ``drift`` (mid-run the world draws a
  new day, taste and personas, and the best persona is made to lose its place), or ``fatigue+drift``.

The split is fixed: worlds ``g1``-``g4`` (``TUNING``) are the only ones anything was tuned on; ``g5``-``g12``
(``HELD_OUT``) are for reporting. ``legacy<s>`` is the stand-in's original audience with seed ``s`` (the
one the defaults were first fitted to).

``Truth`` is the world's expected engagement rate (and reward) for any generator at any time, given what
was really posted before (fatigue): the content part is the average over ``samples`` drafts per
generator, separately for "any kind" and "singles only" (when the day's thread limit is reached).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from statistics import NormalDist

import numpy as np

from xbot_pipeline.content.generators import Generator
from xbot_pipeline.sandbox import audience
from xbot_pipeline.sandbox.audience import Phase, World

SHAPES = ("flat", "unimodal", "bimodal")  # by k % 3
KINDS = ("fatigue+drift", "shifted", "fatigue", "drift")  # by k % 4
TUNING = ("g1", "g2", "g3", "g4")
HELD_OUT = ("g5", "g6", "g7", "g8")  # g9-g12 stay unseen (spare held-out worlds)
MEAN_ACTIVITY = 0.8
FATIGUE, FATIGUE_DAYS = 0.06, 2.0
SLOT_MINUTE = 10  # the truth is taken at minute 10 of an hour slot (posts go out in its first 20 minutes)


def describe(name: str) -> str:
    """``g7`` -> ``unimodal, drift``; ``legacy1`` -> ``legacy (seed 1)``."""
    if name.startswith("legacy"):
        return f"legacy (seed {name[6:]})"
    k = int(name[1:])
    return f"{SHAPES[k % 3]}, {KINDS[k % 4]}"


def _day(rng: random.Random, shape: str) -> tuple[tuple[tuple[float, float, float], ...], float]:
    if shape == "flat":
        return (), MEAN_ACTIVITY
    first = rng.uniform(0, 24)
    centres = [first] if shape == "unimodal" else [first, (first + rng.uniform(7, 17)) % 24]
    peaks = [(c, rng.uniform(1.5, 3.5), rng.uniform(0.6, 1.3)) for c in centres]
    floor = rng.uniform(0.25, 0.5)
    mean = floor + sum(h * w * math.sqrt(2 * math.pi) for _, w, h in peaks) / 24
    k = MEAN_ACTIVITY / mean
    return tuple((c, w, h * k) for c, w, h in peaks), floor * k


def _phase(rng: random.Random, shape: str, personas: Sequence[str]) -> Phase:
    peaks, floor = _day(rng, shape)
    effects = {
        name: math.exp(math.log(m) * rng.uniform(-1.0, 1.8)) for name, m in audience.DEFAULT_EFFECTS.items()
    }
    persona = {p: math.exp(rng.gauss(0, 0.3)) for p in sorted(personas)}
    return Phase(peaks, floor, effects, persona)


def make_world(name: str, personas: Sequence[str], drift_at: datetime | None) -> World:
    """The world called ``name`` (``g<k>`` or ``legacy<seed>``); ``drift_at`` is when a drift happens."""
    if name.startswith("legacy"):
        return replace(audience.legacy_world(int(name[6:])), personas={}, uses={})
    k = int(name[1:])
    rng = random.Random(k)
    shape, kind = SHAPES[k % 3], KINDS[k % 4]
    phase = _phase(rng, shape, personas)
    amplitude, d0 = rng.uniform(0.1, 0.3), rng.randrange(7)
    weekday = tuple(1 + amplitude * math.cos(2 * math.pi * (d - d0) / 7) for d in range(7))
    after = _phase(rng, shape, personas) if "drift" in kind else None
    return World(
        name,
        phase,
        weekday=weekday,
        drift_at=drift_at if after else None,
        after=after,
        fatigue=FATIGUE if "fatigue" in kind else 0.0,
        fatigue_days=FATIGUE_DAYS,
    )


@dataclass
class Truth:
    """Expected values of one world; ``content[phase][kind][g]`` = content multipliers of g's drafts."""

    world: World
    content: dict[int, dict[str, dict[str, np.ndarray]]]
    reward_scale: float

    @classmethod
    def build(
        cls, world: World, generators: Mapping[str, Generator], reward_scale: float, samples: int = 150
    ) -> Truth:
        phases = [world.phase] + ([world.after] if world.after else [])
        content: dict[int, dict[str, dict[str, np.ndarray]]] = {}
        for i, phase in enumerate(phases):
            content[i] = {"any": {}, "single": {}}
            for name, gen in sorted(generators.items()):
                for kind in ("any", "single"):
                    rng = random.Random(f"{world.name}:{name}:{kind}")
                    drafts = [
                        gen.generate(rng, kind=None if kind == "any" else "single") for _ in range(samples)
                    ]
                    content[i][kind][name] = np.array(
                        [
                            phase.content(audience.content_features(d.text, is_thread=d.kind == "thread"))
                            for d in drafts
                        ]
                    )
        if world.after is not None:  # the drift must change the best persona: push the old best down
            before, after = _values(content[0], world.phase), _values(content[1], world.after)
            old_best = max(before, key=before.__getitem__)
            ranked = sorted(after, key=after.__getitem__, reverse=True)
            if ranked[0] == old_best:
                persona = dict(world.after.persona)
                persona[old_best] *= 0.8 * after[ranked[1]] / after[old_best]
                world.after = replace(world.after, persona=persona)
        return cls(world, content, reward_scale)

    def _phase_index(self, at: datetime) -> int:
        return 1 if self.world.after is not None and self.world.phase_at(at) is self.world.after else 0

    def factor(self, generator: str, hour: int, at: datetime) -> float:
        """Everything but the content: base rate x hour x persona x weekday x fatigue."""
        phase = self.world.phase_at(at)
        return (
            audience.BASE_RATE
            * phase.hour(hour + SLOT_MINUTE / 60)
            * phase.persona.get(generator, 1.0)
            * self.world.weekday[at.weekday()]
            * self.world.tiredness(generator, at)
        )

    def rate(self, generator: str, hour: int, at: datetime, *, single: bool = False) -> float:
        drafts = self.content[self._phase_index(at)]["single" if single else "any"][generator]
        return float(drafts.mean()) * self.factor(generator, hour, at)

    def best_rate(
        self, generators: Sequence[str], hours: Sequence[int], at: datetime, *, single: bool
    ) -> float:
        """The best expected rate among ``generators`` x ``hours`` at ``at`` (the factors multiply)."""
        phase = self.world.phase_at(at)
        best_hour = max(phase.hour(h + SLOT_MINUTE / 60) for h in hours)
        return (
            max(self.rate(g, 0, at, single=single) / phase.hour(SLOT_MINUTE / 60) for g in generators)
            * best_hour
        )

    def reward(self, generator: str, hour: int, at: datetime, *, single: bool = False) -> float:
        """E[min(1, min(rate x noise, 0.9) / scale)] over drafts and the per-post log-normal noise."""
        drafts = self.content[self._phase_index(at)]["single" if single else "any"][generator]
        rates = np.outer(drafts * self.factor(generator, hour, at), _NOISE)
        return float(np.minimum(1.0, np.minimum(rates, 0.9) / self.reward_scale).mean())

    def best_generator(self, at: datetime) -> str:
        """The best persona when rested (the arm a learner should settle on)."""
        i = self._phase_index(at)
        values = _values(self.content[i], self.world.phase_at(at))
        return max(values, key=values.__getitem__)

    def best_hour(self, at: datetime) -> int:
        phase = self.world.phase_at(at)
        return max(range(24), key=lambda h: phase.hour(h + SLOT_MINUTE / 60))


def _values(content: dict[str, dict[str, np.ndarray]], phase: Phase) -> dict[str, float]:
    return {g: float(d.mean()) * phase.persona.get(g, 1.0) for g, d in content["any"].items()}


_NOISE = np.array(
    [
        math.exp(audience.NOISE_SIGMA * NormalDist().inv_cdf((i + 0.5) / 32) - audience.NOISE_SIGMA**2 / 2)
        for i in range(32)
    ]
)
