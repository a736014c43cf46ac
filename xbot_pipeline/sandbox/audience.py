"""A pure, seeded model of how an audience reacts to a post: the stand-in's engagement and metrics.

The learning simulation imports this directly, so it stays free of I/O and of the server.

``engagement_rate`` is the *expected* (likes + reposts + replies) / impressions of a post, a product of
multipliers (see docs/SANDBOX.md for the table):

    rate = BASE_RATE * hour(h) * question * numbers * thread * length * story * hype * hashtags * topic
           * seed_jitter

- ``hour(h)``: two Gaussian peaks (08:00 and 19:00 UTC) over a floor, trough around 02:00–04:00.
  Best hour / worst hour is about 3x.
- content: "?" x1.25, digits x1.20, thread x1.30, length bucket (short x0.85, medium x1.10, long x1.0),
  first-person story x1.20, hype ("!", "amazing", "insane", ...) x0.80, hashtags x0.85 each (max 4),
  topic keyword (best match) sleep x1.30, stress x1.25, exercise x1.20, protein x1.15, fasting x1.10.
- ``seed`` gives each simulated world a slightly different audience (every multiplier's effect is
  scaled by a factor in [0.9, 1.1]), so a learner cannot hard-code the answer.
- ``world`` (a ``World``) replaces all of that for the learning simulation's generated worlds: other
  peak hours, other tastes, persona effects, a weekly cycle, fatigue and drift.

``metrics_at`` turns the expected rate into counts for one post, with per-post noise (log-normal,
deterministic per ``post_key`` + ``seed``) and a saturating arrival curve: ~half of the first day's
reactions within ~25 minutes, nearly flat after 48 hours. Counts never decrease as ``now`` moves on.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

BASE_RATE = 0.03
HOUR_FLOOR = 0.45
MORNING_PEAK = (8.0, 1.6, 0.75)  # (hour UTC, width in hours, height)
EVENING_PEAK = (19.0, 2.2, 0.95)

QUESTION = 1.25
NUMBERS = 1.20
THREAD = 1.30
LENGTH = {"short": 0.85, "medium": 1.10, "long": 1.00}  # < 80, 80..200, > 200 characters
STORY = 1.20
HYPE = 0.80
HASHTAG = 0.85  # per hashtag, at most 4 counted
TOPICS = {"sleep": 1.30, "stress": 1.25, "exercise": 1.20, "protein": 1.15, "fasting": 1.10}
TOPIC_WORDS = {
    "sleep": ("sleep", "insomnia", "nap", "bedtime", "circadian"),
    "stress": ("stress", "cortisol", "anxiety", "burnout"),
    "exercise": ("exercise", "workout", "training", "strength", "cardio", "walk"),
    "protein": ("protein", "amino", "whey"),
    "fasting": ("fasting", "fast ", "intermittent"),
}
HYPE_WORDS = ("amazing", "insane", "incredible", "game-changer", "game changer", "mind-blowing", "must-see")

NOISE_SIGMA = 0.35  # log-normal per-post noise on reactions
REACH_SIGMA = 0.25  # log-normal per-post noise on impressions
REACH_PER_FOLLOWER = 1.6  # impressions after 48 h per follower, at hour factor 1
FAST_SHARE, FAST_TAU_MIN, SLOW_TAU_MIN = 0.8, 27.0, 600.0  # arrival curve (two exponentials)
SPLIT = {"likes": 0.70, "reposts": 0.12, "replies": 0.18}  # shares of reactions
QUOTE_SHARE, BOOKMARK_SHARE = 0.03, 0.10  # of reactions, not part of the rate

_NUMBER = re.compile(r"\d")
_HASHTAG = re.compile(r"(?<!\w)#\w+")
_STORY = re.compile(r"(?i)(^|[\s\"'(])(i|my|i'm|i've|me)(\s|[.,!?'])")
_THREAD = re.compile(r"(🧵|^\s*1/|\(1/\d+\)|\bthread\b)", re.IGNORECASE)


def _gauss(h: float, centre: float, width: float) -> float:
    d = min(abs(h - centre), 24 - abs(h - centre))  # circular distance on the clock
    return math.exp(-(d * d) / (2 * width * width))


def hour_factor(hour: float) -> float:
    """Relative audience activity at a UTC hour (0..24): ~0.45 at night, ~1.4 at the evening peak."""
    return (
        HOUR_FLOOR
        + MORNING_PEAK[2] * _gauss(hour, MORNING_PEAK[0], MORNING_PEAK[1])
        + EVENING_PEAK[2] * _gauss(hour, EVENING_PEAK[0], EVENING_PEAK[1])
    )


def length_bucket(text: str) -> str:
    n = len(text.strip())
    return "short" if n < 80 else "medium" if n <= 200 else "long"


def topic_of(text: str) -> str | None:
    """The best-paying topic the text mentions (None when none)."""
    low = f" {text.lower()} "
    found = [t for t, words in TOPIC_WORDS.items() if any(w in low for w in words)]
    return max(found, key=lambda t: TOPICS[t]) if found else None


def content_features(text: str, *, is_thread: bool | None = None) -> dict[str, object]:
    """The text properties the audience reacts to (also useful for tests and analysis)."""
    low = text.lower()
    return {
        "question": "?" in text,
        "numbers": bool(_NUMBER.search(text)),
        "thread": bool(_THREAD.search(text)) if is_thread is None else is_thread,
        "length": length_bucket(text),
        "story": bool(_STORY.search(text)),
        "hype": "!" in text or any(w in low for w in HYPE_WORDS),
        "hashtags": min(4, len(_HASHTAG.findall(text))),
        "topic": topic_of(text),
    }


def _unit(*key: object) -> float:
    """A deterministic uniform number in [0, 1) from a key."""
    digest = hashlib.sha256(":".join(map(str, key)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _jitter(seed: int, name: str, multiplier: float) -> float:
    """Scale a multiplier's effect (its distance from 1) by a seed-specific factor in [0.9, 1.1]."""
    if seed == 0:
        return multiplier
    scale = 0.9 + 0.2 * _unit("jitter", seed, name)
    return 1 + (multiplier - 1) * scale


# -- worlds --------------------------------------------------------------------------------------------
# A world is everything an audience prefers: its day (peaks over a floor), its taste (one multiplier per
# content feature), its view of each persona, its week, whether it tires of a persona, and whether it
# changes its mind mid-run (drift). ``legacy_world(seed)`` is the model above with the seed's jitter;
# the learning simulation generates others (``learning/worlds.py``).
DEFAULT_EFFECTS = {
    "question": QUESTION,
    "numbers": NUMBERS,
    "thread": THREAD,
    "story": STORY,
    "hype": HYPE,
    "hashtag": HASHTAG,
    **{f"length_{b}": m for b, m in LENGTH.items()},
    **{f"topic_{t}": m for t, m in TOPICS.items()},
}


@dataclass(frozen=True)
class Phase:
    """What the audience prefers during one period: its day and its taste."""

    peaks: tuple[tuple[float, float, float], ...]  # (hour UTC, width in hours, height); () = a flat day
    floor: float
    effects: Mapping[str, float]  # multiplier per feature (keys of DEFAULT_EFFECTS)
    persona: Mapping[str, float] = field(default_factory=dict)  # multiplier per persona (when known)
    hour_scale: float = 1.0  # the legacy jitter: hour factor h -> 1 + (h - 1) * scale

    def hour(self, hour: float) -> float:
        raw = self.floor + sum(height * _gauss(hour, centre, width) for centre, width, height in self.peaks)
        return 1 + (raw - 1) * self.hour_scale

    def content(self, f: Mapping[str, object]) -> float:
        e = self.effects
        m = e[f"length_{f['length']}"] * e["hashtag"] ** int(f["hashtags"])  # type: ignore[call-overload]  # f holds ints here
        for name in ("question", "numbers", "thread", "story", "hype"):
            if f[name]:
                m *= e[name]
        if f["topic"]:
            m *= e[f"topic_{f['topic']}"]
        return m


@dataclass
class World:
    """One audience. Persona effects and fatigue need to know who wrote a post: the simulation registers
    each published text with its persona (``record``); an unregistered text gets neither."""

    name: str
    phase: Phase
    weekday: tuple[float, ...] = (1.0,) * 7  # Monday..Sunday
    drift_at: datetime | None = None  # from then on ``after`` applies
    after: Phase | None = None
    fatigue: float = 0.0  # rate x 1 / (1 + fatigue * recent uses of the persona)
    fatigue_days: float = 2.0  # a use counts exp(-age / fatigue_days): rest restores the persona
    personas: dict[str, str] = field(default_factory=dict)  # text -> persona
    uses: dict[str, list[datetime]] = field(default_factory=dict)  # persona -> sorted publication times

    def phase_at(self, at: datetime) -> Phase:
        return self.after if self.after is not None and self.drift_at and at >= self.drift_at else self.phase

    def record(self, persona: str, posted_at: datetime, texts: list[str]) -> None:
        for text in texts:
            self.personas[text] = persona
        bisect.insort(self.uses.setdefault(persona, []), posted_at)

    def tiredness(self, persona: str | None, at: datetime) -> float:
        """The fatigue multiplier of ``persona`` for a post at ``at`` (uses strictly before ``at``)."""
        if not self.fatigue or persona is None:
            return 1.0
        times = self.uses.get(persona, [])
        past = times[: bisect.bisect_left(times, at)]
        load = sum(math.exp(-(at - t).total_seconds() / (self.fatigue_days * 86400)) for t in past[-60:])
        return 1.0 / (1.0 + self.fatigue * load)

    def hour(self, at: datetime) -> float:
        return self.phase_at(at).hour(at.hour + at.minute / 60)

    def rate(self, text: str, at: datetime, *, is_thread: bool | None = None) -> float:
        phase = self.phase_at(at)
        persona = self.personas.get(text)
        f = content_features(text, is_thread=is_thread)
        return (
            BASE_RATE
            * phase.hour(at.hour + at.minute / 60)
            * phase.content(f)
            * phase.persona.get(persona or "", 1.0)
            * self.weekday[at.weekday()]
            * self.tiredness(persona, at)
        )


@lru_cache(maxsize=64)
def legacy_world(seed: int) -> World:
    """The original stand-in audience: default peaks and effects, each effect scaled by the seed's jitter."""
    effects = {name: _jitter(seed, name, m) for name, m in DEFAULT_EFFECTS.items()}
    scale = 1.0 if seed == 0 else 0.9 + 0.2 * _unit("jitter", seed, "hour")
    return World(f"legacy-{seed}", Phase((MORNING_PEAK, EVENING_PEAK), HOUR_FLOOR, effects, hour_scale=scale))


def engagement_rate(
    text: str,
    posted_at: datetime,
    *,
    seed: int = 0,
    is_thread: bool | None = None,
    world: World | None = None,
) -> float:
    """Expected (likes + reposts + replies) / impressions for ``text`` posted at ``posted_at``.

    ``is_thread`` overrides detection from the text (a "🧵", "1/" or "(1/n)" marker); ``world`` replaces
    the seed's legacy audience.
    """
    at = posted_at.astimezone(UTC) if posted_at.tzinfo else posted_at.replace(tzinfo=UTC)
    return (world or legacy_world(seed)).rate(text, at, is_thread=is_thread)


def arrival_fraction(minutes: float) -> float:
    """Share of a post's final (48 h+) reactions that have arrived ``minutes`` after posting."""
    if minutes <= 0:
        return 0.0
    fast = 1 - math.exp(-minutes / FAST_TAU_MIN)
    slow = 1 - math.exp(-minutes / SLOW_TAU_MIN)
    return FAST_SHARE * fast + (1 - FAST_SHARE) * slow


def _lognormal(sigma: float, *key: object) -> float:
    u1 = max(_unit("n1", *key), 1e-12)
    u2 = _unit("n2", *key)
    z = math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)  # Box-Muller, deterministic
    return math.exp(sigma * z - sigma * sigma / 2)  # mean 1


def metrics_at(
    text: str,
    posted_at: datetime,
    now: datetime,
    *,
    seed: int,
    post_key: str,
    followers: int = 1000,
    is_thread: bool | None = None,
    world: World | None = None,
) -> dict[str, int]:
    """Public metrics of one post as seen at ``now``: impressions, likes, reposts, replies, quotes, bookmarks.

    Deterministic per ``post_key`` + ``seed``; non-decreasing in ``now``; saturating after ~48 h.
    """
    at = posted_at.astimezone(UTC) if posted_at.tzinfo else posted_at.replace(tzinfo=UTC)
    seen = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    minutes = (seen - at).total_seconds() / 60
    frac = arrival_fraction(minutes)
    hour = world.hour(at) if world else hour_factor(at.hour + at.minute / 60)
    final_impressions = (
        max(0, followers)
        * REACH_PER_FOLLOWER
        * (0.6 + 0.4 * hour)
        * _lognormal(REACH_SIGMA, seed, post_key, "r")
    )
    rate = engagement_rate(text, at, seed=seed, is_thread=is_thread, world=world) * _lognormal(
        NOISE_SIGMA, seed, post_key, "e"
    )
    final_reactions = final_impressions * min(rate, 0.9)
    impressions = int(final_impressions * frac)
    reactions = final_reactions * frac
    likes = int(reactions * SPLIT["likes"])
    reposts = int(reactions * SPLIT["reposts"])
    replies = int(reactions * SPLIT["replies"])
    return {
        "impressions": impressions,
        "likes": likes,
        "reposts": reposts,
        "replies": replies,
        "quotes": int(reactions * QUOTE_SHARE),
        "bookmarks": int(reactions * BOOKMARK_SHARE),
    }
