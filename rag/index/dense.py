"""Dense index on FAISS, one of the vector stores behind `vectors.VectorStore`.

FAISS, chosen by size: exact inner product (flat) below `exact_below` vectors, an inverted file (IVF)
above it, where a flat scan gets too slow (the benchmark measures both, with IVF's recall@10 against
exact).
Vectors are unit length, so inner product = cosine similarity.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import IndexCorrupt
from ..text import require


def _faiss():  # type: ignore[no-untyped-def]
    return require("faiss", "pip install -r requirements.txt")


# IVF: k-means splits the vectors into 4·√n lists; a question scans the IVF_PROBE lists nearest to it.
# Chosen over HNSW by `python -m eval.bench --part ann` (recall@10 against exact, real questions, 2 cores):
#   1M synthetic MiniLM-like vectors: IVF 4,000 lists, 128 probed: 0.999 at 5.1 ms, built in 83 s;
#     HNSW M=32, efConstruction 200: efSearch 512 0.912 at 1.7 ms, 2048 0.975 at 6.9 ms, 4096 0.990
#     at 15.7 ms, built in 392 s. 100k: IVF 0.9985 at 1.4 ms; HNSW efSearch 512 0.994 at 1.2 ms.
#   42,811 real RealTimeQA chunk vectors (one-off): IVF 827 lists, 128 probed: 0.996 (64: 0.985).
IVF_PROBE = 128
IVF_TRAINING_PER_LIST = 64  # k-means sample: 64 vectors per list (FAISS wants at least 39)
# HNSW, used by the Milvus store above its exact threshold.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 512


def ivf_lists(n: int) -> int:
    """Inverted lists for n vectors: 4·√n, but never fewer than 39 training vectors per list.

    >>> ivf_lists(1_000_000), ivf_lists(100_000), ivf_lists(100)
    (4000, 1264, 2)
    """
    return max(1, min(int(4 * math.sqrt(n)), n // 39))


@contextmanager
def one_thread() -> Iterator[None]:
    """FAISS on one OpenMP thread for the duration (the setting is per calling thread; restored after).

    One question is too little work to split: on the 42,811-chunk RealTimeQA index a flat search took 5.0 ms
    on one thread and 7.1 on two, and inside `ask`, where ONNX Runtime's threads are still spinning after
    embedding the question, 16 ms (100 dev questions, search p50 27.2 → 13.0 ms and `ask` 55.3 → 32.5 ms
    once pinned to one; the eval's 420: hybrid retrieval 28.2 → 12.3 ms, `ask` 64.4 → 30.7 ms).
    """
    faiss = _faiss()
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class FaissIndex:
    NAME = "faiss"  # as recorded in the manifest
    FILE = "dense.faiss"

    def __init__(self, index) -> None:  # type: ignore[no-untyped-def]
        self._index = index

    @classmethod
    def build(cls, vectors: np.ndarray, dimension: int, exact_below: int = 50_000) -> FaissIndex:
        faiss = _faiss()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        lists = ivf_lists(len(vectors))
        if len(vectors) < exact_below or lists < 2:  # one list would be a flat scan anyway
            index = faiss.IndexFlatIP(dimension)
        else:
            # index_factory: the IVF owns its quantiser (one passed in would be freed by Python's GC)
            index = faiss.index_factory(dimension, f"IVF{lists},Flat", faiss.METRIC_INNER_PRODUCT)
            sample = min(len(vectors), IVF_TRAINING_PER_LIST * lists)
            rows = np.sort(np.random.default_rng(0).choice(len(vectors), sample, replace=False))
            index.train(vectors[rows])
            index.nprobe = IVF_PROBE
        if len(vectors):
            index.add(vectors)
        return cls(index)

    @property
    def kind(self) -> str:
        return "ivf" if hasattr(self._index, "nprobe") else "flat"

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
        with one_thread():
            scores, ids = self._index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), n)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def vectors(self) -> np.ndarray:
        if self.size == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.kind == "ivf":
            self._index.make_direct_map()  # IVF keeps vectors by list; map row ids to them first
        return self._index.reconstruct_n(0, self.size)

    def save(self, folder: Path) -> None:
        _faiss().write_index(self._index, str(folder / self.FILE))

    @classmethod
    def discard(cls, folder: Path) -> None:
        """Nothing lives outside the generation folder."""

    @classmethod
    def load(cls, folder: Path) -> FaissIndex:
        try:
            index = _faiss().read_index(str(folder / cls.FILE))
            if hasattr(index, "nprobe"):
                index.nprobe = IVF_PROBE
            return cls(index)
        except RuntimeError as e:
            raise IndexCorrupt(f"{folder / cls.FILE} is unreadable ({str(e).splitlines()[0][:100]})") from e
