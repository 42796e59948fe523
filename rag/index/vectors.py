"""The vector store seam: one interface for a store's whole lifecycle, one factory, the kind in the manifest.

A store holds the chunk vectors of one index generation, row-aligned with chunks.jsonl. Its lifecycle:
`build_store` makes one from vectors, `save` writes what the generation folder keeps of it, `load_store`
opens it again, `search` and `vectors` read it, and `discard_store` releases what lives outside the folder
(a Milvus collection) when the generation is deleted. Which store a generation uses is recorded in its
manifest (`vector_store`), so reading never guesses from the files present; `Settings.vector_store` only
decides what the next write builds. A store that also keeps the chunk texts (Milvus) runs BM25 and the rank
fusion itself; the manifest's `bm25` says where a generation's BM25 lives.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import IndexCorrupt
from ..schema import Chunk
from ..settings import VECTOR_STORES, IndexSettings
from .dense import FaissIndex
from .milvus import MilvusIndex


@runtime_checkable
class VectorStore(Protocol):
    NAME: str  # the store's name in settings and in the manifest
    FILE: str  # what the generation folder keeps: the vectors (FAISS) or a pointer to them (Milvus)

    @property
    def size(self) -> int: ...

    @property
    def dimension(self) -> int: ...

    @property
    def kind(self) -> str:
        """The search structure, for reports: flat, ivf, hnsw (FAISS) or milvus."""
        ...

    def search(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, row ids) of the `n` nearest rows to one query vector, best first."""
        ...

    def vectors(self) -> np.ndarray:
        """All stored vectors, row-aligned with the chunks."""
        ...

    def save(self, folder: Path) -> None: ...


class SparseSearch(Protocol):
    """BM25 over the chunks: bm25s files (`sparse.BM25Index`) or a store's own full-text search."""

    NAME: str  # where BM25 lives, as the manifest records it
    size: int

    def search(self, query: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, row ids) of the `n` best rows for one query text, best first."""
        ...

    def save(self, folder: Path) -> None:
        """Write what the generation folder keeps of it (nothing, when it lives in the vector store)."""
        ...


@runtime_checkable
class FullTextStore(Protocol):
    """A vector store that also keeps the chunk texts, so it runs BM25 and the hybrid fusion itself."""

    def full_text(self) -> SparseSearch | None:
        """Its BM25 side; None when the store was written before it kept texts."""
        ...

    def hybrid(
        self, vectors: np.ndarray, queries: Sequence[str], n: int, k: int, since: str = "", until: str = ""
    ) -> list[tuple[int, float]]:
        """Dense and BM25 candidates fused by reciprocal rank fusion in the store: (row, score), best first."""
        ...


class StoreType(Protocol):
    """A store class as the registry holds it: its name, and how a generation's store is opened and released."""

    NAME: str
    FILE: str

    def load(self, folder: Path) -> VectorStore: ...

    def discard(self, folder: Path) -> None: ...


STORES: dict[str, StoreType] = {cls.NAME: cls for cls in (FaissIndex, MilvusIndex)}


def build_store(
    kind: str, vectors: np.ndarray, dimension: int, settings: IndexSettings, chunks: Sequence[Chunk] = ()
) -> VectorStore:
    """A new store of `kind` holding `vectors` (unit length, row i = chunk i). Milvus also keeps the chunks'
    texts and runs BM25 and the fusion itself (`full_text_search` gives that BM25 side)."""
    if kind == "milvus":
        uri = settings.milvus_uri or str((settings.index_dir / "milvus.db").resolve())
        return MilvusIndex.build(
            vectors, dimension, uri, settings.milvus_collection, settings.exact_search_below, chunks=chunks
        )
    if kind == "faiss":
        return FaissIndex.build(vectors, dimension, settings.exact_search_below)
    raise IndexCorrupt(f"unknown vector store {kind!r}; this version knows {', '.join(VECTOR_STORES)}")


def full_text_search(store: VectorStore) -> SparseSearch | None:
    """The store's own BM25, when it keeps the chunk texts (Milvus written since BM25 moved there)."""
    return store.full_text() if isinstance(store, FullTextStore) else None


def in_store_hybrid(store: VectorStore) -> FullTextStore | None:
    """The store itself as a hybrid searcher, when it can run the fusion (else None: fuse here). Whether its
    BM25 is the generation's is `IndexData.fuses_in_store`."""
    return store if isinstance(store, FullTextStore) else None


def _store_class(kind: str, folder: Path) -> StoreType:
    try:
        return STORES[kind]
    except KeyError:
        raise IndexCorrupt(
            f"{folder} uses vector store {kind!r}; this version knows {', '.join(VECTOR_STORES)}"
        ) from None


def load_store(kind: str, folder: Path) -> VectorStore:
    """The store a generation folder's manifest names."""
    return _store_class(kind, folder).load(folder)


def discard_store(kind: str, folder: Path) -> None:
    """Release what a generation's store keeps outside its folder (best effort; the folder goes anyway)."""
    cls = STORES.get(kind)
    if cls is not None:
        cls.discard(folder)
