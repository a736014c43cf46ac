"""The LLM generator against a real local OpenAI-compatible endpoint, with every failure and the fallback."""

from __future__ import annotations

import json
import random

import pytest
import sqlalchemy as sa

from xbot_pipeline.content.generators import template_roster
from xbot_pipeline.content.llm import LLMGenerator, llm_generator
from xbot_pipeline.content.personas import PERSONAS
from xbot_pipeline.learning.roster import build_roster
from xbot_pipeline.settings import SettingsError, load_settings
from xbot_pipeline.store.schema import system_events

KEY = "sk-test-9f8e7d6c5b4a-secret"


def make(endpoint, tracker, timeout_s: float = 5.0) -> LLMGenerator:
    fallback = template_roster()["data_nerd"]
    return LLMGenerator(
        endpoint.base_url,
        "tiny-model",
        api_key=KEY,
        persona=PERSONAS[0],
        fallback=fallback,
        tracker=tracker,
        timeout_s=timeout_s,
    )


def errors(store) -> list[tuple[str, dict]]:
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(system_events.c.event_type, system_events.c.event_data).where(system_events.c.is_error)
        ).all()
    return [(r[0], r[1]) for r in rows]


def test_a_good_answer_becomes_a_draft(llm_endpoint, tracker, store) -> None:
    gen = make(llm_endpoint, tracker)
    draft = gen.generate(random.Random(1))
    gen.close()
    assert draft.generator == "llm" and draft.kind == "single" and draft.text == llm_endpoint.text
    [req] = llm_endpoint.requests
    assert req["path"] == "/v1/chat/completions" and req["body"]["model"] == "tiny-model"
    assert req["headers"]["Authorization"] == f"Bearer {KEY}"
    assert (
        req["body"]["messages"][0]["role"] == "system"
        and PERSONAS[0].voice in req["body"]["messages"][0]["content"]
    )
    assert errors(store) == []


@pytest.mark.parametrize(
    ("mode", "error_type"),
    [
        ("slow", "llm_timeout"),
        ("http_500", "llm_http_500"),
        ("refusal", "llm_refusal"),
        ("refusal_field", "llm_refusal"),
        ("empty", "llm_empty_answer"),
        ("malformed", "llm_malformed_answer"),
        ("not_json", "llm_malformed_answer"),
    ],
)
def test_failures_are_tracked_and_fall_back(llm_endpoint, tracker, store, mode: str, error_type: str) -> None:
    llm_endpoint.mode = mode
    gen = make(llm_endpoint, tracker, timeout_s=0.5)
    draft = gen.generate(random.Random(2))
    gen.close()
    assert draft.generator == "data_nerd" and draft.meta["fallback_from"] == "llm"
    assert draft.meta["llm_error"] == error_type
    [(event_type, data)] = errors(store)
    assert event_type == f"error_{error_type}" and data["component"] == "content"
    assert data["context"]["fallback"] == "data_nerd"
    assert KEY not in json.dumps(data)


def test_an_unreachable_endpoint_falls_back(tracker, store) -> None:
    gen = LLMGenerator(
        "http://127.0.0.1:9/v1",
        "m",
        api_key=KEY,
        persona=PERSONAS[0],
        fallback=template_roster()["coach"],
        tracker=tracker,
        timeout_s=1.0,
    )
    assert gen.generate(random.Random(3)).generator == "coach"
    gen.close()
    assert errors(store)[0][0] == "error_llm_unreachable"


def test_configured_by_environment(llm_endpoint, tmp_path) -> None:
    env = {
        "XBOT_HOME": str(tmp_path),
        "XBOT_LLM_BASE_URL": llm_endpoint.base_url,
        "XBOT_LLM_API_KEY": KEY,
        "XBOT_LLM_MODEL": "tiny-model",
        "XBOT_LLM_TIMEOUT_S": "3",
    }
    settings = load_settings(env)
    assert settings.llm_timeout_s == 3.0 and KEY in settings.secrets() and KEY not in repr(settings)
    roster = build_roster(settings.llm_endpoint)
    assert "llm" in roster and len(roster) == len(PERSONAS) + 1
    roster["llm"].close()
    assert "llm" not in build_roster(load_settings({"XBOT_HOME": str(tmp_path)}).llm_endpoint)
    assert (
        llm_generator(
            load_settings({"XBOT_HOME": str(tmp_path)}).llm_endpoint,
            persona=PERSONAS[0],
            fallback=roster["coach"],
        )
        is None
    )
    with pytest.raises(SettingsError, match="XBOT_LLM_TIMEOUT_S"):
        load_settings({**env, "XBOT_LLM_TIMEOUT_S": "soon"})
