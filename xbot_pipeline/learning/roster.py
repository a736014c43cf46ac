"""The generator arms the planner chooses from: every persona's template generator, plus the LLM."""

from __future__ import annotations

from xbot_pipeline.content.generators import Generator, template_roster
from xbot_pipeline.content.llm import LlmEndpoint, llm_generator
from xbot_pipeline.content.personas import PERSONAS
from xbot_pipeline.events import EventTracker


def build_roster(
    llm_endpoint: LlmEndpoint | None = None, *, tracker: EventTracker | None = None, use_llm: bool = True
) -> dict[str, Generator]:
    """Template generators by name; with an LLM endpoint, also ``llm`` (falling back to a template)."""
    roster: dict[str, Generator] = dict(template_roster())
    if use_llm:
        persona = PERSONAS[0]
        llm = llm_generator(llm_endpoint, persona=persona, fallback=roster[persona.name], tracker=tracker)
        if llm is not None:
            roster[llm.name] = llm
    return roster
