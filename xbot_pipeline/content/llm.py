"""An LLM-backed generator for any OpenAI-compatible endpoint (``POST {base}/chat/completions``).

Configured by ``XBOT_LLM_BASE_URL``, ``XBOT_LLM_API_KEY``, ``XBOT_LLM_MODEL``, ``XBOT_LLM_TIMEOUT_S``.
Every failure (timeout, network, HTTP error, refusal, empty or malformed answer) is tracked as an
``error_llm_*`` event and the draft comes from the fallback generator instead, so planning never stops
because a model is down. The key is registered for redaction and never put in a message.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from xbot_pipeline.content.generators import Draft, Generator
from xbot_pipeline.content.personas import Persona
from xbot_pipeline.events import EventTracker
from xbot_pipeline.events.redact import register_secret

COMPONENT = "content"
_REFUSAL = re.compile(
    r"^\s*(i'?m sorry|i am sorry|i can(?:'|no)t|i cannot|i won'?t|as an ai|i'm unable|i am unable|sorry,)",
    re.IGNORECASE,
)
MAX_ANSWER_CHARS = 2000


class LLMError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _prompt(persona: Persona, topic: str) -> list[dict[str, str]]:
    return [
        {
            "role": "system",
            "content": (
                "You write posts for an X (Twitter) account about health and longevity. "
                f"Voice: {persona.voice} "
                "Write ONE post of at most 250 characters. No links, no medical promises, no emojis unless "
                "they fit the voice. Answer with the post text only."
            ),
        },
        {"role": "user", "content": f"Write a post about {topic}."},
    ]


def parse_answer(body: Any) -> str:
    """The post text from a chat-completions answer; ``LLMError`` when it is unusable."""
    try:
        message = body["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        raise LLMError("llm_malformed_answer", "the answer has no choices[0].message") from None
    if not isinstance(message, dict):
        raise LLMError("llm_malformed_answer", "choices[0].message is not an object")
    if message.get("refusal"):
        raise LLMError("llm_refusal", f"the model refused: {str(message['refusal'])[:200]}")
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        raise LLMError("llm_empty_answer", "the model answered with no text")
    text = content.strip().strip('"').strip()
    if _REFUSAL.match(text):
        raise LLMError("llm_refusal", f"the model refused: {text[:200]}")
    if len(text) > MAX_ANSWER_CHARS:
        raise LLMError("llm_malformed_answer", f"the answer is {len(text)} characters long")
    return text


class LLMGenerator:
    """Asks the endpoint for one single in a persona's voice; falls back on any failure."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        persona: Persona,
        fallback: Generator,
        tracker: EventTracker | None = None,
        timeout_s: float = 20.0,
        name: str = "llm",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self.persona = persona
        self.fallback = fallback
        self.tracker = tracker
        self.model = model
        self.url = base_url.rstrip("/") + "/chat/completions"
        headers = {"Content-Type": "application/json"}
        if api_key:
            register_secret(api_key)
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(5.0, timeout_s)),
            transport=transport,
        )
        self.failures = 0

    def close(self) -> None:
        self._http.close()

    def ask(self, topic: str) -> str:
        """One completion; raises ``LLMError`` with a short error type for every failure."""
        payload = {"model": self.model, "messages": _prompt(self.persona, topic), "temperature": 0.9}
        try:
            response = self._http.post(self.url, json=payload)
        except httpx.TimeoutException as exc:
            raise LLMError("llm_timeout", f"no answer within the timeout ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise LLMError("llm_unreachable", f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            raise LLMError(
                f"llm_http_{response.status_code}", f"HTTP {response.status_code}: {response.text[:200]}"
            )
        try:
            body = response.json()
        except (json.JSONDecodeError, ValueError):
            raise LLMError("llm_malformed_answer", "the answer is not JSON") from None
        return parse_answer(body)

    def generate(self, rng: random.Random, *, kind: str | None = None) -> Draft:
        topic = rng.choice(self.persona.topics)
        try:
            text = self.ask(topic)
            return Draft(
                self.name, "single", (text,), topic, {"persona": self.persona.name, "model": self.model}
            )
        except LLMError as exc:
            self.failures += 1
            if self.tracker is not None:
                self.tracker.track_error(
                    COMPONENT,
                    exc.error_type,
                    str(exc),
                    "warning",
                    {"generator": self.name, "model": self.model, "fallback": self.fallback.name},
                )
            draft = self.fallback.generate(rng, kind=kind)
            return Draft(
                draft.generator,
                draft.kind,
                draft.parts,
                draft.topic,
                {**draft.meta, "fallback_from": self.name, "llm_error": exc.error_type},
            )


@dataclass(frozen=True)
class LlmEndpoint:
    """Where the LLM generator asks for drafts (from ``XBOT_LLM_*``: ``Settings.llm_endpoint``)."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 20.0


def llm_generator(
    endpoint: LlmEndpoint | None,
    *,
    persona: Persona,
    fallback: Generator,
    tracker: EventTracker | None = None,
) -> LLMGenerator | None:
    """The LLM generator when an endpoint is configured, else None."""
    if endpoint is None:
        return None
    return LLMGenerator(
        endpoint.base_url,
        endpoint.model,
        api_key=endpoint.api_key,
        persona=persona,
        fallback=fallback,
        tracker=tracker,
        timeout_s=endpoint.timeout_s,
    )
