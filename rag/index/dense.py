"""Dense index behind a narrow seam: `VectorIndex` (search + vectors).

FAISS, chosen by size: exact inner product (flat) below `exact_below` vectors, an HNSW graph above it,
where a flat scan gets too slow (the benchmark measures both, with HNSW's recall@10 against exact).
Vectors are unit length, so inner product = cosine similarity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import IndexCorrupt, MissingDependency


class VectorIndex(Protocol):
    def search(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, row ids) of the `n` nearest rows to one query vector, best first."""
        ...

    def vectors(self) -> np.ndarray:
        """All stored vectors, row-aligned with the chunks."""
        ...


def _faiss():  # type: ignore[no-untyped-def]
    try:
        import faiss
    except ImportError as e:  # pragma: no cover
        raise MissingDependency("the dense index needs faiss: pip install faiss-cpu") from e
    return faiss


# HNSW graph: 32 links per node; build and search beam widths chosen on 100k MiniLM-like vectors with
# real questions as queries (recall@10 against exact: efConstruction 80 / efSearch 128 gave 0.91;
# 200 / 256 gave 0.986; 200 / 512 gave 0.994 at 2 ms). `python -m eval.bench` re-measures it.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 512


class FaissIndex:
    FILE = "dense.faiss"

    def __init__(self, index) -> None:  # type: ignore[no-untyped-def]
        self._index = index

    @classmethod
    def build(cls, vectors: np.ndarray, dimension: int, exact_below: int = 50_000) -> "FaissIndex":
        faiss = _faiss()
        if len(vectors) < exact_below:
            index = faiss.IndexFlatIP(dimension)
        else:
            index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    @property
    def kind(self) -> str:
        return "hnsw" if hasattr(self._index, "hnsw") else "flat"

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def search(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        n = min(n, self.size)
        if n == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores, ids = self._index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), n)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def vectors(self) -> np.ndarray:
        if self.size == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.reconstruct_n(0, self.size)

    def save(self, folder: Path) -> None:
        _faiss().write_index(self._index, str(folder / self.FILE))

    @classmethod
    def load(cls, folder: Path) -> "FaissIndex":
        try:
            index = _faiss().read_index(str(folder / cls.FILE))
            if hasattr(index, "hnsw"):
                index.hnsw.efSearch = HNSW_EF_SEARCH
            return cls(index)
        except RuntimeError as e:
            raise IndexCorrupt(f"{folder / cls.FILE} is unreadable ({str(e).splitlines()[0][:100]})") from e
