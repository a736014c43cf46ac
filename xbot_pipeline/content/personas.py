"""The roster's personas: each a voice (templates) and the topics it writes about.

Templates draw on the shipped corpus (``data/corpus.json``). Their style decides what the audience sees
(questions, numbers, first-person stories, hype, hashtags, length, threads), so the arms differ in
expected engagement for real reasons, the way the seed's 22 generators did.

Placeholders: ``{stat} {claim} {myth} {truth} {tip} {story} {question} {topic}``; a capitalised name
(``{Claim}``) starts with a capital letter, a ``_l`` suffix (``{claim_l}``) with a small one.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Persona:
    name: str
    voice: str  # one line, also the LLM generator's system prompt
    topics: tuple[str, ...]
    singles: tuple[str, ...]
    thread_hooks: tuple[str, ...] = ()
    thread_body: tuple[str, ...] = ()  # part templates, drawn without repetition
    thread_closers: tuple[str, ...] = ()
    thread_share: float = 0.0  # how often it writes a thread when threads are allowed
    tags: tuple[str, ...] = field(default=())


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "storyteller",
        "Warm, first person, tells what happened when you changed one habit; concrete, humble, no hype.",
        ("sleep", "stress", "exercise", "fasting"),
        (
            "{Story}.\n\nThe lesson: {claim_l}.",
            "{Story}. Took me far too long to learn that {claim_l}.",
            "Confession: {story_l}. Small habit, long payoff.",
            "{Story}. If {topic} is your weak spot, start with one tiny change.",
            "{Story}.\n\nNothing fancy. {Tip}.",
        ),
        ("{Story}. Here is what changed, step by step 🧵",),
        ("{Claim}.", "{Stat}.", "What worked: {tip_l}.", "What surprised me: {claim_l}."),
        (
            "That is the whole {topic} story: small habits, long life.",
            "Try one piece of it this week: {tip_l}.",
        ),
        thread_share=0.35,
    ),
    Persona(
        "data_nerd",
        "Numbers first: effect sizes, study sizes and doses, stated plainly with the caveat they need.",
        ("protein", "exercise", "sleep", "hydration"),
        (
            "{Stat}.",
            "The numbers on {topic}: {stat_l}.",
            "Data point: {stat_l}. {Claim}.",
            "{Stat}. Effect sizes like that are rare in {topic} research.",
            "One number worth remembering about {topic}: {stat_l}.",
        ),
        ("{Topic} in 4 numbers 🧵", "4 numbers on {topic} that changed how the research reads 🧵"),
        ("{Stat}.", "{Stat}.", "{Stat}.", "Why it matters: {claim_l}."),
        ("Numbers are averages and your mileage will vary. Bottom line on {topic}: {claim_l}.",),
        thread_share=0.3,
    ),
    Persona(
        "coach",
        "Encouraging coach: one concrete action, why it works, and an invitation to try it today.",
        ("exercise", "stress", "protein", "sleep"),
        (
            "{Tip}. {Claim}. Who is trying this today?",
            "Today's rep: {tip_l}. Small, boring, effective. Can you do it this week?",
            "{Claim}. So here is the move: {tip_l}. Are you in?",
            "Your {topic} homework: {tip_l}. Report back tomorrow?",
        ),
    ),
    Persona(
        "myth_buster",
        "Calm myth buster: names a common belief about health, then what the evidence says instead.",
        ("fasting", "protein", "hydration", "sunlight", "sleep"),
        (
            "Myth: {myth}.\nTruth: {truth}.",
            "Still hearing that {myth}. Not quite: {truth}.",
            "Common belief: {myth}. What the evidence says: {truth}.",
            "Let us retire this one: {myth}. In reality, {truth}.",
        ),
    ),
    Persona(
        "contrarian",
        "Contrarian: pushes back on popular advice with a sober, unfashionable view.",
        ("fasting", "exercise", "hydration", "sunlight", "stress"),
        (
            "Unfashionable view: {claim_l}. Most advice on {topic} skips this.",
            "Popular advice says {myth}. Better advice: {truth}.",
            "The boring answer on {topic} is usually right: {claim_l}.",
            "Against the grain on {topic}: {claim_l}. Evidence beats fashion.",
        ),
    ),
    Persona(
        "provocateur",
        "Provocateur: bold, punchy claims with an exclamation mark, one hashtag.",
        ("fasting", "protein", "exercise", "sunlight"),
        (
            "Unpopular opinion: {claim_l}! #longevity",
            "Stop ignoring {topic}! {Claim}. #health",
            "Wake up: {claim_l}! #longevity",
            "Nobody wants to hear it, but {myth} is wrong! #health",
        ),
    ),
    Persona(
        "hype_merchant",
        "Biohacker hype: superlatives, exclamation marks and a stack of hashtags.",
        ("fasting", "sunlight", "protein", "hydration"),
        (
            "This is insane! {Claim}. #biohacking #longevity #health",
            "Game-changer: {tip_l}! #biohacking #wellness #longevity #healthspan",
            "Mind-blowing {topic} fact: {claim_l}! #biohacking #longevity #health",
            "Incredible! {Tip}. #biohacking #wellness #longevity",
        ),
    ),
    Persona(
        "minimalist",
        "Minimalist: one short, plain instruction; nothing else.",
        ("sleep", "hydration", "sunlight", "exercise", "stress", "protein", "fasting"),
        ("{Tip}.", "{Tip}. That is it.", "Today: {tip_l}.", "{Tip}. Nothing more."),
    ),
    Persona(
        "study_digest",
        "Research digest: a longer, careful summary of what studies found, with numbers and limits.",
        ("protein", "exercise", "sleep", "fasting", "stress"),
        (
            "Research roundup on {topic}: {stat_l}. {Claim}. Not perfect evidence, but it points one "
            "way and acting on it costs little.",
            "What studies say about {topic}: {stat_l}. Also, {claim_l}. Mostly observational: a strong "
            "hint, not a law.",
            "A careful read of the {topic} research: {stat_l}. In practice, {tip_l}. Small effects "
            "compound over decades.",
        ),
        ("A 4 part summary of the research on {topic} 🧵",),
        ("{Stat}.", "{Stat}.", "{Claim}.", "In practice: {tip_l}."),
        ("Limits: mostly observational {topic} data, so start small: {tip_l}.",),
        thread_share=0.25,
    ),
    Persona(
        "curious_asker",
        "Curious host: asks the audience a genuine question about their habits.",
        ("sleep", "stress", "exercise", "protein", "fasting", "hydration", "sunlight"),
        (
            "{Question}?",
            "Honest question for the {topic} crowd: {question}?",
            "{Claim}. So, {question}?",
            "Quick one: {question}?",
        ),
    ),
)
