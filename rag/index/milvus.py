"""Milvus vector store, for archives that outgrow one machine: the same `VectorStore` seam as FAISS.

`vector_store="milvus"` keeps chunk vectors in a Milvus collection instead of `dense.faiss`. With no
`milvus_uri` it runs Milvus Lite (embedded, a `milvus.db` file in the index folder); with a cluster
URI (`http://milvus.example:19530`, token in `$RAG_MILVUS_TOKEN`) the same client talks to a Milvus
cluster. Chunks, articles and BM25 stay in the generation folder. Each generation writes its vectors to a
new collection and records its name in `dense.milvus.json`, so the atomic CURRENT switch still decides
what readers see; dropping a generation drops its collection.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import IndexCorrupt, MissingDependency, RagError
from .dense import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M

log = logging.getLogger(__name__)
INSERT_BATCH = 5000
READ_BATCH = 10000  # Milvus caps one query at 16,384 rows


@lru_cache(maxsize=4)
def client(uri: str):  # type: ignore[no-untyped-def]
    """One connection per URI per process (Milvus Lite starts a local server for its file)."""
    try:
        from pymilvus import MilvusClient
    except ImportError as e:
        raise MissingDependency("vector_store='milvus' needs pymilvus and milvus-lite: pip install -r requirements.txt") from e
    logging.getLogger("pymilvus").setLevel(logging.ERROR)
    # Milvus Lite's in-process gRPC server logs a traceback for a timestamp call it does not implement
    # (the client then falls back to its own clock): noise, not an error.
    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    try:
        return MilvusClient(uri, token=os.environ.get("RAG_MILVUS_TOKEN", ""))
    except Exception as e:  # pymilvus raises MilvusException and plain connection errors
        raise RagError(f"cannot connect to Milvus at {uri!r} ({type(e).__name__}); check RAG_MILVUS_URI and that the server is up") from e


class MilvusIndex:
    NAME = "milvus"  # as recorded in the manifest
    FILE = "dense.milvus.json"

    def __init__(self, uri: str, collection: str, size: int, dimension: int) -> None:
        self.uri, self.collection, self.size, self.dimension = uri, collection, size, dimension

    @classmethod
    def build(
        cls, vectors: np.ndarray, dimension: int, uri: str, prefix: str, exact_below: int = 50_000
    ) -> "MilvusIndex":
        from pymilvus import DataType

        milvus = client(uri)
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        schema = milvus.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        params = milvus.prepare_index_params()
        if len(vectors) < exact_below:
            params.add_index("vector", index_type="FLAT", metric_type="IP")
        else:
            params.add_index("vector", index_type="HNSW", metric_type="IP", params={"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION})
        milvus.create_collection(name, schema=schema, index_params=params)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        for start in range(0, len(vectors), INSERT_BATCH):
            rows = vectors[start : start + INSERT_BATCH]
            milvus.insert(name, [{"row": start + i, "vector": v} for i, v in enumerate(rows)])
        milvus.flush(name)
        milvus.load_collection(name)
        return cls(uri, name, len(vectors), dimension)

    @property
    def kind(self) -> str:
        return "milvus"

    def search(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        n = min(n, self.size)
        if n == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        found = client(self.uri).search(
            self.collection,
            data=[np.asarray(query, dtype=np.float32)],
            limit=n,
            search_params={"metric_type": "IP", "params": {"ef": max(HNSW_EF_SEARCH, n)}},
        )[0]
        return (
            np.array([h["distance"] for h in found], dtype=np.float32),
            np.array([h["row"] for h in found], dtype=np.int64),
        )

    def vectors(self) -> np.ndarray:
        out = np.zeros((self.size, self.dimension), dtype=np.float32)
        milvus = client(self.uri)
        for start in range(0, self.size, READ_BATCH):
            rows = milvus.query(
                self.collection, filter=f"row >= {start} and row < {start + READ_BATCH}", output_fields=["row", "vector"]
            )
            for r in rows:
                out[r["row"]] = r["vector"]
        return out

    def save(self, folder: Path) -> None:
        record = {"uri": self.uri, "collection": self.collection, "size": self.size, "dimension": self.dimension}
        (folder / self.FILE).write_text(json.dumps(record) + "\n")

    @classmethod
    def load(cls, folder: Path) -> "MilvusIndex":
        try:
            record = json.loads((folder / cls.FILE).read_text())
            index = cls(record["uri"], record["collection"], int(record["size"]), int(record["dimension"]))
        except (OSError, ValueError, KeyError) as e:
            raise IndexCorrupt(f"{folder / cls.FILE} is unreadable ({type(e).__name__})") from e
        milvus = client(index.uri)
        if not milvus.has_collection(index.collection):
            raise IndexCorrupt(f"Milvus at {index.uri} has no collection {index.collection!r} (dropped by someone else?)")
        milvus.load_collection(index.collection)
        return index

    @classmethod
    def discard(cls, folder: Path) -> None:
        """Drop the collection of a generation that is being deleted (best effort)."""
        try:
            record = json.loads((folder / cls.FILE).read_text())
            milvus = client(record["uri"])
            if milvus.has_collection(record["collection"]):
                milvus.drop_collection(record["collection"])
        except Exception as e:  # never let cleanup break a successful write
            log.warning("could not drop Milvus collection for %s: %s", folder, e)
