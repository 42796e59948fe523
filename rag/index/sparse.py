"""Sparse index: BM25 (bm25s, Lucene variant) over title + passage, English stop words and Snowball stemming."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import IndexCorrupt
from ..text import _bm25s, tokenize

FOLDER = "bm25"
K1, B = 1.2, 0.75  # Lucene's defaults, also used by Milvus' BM25 (rag/index/milvus.py)


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The n best positive scores and their rows, best first (ties: lower row first).

    >>> top_n(np.array([0.0, 2.0, 1.0, 2.0]), 3)
    (array([2., 2., 1.], dtype=float32), array([1, 3, 2]))
    """
    n = min(n, int(np.count_nonzero(scores > 0)))
    if n == 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    rows = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    rows = rows[np.lexsort((rows, -scores[rows]))]
    return scores[rows].astype(np.float32), rows.astype(np.int64)


class BM25Index:
    NAME = "bm25s"  # where BM25 lives, as recorded in the manifest

    def __init__(self, retriever, size: int) -> None:  # type: ignore[no-untyped-def]
        self._retriever = retriever
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25Index:
        bm25s = _bm25s()
        retriever = bm25s.BM25(method="lucene", k1=K1, b=B)
        if texts:
            retriever.index(tokenize(texts), show_progress=False)
        return cls(retriever, len(texts))

    def search(self, query: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, row ids), best first; rows that share no term with the query are left out.

        Scores come from bm25s' `get_scores` and the top n from a partial sort: bm25s' `retrieve` starts a
        thread pool per call, which costs more than the scoring itself (2 ms of 5 ms at 100k chunks)."""
        n = min(n, self.size)
        tokens = tokenize([query])
        if n == 0 or not tokens[0]:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores = np.asarray(self._retriever.get_scores(tokens[0]), dtype=np.float32)
        return top_n(scores, n)

    def save(self, folder: Path) -> None:
        if self.size:
            self._retriever.save(str(folder / FOLDER), show_progress=False)
        else:
            (folder / FOLDER).mkdir()

    @classmethod
    def load(cls, folder: Path, size: int) -> BM25Index:
        if size == 0:
            return cls.build([])
        try:
            retriever = _bm25s().BM25.load(str(folder / FOLDER), show_progress=False, mmap=False)
        except (OSError, ValueError, KeyError) as e:
            raise IndexCorrupt(f"{folder / FOLDER} is unreadable ({type(e).__name__})") from e
        return cls(retriever, size)
