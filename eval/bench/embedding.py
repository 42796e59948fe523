from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from rag import RAG, Settings
from rag.embed import embed_all, gpu_present, load_embedder

from ..datasets import LOADERS, ROOT, DatasetMissing
from .cold import CRUX

BACKENDS = ("torch", "onnx", "onnx-int8")


def news_chunks(datasets_dir: Path, articles: int, settings: Settings, folder: Path):  # type: ignore[no-untyped-def]
    """(chunks, questions, source name, paths) through the product's load → clean → chunk stages; the
    news sample is written to `folder` as JSONL."""
    from rag.chunk import chunk_article, token_counter
    from rag.clean import clean_document
    from rag.load import load_paths

    try:
        data = LOADERS["realtimeqa"](datasets_dir)
        feed = folder / "news.jsonl"
        feed.write_text("".join(json.dumps(r) + "\n" for r in data.records[:articles]))
        paths, questions, source = [feed], [q.question for q in data.questions], "RealTimeQA news articles"
    except DatasetMissing:
        paths, questions, source = [ROOT / "data" / "articles"], [CRUX], "the bundled articles"
    count = token_counter(settings.encoding)
    fits = load_embedder(settings.model, "onnx", settings.cache_dir).fits
    chunks = [
        c
        for doc in load_paths(paths).documents
        for c in chunk_article(clean_document(doc), settings.chunk_tokens, settings.chunk_overlap, count, fits)
    ]
    return chunks, questions, source, paths


def bench_ingest(settings: Settings, chunks, paths, repeats: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    texts = [c.embed_text() for c in chunks]
    out: dict[str, Any] = {"chunks": len(texts)}
    vectors: dict[str, np.ndarray] = {}
    for backend in BACKENDS:
        embedder = load_embedder(settings.model, backend, settings.cache_dir)
        if backend == "onnx":
            out["word_pieces_per_chunk_p50"] = int(np.median([embedder.count_tokens(t) for t in texts]))
        embed_all(embedder, texts[:64], settings.batch_size)  # warm up
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            vectors[backend] = embed_all(embedder, texts, settings.batch_size)
            times.append(time.perf_counter() - started)
        out[backend] = {"chunks_per_s": round(len(texts) / float(np.median(times)), 1)}
    for backend in BACKENDS:
        cos = (vectors[backend] * vectors["torch"]).sum(axis=1)
        out[backend] |= {
            "speedup_vs_torch": round(out[backend]["chunks_per_s"] / out["torch"]["chunks_per_s"], 2),
            "cosine_to_torch_mean": round(float(cos.mean()), 4),
            "cosine_to_torch_min": round(float(cos.min()), 4),
        }
    with tempfile.TemporaryDirectory() as tmp:  # the whole product path: load, clean, chunk, embed, write
        rag = RAG(settings.replace(index_dir=Path(tmp) / "index"))
        _ = rag.embedder  # loaded before the clock starts
        started = time.perf_counter()
        report = rag.index(paths)
        seconds = time.perf_counter() - started
        out["end_to_end"] = {
            "backend": getattr(rag.embedder, "backend", "?"),
            "chunks": report.chunks_embedded,
            "chunks_per_s": round(report.chunks_embedded / seconds, 1),
        }
        started = time.perf_counter()
        again = rag.index(paths, rebuild=True)
        out["end_to_end"]["rebuild_s"] = round(time.perf_counter() - started, 1)
        out["end_to_end"]["rebuild_chunks_embedded"] = again.chunks_embedded
    return out


def bench_quality(settings: Settings, datasets_dir: Path, cache_dir: Path) -> dict[str, Any]:
    from ..runner import RunConfig, open_index, run_retrieval, summarise

    try:
        dataset = LOADERS["scifact"](datasets_dir)
    except DatasetMissing as e:
        return {"skipped": str(e)}
    out: dict[str, Any] = {}
    quiet = lambda items, desc: items  # noqa: E731
    for backend in ("torch", "onnx-int8"):
        rag, _ = open_index(dataset, settings.replace(embed_backend=backend), RunConfig(cache_dir=cache_dir))
        for mode in ("dense", "hybrid"):
            rows, _ = run_retrieval(dataset, rag, mode, 100, quiet)
            out[f"{backend} {mode}"] = summarise(rows, ["ndcg@10", "recall@100"])
    for mode in ("dense", "hybrid"):
        out[f"delta {mode} ndcg@10"] = round(out[f"onnx-int8 {mode}"]["ndcg@10"] - out[f"torch {mode}"]["ndcg@10"], 4)
    return out


def bench_gpu(settings: Settings, chunks) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    if not gpu_present():
        return {"skipped": "no GPU on this machine (the code would pick one automatically: embed_backend=auto → torch on CUDA)"}
    embedder = load_embedder(settings.model, "torch")
    texts = [c.embed_text() for c in chunks] * max(1, 4096 // max(1, len(chunks)))
    model = embedder._model  # noqa: SLF001 (the benchmark reaches in to switch precision)
    out: dict[str, Any] = {"device": embedder.device, "chunks": len(texts)}
    for precision in ("fp32", "fp16"):
        if precision == "fp16":
            model.half()
        for batch in (32, 128, 512):
            model.encode(texts[:batch], batch_size=batch)
            started = time.perf_counter()
            model.encode(texts, batch_size=batch, normalize_embeddings=True)
            out[f"{precision} batch {batch} chunks/s"] = round(len(texts) / (time.perf_counter() - started), 1)
    return out
