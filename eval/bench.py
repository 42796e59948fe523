"""`python -m eval.bench`: speed, scale and memory, measured in one run on this machine.

    python -m eval.bench                       # everything: ingest, quality, cold start, 100k and 1M chunks
    python -m eval.bench --part ingest --part cold
    python -m eval.bench --part ann --sizes 100000   # IVF against HNSW (not in the default run)
    python -m eval.bench --sizes 100000        # scale figures at 100k chunks only

Parts (each reports medians, and ratios taken within the same run):
- ingest: chunks/s of each embedding backend on real news chunks (RealTimeQA articles through the
  product's clean + chunk stages; the bundled articles without ../shared), cosine to the torch vectors,
  and the end-to-end `RAG.index` rate with the default backend.
- quality: SciFact nDCG@10 (dense and hybrid) with the torch and ONNX int8 vectors.
- cold: `import rag` and `python -m rag ask` on the bundled corpus, from process start.
- scale: indexes of N chunks whose vectors are synthesised from real ones (random mixes of two real chunk
  vectors plus noise) and whose texts are real chunks repeated; exact vs approximate (IVF) search latency and
  IVF recall@10 against exact; then the real on-disk index loaded in a fresh process: hybrid retrieval and
  extractive `ask` p50/p95 for real questions, bytes per chunk on disk and in RAM.
- ann (only when named): the choice of approximate index, on the same synthetic vectors: IVF (4·√n lists)
  at several probe counts against HNSW (M=32, efConstruction 200) at several search widths, with build time,
  recall@10 against exact and search p50.
- gpu: embedding throughput with torch on a GPU (fp32 and fp16, by batch size) when one is present.
Writes bench.json and bench.md to --out (default eval/out/bench).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from rag import RAG, Settings
from rag.embed import embed_all, gpu_present, load_embedder

from .__main__ import DEFAULT_DATASETS_DIR, machine
from .datasets import LOADERS, ROOT, DatasetMissing
from .runner import latency as ms

PARTS = ("ingest", "quality", "cold", "scale", "gpu", "ann")
DEFAULT_PARTS = PARTS[:-1]  # "ann" builds HNSW graphs (20 min at 1M on 2 cores): asked for by name
IVF_PROBES = (16, 32, 64, 128, 256)
HNSW_EF_SEARCHES = (128, 512, 1024, 2048, 4096)
BACKENDS = ("torch", "onnx", "onnx-int8")
CRUX = "What did China say was the crux?"


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
        rag.embedder  # loaded before the clock starts
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
    from .runner import RunConfig, open_index, run_retrieval, summarise

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


def _timed_run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()[-300:]}")
    return time.perf_counter() - started


def _import_seconds(env: dict[str, str]) -> float:
    """`import rag` timed inside a fresh interpreter (without the interpreter's own start)."""
    code = "import time; t = time.perf_counter(); import rag; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    return float(done.stdout.strip())


def bench_cold(settings: Settings, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "RAG_INDEX_DIR": str(Path(tmp) / "index")}
        _timed_run([sys.executable, "-m", "rag", "ask", CRUX], env)  # builds the index (and the ONNX export) once
        starts = [_timed_run([sys.executable, "-c", "pass"], env) for _ in range(repeats)]
        imports = [_timed_run([sys.executable, "-c", "import rag"], env) for _ in range(repeats)]
        in_process = [_import_seconds(env) for _ in range(repeats)]
        asks = [_timed_run([sys.executable, "-m", "rag", "ask", CRUX], env) for _ in range(repeats)]
        torch_asks = [_timed_run([sys.executable, "-m", "rag", "ask", "--embed-backend", "torch", CRUX], env) for _ in range(repeats)]
    return {
        "python_start_s": round(float(np.median(starts)), 2),
        "import_rag_s": round(float(np.median(in_process)), 3),
        "python_start_and_import_rag_s": round(float(np.median(imports)), 2),
        "cli_ask_s": round(float(np.median(asks)), 2),
        "cli_ask_torch_backend_s": round(float(np.median(torch_asks)), 2),
    }


def synthesise(base: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n unit vectors, each a random mix of two real ones plus noise; and which real row each mostly is."""
    a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
    w = rng.uniform(0.6, 1.0, (n, 1)).astype(np.float32)
    out = w * base[a] + (1 - w) * base[b]
    out += rng.normal(0, 0.02, out.shape).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float32), a


def bench_scale(settings: Settings, n: int, chunks, base: np.ndarray, questions: list[str], keep: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    import dataclasses

    from rag.index.dense import FaissIndex
    from rag.index.sparse import BM25Index
    from rag.index.store import FORMAT_VERSION, IndexData, Manifest, write_index
    from rag.schema import Article

    embedder = load_embedder(settings.model, settings.embed_backend, settings.cache_dir)
    rng = np.random.default_rng(0)
    vectors, rows = synthesise(base, n, rng)
    queries = embed_all(embedder, questions[:200], settings.batch_size)
    out: dict[str, Any] = {"chunks": n}
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
    # The real on-disk format: one synthetic article per real chunk copy, texts repeated from real chunks.
    picked = [chunks[r] for r in rows]
    doc_chunks = tuple(
        dataclasses.replace(c, doc_id=f"synthetic-{i}", position=0, start=0, end=len(c.text)) for i, c in enumerate(picked)
    )
    articles = tuple(Article(doc_id=c.doc_id, title=c.title, text=c.text, source=c.source) for c in doc_chunks)
    started = time.perf_counter()
    sparse = BM25Index.build([c.embed_text() for c in doc_chunks])
    out["bm25_build_s"] = round(time.perf_counter() - started, 1)
    manifest = Manifest(FORMAT_VERSION, settings.model, embedder.dimension, settings.encoding, settings.chunk_tokens,
                        settings.chunk_overlap, len(articles), len(doc_chunks), "bench")
    folder = keep / f"scale-{n}"
    write_index(folder, IndexData(manifest, articles, doc_chunks, chosen, sparse))
    del exact, graph, sparse, doc_chunks, articles, picked, vectors
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
    del ivf
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


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# Speed benchmark ({report['machine']}, {report['started']})", ""]
    for part, result in report["parts"].items():
        lines += [f"## {part}", "", "| figure | value |", "|---|---|"]
        for key, value in _flat(result):
            lines.append(f"| {key} | {value} |")
        lines.append("")
    return "\n".join(lines)


def _flat(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _flat(v, f"{prefix} {k}".strip())]
    return [(prefix, value)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", action="append", choices=PARTS, help="repeatable; default: all but ann")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="scale and ann parts: chunks")
    parser.add_argument("--articles", type=int, default=300, help="news articles for the ingest and scale samples")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ingest-chunks", type=int, default=512, help="ingest part: chunks embedded per backend and repeat")
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "out" / "bench")
    parser.add_argument("--datasets-dir", type=Path, default=DEFAULT_DATASETS_DIR)
    parser.add_argument("--cache-dir", type=Path, default=Path("~/.cache/news-qa-eval").expanduser(), help="eval indexes")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(json.loads(args.probe))))
        return 0
    settings = Settings.from_env()
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(), "parts": {}}
    chunks, questions, source, paths = news_chunks(args.datasets_dir, args.articles, settings, args.out)
    report["sample"] = f"{len(chunks)} chunks of {source}"
    for part in args.part or DEFAULT_PARTS:
        print(f"bench: {part} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        if part == "ingest":
            result = bench_ingest(settings, chunks[: args.ingest_chunks], paths, args.repeats)
        elif part == "quality":
            result = bench_quality(settings, args.datasets_dir, args.cache_dir)
        elif part == "cold":
            result = bench_cold(settings, args.repeats)
        elif part == "gpu":
            result = bench_gpu(settings, chunks)
        else:
            embedder = load_embedder(settings.model, settings.embed_backend, settings.cache_dir)
            base = embed_all(embedder, [c.embed_text() for c in chunks], settings.batch_size)
            result = {"base_chunks": len(chunks)}
            for n in args.sizes:
                if part == "ann":
                    result[f"{n:,} chunks"] = bench_ann(settings, n, base, questions)
                else:
                    with tempfile.TemporaryDirectory(dir=args.out) as keep:
                        result[f"{n:,} chunks"] = bench_scale(settings, n, chunks, base, questions, Path(keep))
                report["parts"][part] = result
                (args.out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
        result["seconds"] = round(time.perf_counter() - started, 1)
        report["parts"][part] = result
        (args.out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.out / "bench.md").write_text(markdown(report))
        print(json.dumps({part: result}, indent=1), flush=True)
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
