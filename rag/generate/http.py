"""A chat model behind an OpenAI-compatible HTTP server, streamed.

The API key is read from the environment (RAG_LLM_API_KEY, else OPENAI_API_KEY) when a request is made,
and never logged or stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from ..errors import LLMUnavailable, RagError
from ..settings import secret
from . import delta_text


class OpenAICompatible:
    """Streaming chat completions over HTTP (httpx): `timeout_s` bounds every read and the whole reply (a
    server that trickles a token every half second is cut off at the deadline, not read for minutes)."""

    def __init__(self, base_url: str, model: str, timeout_s: float = 30.0, max_tokens: int = 400) -> None:
        if not base_url:
            raise RagError("the llm answerer needs RAG_LLM_BASE_URL, e.g. http://127.0.0.1:11434/v1 for Ollama")
        self.base_url, self.model, self.timeout_s, self.max_tokens = base_url.rstrip("/"), model, timeout_s, max_tokens

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        import httpx

        key = secret("llm_api_key")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        body = {"model": self.model, "messages": messages, "stream": True, "temperature": 0, "max_tokens": self.max_tokens}
        where = f"{self.base_url}/chat/completions"
        try:
            with httpx.stream("POST", where, json=body, headers=headers, timeout=httpx.Timeout(self.timeout_s)) as r:
                if r.status_code != 200:
                    reason = "rate limited" if r.status_code == 429 else f"HTTP {r.status_code}"
                    raise LLMUnavailable(f"the language model at {self.base_url} answered {reason}")
                deadline = time.monotonic() + self.timeout_s
                for delta in _sse_deltas(r.iter_lines(), self.base_url):
                    yield delta
                    if time.monotonic() > deadline:
                        raise LLMUnavailable(f"the language model at {self.base_url} took over {self.timeout_s:.0f} s")
        except httpx.TimeoutException as e:
            raise LLMUnavailable(f"the language model at {self.base_url} timed out after {self.timeout_s:.0f} s") from e
        except httpx.HTTPError as e:
            raise LLMUnavailable(f"cannot reach the language model at {self.base_url} ({type(e).__name__})") from e


def _sse_deltas(lines: Iterator[str], where: str) -> Iterator[str]:
    """Text deltas from an OpenAI-style server-sent-event stream."""
    got_any = False
    for line in lines:
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            break
        try:
            event = json.loads(payload)
        except ValueError as e:
            raise LLMUnavailable(f"the language model at {where} sent a malformed stream") from e
        if not isinstance(event, dict) or not isinstance(event.get("choices"), list) or not event["choices"]:
            raise LLMUnavailable(f"the language model at {where} sent a malformed stream")
        delta = delta_text(event)
        if delta:
            got_any = True
            yield delta
    if not got_any:  # no text at all (content that is not a string is not text)
        raise LLMUnavailable(f"the language model at {where} sent no answer")
