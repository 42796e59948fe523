"""Sentence vectors of every chunk, stored beside the index so answering never runs the model on passages.

Each chunk's sentences are pooled from the chunk's own token vectors at indexing (`embed_with_spans`). They
are kept as int8 (each row scaled so its largest component is 127; rows are unit-length again when read,
cosine to the float vectors > 0.9999), 384 bytes a sentence for MiniLM, and memory-mapped: a query reads only
the rows of the passages it retrieved.

    sentences.npy       (sentences, dimension) int8, chunk after chunk in chunks.jsonl order
    sentence_rows.npy   (chunks + 1,) int64: chunk i's sentences are rows [i] to [i + 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IndexCorrupt

FILE = "sentences.npy"
ROWS = "sentence_rows.npy"


def quantize(vectors: np.ndarray) -> np.ndarray:
    """int8 codes, each row scaled so its largest magnitude is 127 (the scale is not kept: rows are
    re-normalised when read).

    >>> quantize(np.array([[0.5, -0.25, 0.0]], dtype=np.float32))
    array([[127, -64,   0]], dtype=int8)
    """
    peak = np.clip(np.abs(vectors).max(axis=1, keepdims=True), 1e-12, None)
    return np.round(vectors / peak * 127).astype(np.int8)


def unit_rows(codes: np.ndarray) -> np.ndarray:
    """float32 unit-length rows from int8 codes.

    >>> unit_rows(np.array([[3, -4]], dtype=np.int8))
    array([[ 0.6, -0.8]], dtype=float32)
    """
    rows = codes.astype(np.float32)
    return rows / np.clip(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12, None)


@dataclass(frozen=True)
class SentenceVectors:
    codes: np.ndarray  # (sentences, dimension) int8; memory-mapped when loaded
    rows: np.ndarray  # (chunks + 1,) int64 offsets into `codes`

    FILES = (FILE, ROWS)

    @classmethod
    def build(cls, parts: Sequence[np.ndarray], dimension: int) -> SentenceVectors:
        """From int8 codes per chunk (`quantize`d), in chunk order."""
        rows = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=rows[1:])
        codes = np.concatenate(list(parts)) if len(parts) else np.zeros((0, dimension), np.int8)
        return cls(codes.astype(np.int8, copy=False).reshape(-1, dimension), rows)

    @property
    def chunks(self) -> int:
        return len(self.rows) - 1

    def codes_of(self, chunk: int) -> np.ndarray:
        return self.codes[self.rows[chunk] : self.rows[chunk + 1]]

    def of(self, chunk: int) -> np.ndarray:
        """Unit-length vectors of the sentences of the chunk in row `chunk`."""
        return unit_rows(self.codes_of(chunk))

    def save(self, folder: Path) -> None:
        np.save(folder / FILE, np.ascontiguousarray(self.codes))
        np.save(folder / ROWS, self.rows)

    @classmethod
    def load(cls, folder: Path, chunks: int, dimension: int) -> SentenceVectors | None:
        """The generation's sentence vectors; None for an index written without them."""
        if not (folder / FILE).exists():
            return None
        try:
            codes = np.load(folder / FILE, mmap_mode="r", allow_pickle=False)
            rows = np.load(folder / ROWS, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise IndexCorrupt(f"{folder / FILE} is unreadable ({type(e).__name__})") from e
        ok = (
            codes.dtype == np.int8
            and codes.ndim == 2
            and codes.shape[1] == dimension
            and rows.shape == (chunks + 1,)
            and rows[0] == 0
            and rows[-1] == len(codes)
            and bool(np.all(np.diff(rows) >= 0))
        )
        if not ok:
            raise IndexCorrupt(f"{folder}: sentence vectors do not match its {chunks} chunks of dimension {dimension}")
        return cls(codes, rows)
