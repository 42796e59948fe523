"""Milvus store, for archives that outgrow one machine: the same `VectorStore` seam as FAISS, plus BM25.

`vector_store="milvus"` keeps each chunk's vector, text, date and BM25 terms in a Milvus collection
instead of `dense.faiss` and `bm25/`. With no `milvus_uri` it runs Milvus Lite (embedded, a `milvus.db`
file in the index folder); with a cluster URI (`http://milvus.example:19530`, token in
`$RAG_MILVUS_TOKEN`) the same client talks to a Milvus cluster.

BM25 runs in Milvus (a `BM25` function turns an analysed text field into a sparse vector) and hybrid
retrieval is one `hybrid_search` whose RRF ranker fuses the dense and BM25 lists there. The terms are
analysed here, with the same stop words and Snowball stemmer as the local bm25s index, and handed to
Milvus as space-separated words: Milvus Lite has only the `standard` tokenizer and ignores stemmer filters,
so this keeps both stores' BM25 identical on Lite and on a cluster.

Each generation writes a new collection and records its name in `dense.milvus.json`, so the atomic CURRENT
switch still decides what readers see; dropping a generation drops its collection.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import IndexCorrupt, RagError
from ..schema import Chunk
from ..settings import secret
from ..text import require, tokenize
from .dense import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M
from .sparse import K1, B

log = logging.getLogger(__name__)
INSERT_BATCH = 5000
READ_BATCH = 10000  # Milvus caps one query at 16,384 rows
MAX_TEXT_BYTES = 65_535  # Milvus' VARCHAR limit; a chunk is ~1-2 KB


@lru_cache(maxsize=4)
def client(uri: str):  # type: ignore[no-untyped-def]
    """One connection per URI per process (Milvus Lite starts a local server for its file)."""
    # gRPC's C core prints keepalive notices ("GOAWAY ... too_many_pings") to stderr on long runs unless told
    # otherwise before it starts; a setting the user made wins.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    MilvusClient = require("pymilvus", "pip install -r requirements.txt").MilvusClient
    logging.getLogger("pymilvus").setLevel(logging.ERROR)
    # Milvus Lite's in-process gRPC server logs a traceback for a timestamp call it does not implement
    # (the client then falls back to its own clock): noise, not an error.
    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    try:
        return MilvusClient(uri, token=secret("milvus_token"))
    except Exception as e:  # pymilvus raises MilvusException and plain connection errors
        raise RagError(f"cannot connect to Milvus at {uri!r} ({type(e).__name__}); check RAG_MILVUS_URI and that the server is up") from e


def release(uri: str) -> None:
    """Close this process's connection to `uri` and, for Milvus Lite, stop its embedded server, so another
    process can open the file (Lite serves one process at a time)."""
    if client.cache_info().currsize:
        client(uri).close()
        client.cache_clear()
    if "://" not in uri:
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(uri)


class MilvusIndex:
    NAME = "milvus"  # as recorded in the manifest
    FILE = "dense.milvus.json"

    def __init__(self, uri: str, collection: str, size: int, dimension: int, full_text: bool = True) -> None:
        self.uri, self.collection, self.size, self.dimension = uri, collection, size, dimension
        self.keeps_texts = full_text  # the collection holds chunk texts and BM25 (False: built from vectors alone)

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        dimension: int,
        uri: str,
        prefix: str,
        exact_below: int = 50_000,
        chunks: Sequence[Chunk] | None = None,
    ) -> MilvusIndex:
        """A new collection of `vectors` (row i = chunk i); with `chunks`, also their texts, dates and BM25."""
        milvus = client(uri)
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        schema, params = _schema(milvus, dimension, len(vectors) >= exact_below, chunks is not None)
        milvus.create_collection(name, schema=schema, index_params=params)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        for start in range(0, len(vectors), INSERT_BATCH):
            rows = [{"row": start + i, "vector": v} for i, v in enumerate(vectors[start : start + INSERT_BATCH])]
            if chunks is not None:
                batch = chunks[start : start + INSERT_BATCH]
                for row, chunk, terms in zip(rows, batch, tokenize([c.embed_text() for c in batch])):
                    row.update(_text_fields(chunk, terms))
            milvus.insert(name, rows)
        milvus.flush(name)
        milvus.load_collection(name)
        return cls(uri, name, len(vectors), dimension, chunks is not None)

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

    def search_bm25(self, query: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(BM25 scores, row ids) of the `n` best chunks for one question, best first, as `BM25Index.search`."""
        terms = " ".join(tokenize([query])[0])
        n = min(n, self.size)
        if not terms or n == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        found = client(self.uri).search(
            self.collection, data=[terms], anns_field="sparse", limit=n,
            search_params={"metric_type": "BM25"}, output_fields=["row"],
        )[0]
        # Milvus Lite reports BM25 scores negated (and sorts them so); a cluster reports them as they are.
        return (
            np.array([abs(h["distance"]) for h in found], dtype=np.float32),
            np.array([h["row"] for h in found], dtype=np.int64),
        )

    def full_text(self) -> MilvusBM25 | None:
        """The collection's BM25 side (the `FullTextStore` seam); None when it was built from vectors alone."""
        return MilvusBM25(self) if self.keeps_texts else None

    def hybrid(
        self, vectors: np.ndarray, queries: Sequence[str], n: int, k: int, since: str = "", until: str = ""
    ) -> list[tuple[int, float]]:
        """Dense search per vector and BM25 per query, `n` candidates each, fused in Milvus by reciprocal rank
        fusion with constant `k`: (row, fused score) of every candidate, best first (ties: lower row first),
        only chunks dated `since`..`until` when given. The same scores `retrieve.rrf_fuse` gives the lists."""
        from pymilvus import AnnSearchRequest, RRFRanker

        expr = date_filter(since, until)
        requests = [
            AnnSearchRequest(data=[np.asarray(v, dtype=np.float32)], anns_field="vector", limit=n, expr=expr,
                             param={"metric_type": "IP", "params": {"ef": max(HNSW_EF_SEARCH, n)}})
            for v in vectors
        ]
        for terms in (" ".join(t) for t in tokenize(list(queries))):
            if terms:
                requests.append(AnnSearchRequest(data=[terms], anns_field="sparse", limit=n, expr=expr,
                                                 param={"metric_type": "BM25"}))
        if not requests or self.size == 0:
            return []
        found = client(self.uri).hybrid_search(
            self.collection, requests, RRFRanker(k), limit=min(len(requests) * n, 16_384), output_fields=["row"]
        )[0]
        return sorted(((int(h["row"]), float(h["distance"])) for h in found), key=lambda rs: (-round(rs[1], 9), rs[0]))

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
        record = {"uri": self.uri, "collection": self.collection, "size": self.size, "dimension": self.dimension,
                  "full_text": self.keeps_texts}
        (folder / self.FILE).write_text(json.dumps(record) + "\n")

    @classmethod
    def load(cls, folder: Path) -> MilvusIndex:
        try:
            record = json.loads((folder / cls.FILE).read_text())
            index = cls(record["uri"], record["collection"], int(record["size"]), int(record["dimension"]),
                        bool(record["full_text"]))
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


class MilvusBM25:
    """The BM25 side of a full-text collection, shaped like `BM25Index` for retrieval that uses BM25 alone."""

    NAME = "milvus"  # where BM25 lives, as recorded in the manifest

    def __init__(self, index: MilvusIndex) -> None:
        self.index, self.size = index, index.size

    def search(self, query: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.index.search_bm25(query, n)

    def save(self, folder: Path) -> None:
        """Nothing to write: BM25 lives in the collection, which the store's own file points at."""


def date_filter(since: str, until: str) -> str:
    """A Milvus filter for chunks dated within `since`..`until` (ISO; "" = open; undated chunks never match).

    >>> date_filter("2024-01-01", "")
    'date != "" and date >= "2024-01-01"'
    """
    if not since and not until:
        return ""
    parts = ['date != ""'] + [f'date {op} "{d}"' for op, d in ((">=", since), ("<=", until)) if d]
    return " and ".join(parts)


def _schema(milvus, dimension: int, large: bool, full_text: bool):  # type: ignore[no-untyped-def]
    """The collection's fields and indexes: row id and vector; with `full_text` the chunk's text, article,
    date, and its BM25 terms analysed by Milvus' `standard` tokenizer into a sparse BM25 vector."""
    from pymilvus import DataType, Function, FunctionType

    schema = milvus.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    params = milvus.prepare_index_params()
    if large:
        graph = {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}
        params.add_index("vector", index_type="HNSW", metric_type="IP", params=graph)
    else:
        params.add_index("vector", index_type="FLAT", metric_type="IP")
    if full_text:
        schema.add_field("doc_id", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
        schema.add_field("date", DataType.VARCHAR, max_length=10)
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
        schema.add_field("terms", DataType.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True,
                         analyzer_params={"tokenizer": "standard"})
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                     input_field_names=["terms"], output_field_names=["sparse"]))
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params={"bm25_k1": K1, "bm25_b": B})
    return schema, params


def _text_fields(chunk: Chunk, terms: Sequence[str]) -> dict[str, str]:
    """What a full-text row stores besides its vector (texts cut to Milvus' VARCHAR limit, in bytes)."""
    def fit(text: str) -> str:
        return text.encode("utf-8")[:MAX_TEXT_BYTES].decode("utf-8", "ignore")

    return {"doc_id": fit(chunk.doc_id), "date": chunk.date, "text": fit(chunk.text), "terms": fit(" ".join(terms))}
