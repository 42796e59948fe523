"""The sentence-transformers (PyTorch) backend: any model name or local path; the GPU when present."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from ..errors import ModelUnavailable
from ..settings import DEFAULT_MODEL
from ..text import require
from . import SpanVectors, offline_hub, pool_spans, resolve_model_path


class SentenceTransformerEmbedder:
    """sentence-transformers model, normalised output, on the GPU when one is present."""

    backend = "torch"

    def __init__(self, name: str = DEFAULT_MODEL) -> None:
        self.name = name
        self._model = load_model(name)
        self.dimension = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length)
        self.device = str(self._model.device)
        pooling = next((m for m in self._model if type(m).__name__ == "Pooling"), None)
        # Spans need mean pooling and a fast tokenizer's character offsets.
        mean_pooled = getattr(pooling, "pooling_mode", None) == "mean"
        self.pools_spans = mean_pooled and getattr(self._model.tokenizer, "is_fast", False)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            list(texts), batch_size=max(1, len(texts)), normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, SpanVectors]:
        """The texts' vectors and, per text, a vector per character span pooled from the same token
        vectors (meaningful when `pools_spans`)."""
        outputs = self._model.encode(
            list(texts), batch_size=max(1, len(texts)), output_value=None, show_progress_bar=False
        )
        offsets = self._model.tokenizer(
            list(texts), return_offsets_mapping=True, truncation=True, max_length=self.max_tokens, verbose=False
        )["offset_mapping"]
        vectors = np.stack([o["sentence_embedding"].float().cpu().numpy() for o in outputs])
        vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        tokens = [o["token_embeddings"].float().cpu().numpy() for o in outputs]
        pooled = [pool_spans(tokens[i], offsets[i], spans[i]) for i in range(len(spans))]
        return vectors.astype(np.float32), pooled

    def count_tokens(self, text: str) -> int:
        """Word pieces including the [CLS]/[SEP] the model adds."""
        return len(self._model.tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])

    def fits(self, text: str) -> bool:
        return self.count_tokens(text) <= self.max_tokens


@lru_cache(maxsize=4)
def load_model(name: str):  # type: ignore[no-untyped-def]
    offline_hub()
    SentenceTransformer = require("sentence_transformers", "pip install -r requirements.txt").SentenceTransformer
    path = resolve_model_path(name)
    try:
        return SentenceTransformer(path)
    except Exception as e:  # the library raises many types (OSError, ValueError, HF errors)
        raise ModelUnavailable(
            f"cannot load embedding model {name!r} ({type(e).__name__}); give a local sentence-transformers "
            f"folder or the bundled default {DEFAULT_MODEL!r} via --model or RAG_MODEL"
        ) from e
