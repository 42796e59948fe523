"""The retriever seam: each retriever ranks the index's rows for the queries; a retrieval mode is a list of
retrievers whose rankings reciprocal rank fusion joins (`retrieve.retrieve`).

A new retriever (or a reranker's first stage) is one class with `name`, `needs_vectors` and `search`, and one
line in `RETRIEVERS`; a mode that uses it is one line in `MODES` (and its name in `settings.RETRIEVAL_MODES`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..index.store import IndexData


class Retriever(Protocol):
    @property
    def name(self) -> str:
        """Its name in `Hit.ranks` and in `MODES`."""
        ...

    @property
    def needs_vectors(self) -> bool:
        """Whether it reads the queries' embeddings (else only their text)."""
        ...

    def search(
        self, data: IndexData, vectors: np.ndarray | None, queries: Sequence[str], n: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """(scores, rows) of the `n` best rows, best first: one ranking per query (or query vector)."""
        ...


@dataclass(frozen=True)
class Dense:
    """Nearest chunk vectors to each query vector (FAISS or Milvus)."""

    name: str = "dense"
    needs_vectors: bool = True

    def search(self, data: IndexData, vectors: np.ndarray | None, queries: Sequence[str], n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return [data.dense.search(vector, n) for vector in (vectors if vectors is not None else ())]


@dataclass(frozen=True)
class BM25:
    """BM25 over the chunk texts for each query text (bm25s, or the store's own full-text search)."""

    name: str = "bm25"
    needs_vectors: bool = False

    def search(self, data: IndexData, vectors: np.ndarray | None, queries: Sequence[str], n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return [data.sparse.search(query, n) for query in queries]


RETRIEVERS: dict[str, Retriever] = {r.name: r for r in (Dense(), BM25())}
MODES: dict[str, tuple[str, ...]] = {"hybrid": ("dense", "bm25"), "dense": ("dense",), "bm25": ("bm25",)}
