from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from rag import RAG, Settings
from rag.embed import embed_all, load_embedder

from ..datasets import ROOT
from ..runner import latency as ms

IVF_PROBES = (16, 32, 64, 128, 256)
HNSW_EF_SEARCHES = (128, 512, 1024, 2048, 4096)


def synthesise(base: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n unit vectors, each a random mix of two real ones plus noise; and which real row each mostly is."""
    a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
    w = rng.uniform(0.6, 1.0, (n, 1)).astype(np.float32)
    out = w * base[a] + (1 - w) * base[b]
    out += rng.normal(0, 0.02, out.shape).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float32), a


def bench_scale(settings: Settings, n: int, chunks, base: np.ndarray, sentences, questions: list[str], keep: Path, store: str = "faiss") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Synthetic n-chunk index (vectors mixed from the real ones, texts and sentence vectors of the real
    chunk each mostly is), written in the real format and probed in a fresh process. With `store="milvus"`
    the vectors, texts and BM25 go to a Milvus Lite collection (its build is timed; FAISS is not measured)."""
    import dataclasses

    from rag.index.dense import FaissIndex
    from rag.index.milvus import MilvusBM25, MilvusIndex, release
    from rag.index.sentences import SentenceVectors, quantize
    from rag.index.sparse import BM25Index
    from rag.index.store import FORMAT_VERSION, IndexData, Manifest, write_index
    from rag.schema import Article

    embedder = load_embedder(settings.model, settings.embed_backend, settings.cache_dir)
    rng = np.random.default_rng(0)
    vectors, rows = synthesise(base, n, rng)
    queries = embed_all(embedder, questions[:200], settings.batch_size)
    out: dict[str, Any] = {"chunks": n, "store": store}
    # The real on-disk format: one synthetic article per real chunk copy, texts repeated from real chunks.
    doc_chunks = tuple(
        dataclasses.replace(chunks[r], doc_id=f"synthetic-{i}", position=0, start=0, end=len(chunks[r].text))
        for i, r in enumerate(rows)
    )
    articles = tuple(Article(doc_id=c.doc_id, title=c.title, text=c.text, source=c.source) for c in doc_chunks)
    folder = keep / f"scale-{n}"
    folder.mkdir()
    if store == "milvus":
        uri = str((folder / "milvus.db").resolve())
        started = time.perf_counter()
        chosen = MilvusIndex.build(vectors, embedder.dimension, uri, "bench", settings.exact_search_below, chunks=doc_chunks)
        out["milvus_build_s"] = round(time.perf_counter() - started, 1)
        sparse = MilvusBM25(chosen)
    else:
        exact = FaissIndex.build(vectors, embedder.dimension, exact_below=n + 1)
        started = time.perf_counter()
        graph = FaissIndex.build(vectors, embedder.dimension, exact_below=0)
        out["ivf_build_s"] = round(time.perf_counter() - started, 1)
        for name, index in (("flat", exact), ("ivf", graph)):
            lat = []
            for q in queries:
                t = time.perf_counter()
                index.search(q, settings.candidates)
                lat.append(time.perf_counter() - t)
            out[f"{name}_search"] = ms(lat)
        found = [len(set(exact.search(q, 10)[1]) & set(graph.search(q, 10)[1])) / 10 for q in queries]
        out["ivf_recall@10_vs_exact"] = round(float(np.mean(found)), 4)
        chosen = graph if n >= settings.exact_search_below else exact
        started = time.perf_counter()
        sparse = BM25Index.build([c.embed_text() for c in doc_chunks])
        out["bm25_build_s"] = round(time.perf_counter() - started, 1)
        del exact, graph
    manifest = Manifest(FORMAT_VERSION, settings.model, embedder.dimension, settings.encoding, settings.chunk_tokens,
                        settings.chunk_overlap, len(articles), len(doc_chunks), "bench")
    stored = None
    if sentences is not None:
        codes = [quantize(v) for v in sentences]
        stored = SentenceVectors.build([codes[r] for r in rows], embedder.dimension)
    write_index(folder, IndexData(manifest, articles, doc_chunks, chosen, sparse, stored))
    del chosen, sparse, doc_chunks, articles, vectors, stored
    if store == "milvus":  # Milvus Lite opens its file in one process at a time: hand it to the probe
        release(uri)
    disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    out["disk_bytes_per_chunk"] = round(disk / n)
    env = {**os.environ, "RAG_INDEX_DIR": str(folder)}
    probe = subprocess.run(
        [sys.executable, "-m", "eval.bench", "--probe", json.dumps(questions[:200])],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=3600,
    )
    if probe.returncode != 0:
        raise RuntimeError(f"probe failed: {probe.stderr.strip()[-500:]}")
    measured = json.loads(probe.stdout.strip().splitlines()[-1])
    out |= measured
    out["ram_bytes_per_chunk"] = round(measured.pop("ram_bytes") / n)
    return out


def bench_ann(settings: Settings, n: int, base: np.ndarray, questions: list[str]) -> dict[str, Any]:
    """IVF against HNSW on n synthetic vectors: build seconds, then recall@10 against exact and p50 per setting."""
    import faiss

    from rag.index.dense import HNSW_EF_CONSTRUCTION, HNSW_M, FaissIndex, ivf_lists

    embedder = load_embedder(settings.model, settings.embed_backend, settings.cache_dir)
    vectors, _ = synthesise(base, n, np.random.default_rng(0))
    queries = embed_all(embedder, questions[:200], settings.batch_size)
    exact = FaissIndex.build(vectors, embedder.dimension, exact_below=n + 1)
    truth = [set(exact.search(q, 10)[1]) for q in queries]
    del exact

    def sweep(index, set_width, widths) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        out = {}
        for width in widths:
            set_width(width)
            lat, found = [], []
            for q, want in zip(queries, truth):
                t = time.perf_counter()
                _, ids = index.search(q.reshape(1, -1), settings.candidates)
                lat.append(time.perf_counter() - t)
                found.append(len(set(ids[0][:10]) & want) / 10)
            out[str(width)] = {"recall@10": round(float(np.mean(found)), 4)} | ms(lat)
        return out

    result: dict[str, Any] = {"ivf_lists": ivf_lists(n)}
    started = time.perf_counter()
    ivf = FaissIndex.build(vectors, embedder.dimension, exact_below=0)._index
    result["ivf_build_s"] = round(time.perf_counter() - started, 1)
    result["ivf_by_probes"] = sweep(ivf, lambda w: setattr(ivf, "nprobe", w), IVF_PROBES)
    ivf = None  # freed before the graph is built
    graph = faiss.IndexHNSWFlat(embedder.dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    started = time.perf_counter()
    graph.add(vectors)
    result["hnsw_build_s"] = round(time.perf_counter() - started, 1)
    result["hnsw_by_ef_search"] = sweep(graph, lambda w: setattr(graph.hnsw, "efSearch", w), HNSW_EF_SEARCHES)
    return result


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def probe(questions: list[str]) -> dict[str, Any]:
    """In a fresh process: load the index (RAM), then hybrid retrieval and extractive ask latency."""
    rag = RAG(Settings.from_env())
    rag.embedder.embed_texts(["warm up"])
    before = rss_bytes()
    started = time.perf_counter()
    rag.data()
    load_s = time.perf_counter() - started
    ram = rss_bytes() - before
    for q in questions[:5]:
        rag.ask(q)  # warm caches
    data, s = rag.data(), rag.settings
    parts: dict[str, list[float]] = {"embed_query": [], "dense_search": [], "bm25_search": []}
    for q in questions:  # where retrieval time goes
        t = time.perf_counter()
        vector = rag.embedder.embed_texts([q])[0]
        parts["embed_query"].append(time.perf_counter() - t)
        t = time.perf_counter()
        data.dense.search(vector, s.candidates)
        parts["dense_search"].append(time.perf_counter() - t)
        t = time.perf_counter()
        data.sparse.search(q, s.candidates)
        parts["bm25_search"].append(time.perf_counter() - t)
    search, ask = [], []
    for q in questions:
        t = time.perf_counter()
        rag.search(q)
        search.append(time.perf_counter() - t)
        t = time.perf_counter()
        rag.ask(q)
        ask.append(time.perf_counter() - t)
    return {"load_s": round(load_s, 1), "ram_bytes": ram, "index_type": data.dense.kind, "retrieval": ms(search),
            "ask": ms(ask)} | {name: ms(values) for name, values in parts.items()}
