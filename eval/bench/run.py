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
- milvus (only when named; use --sizes 100000): the same synthetic index with vectors, chunk texts and BM25
  in a Milvus Lite collection (HNSW at 50k chunks and over), its build time, then the same fresh-process probe:
  hybrid retrieval is one `hybrid_search` fused by Milvus.
- ann (only when named): the choice of approximate index, on the same synthetic vectors: IVF (4·√n lists)
  at several probe counts against HNSW (M=32, efConstruction 200) at several search widths, with build time,
  recall@10 against exact and search p50.
- gpu: embedding throughput with torch on a GPU (fp32 and fp16, by batch size) when one is present.
- peers (only when named; installs LangChain and LlamaIndex into venvs of their own under --cache-dir): this
  project against both, built the way their tutorials build a hybrid retriever, on a SciFact sample with the
  same model files: ingest chunks per CPU-second, peak RSS, disk, BM25 / dense / hybrid p50 and p95, nDCG@10
  and recall@100, and the ratios (`peers.py`).
Writes bench.json and bench.md to --out (default eval/out/bench).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rag import Settings
from rag.chunk import embed_spans
from rag.embed import embed_all_with_spans, load_embedder

from ..__main__ import DEFAULT_DATASETS_DIR, machine
from ..datasets import ROOT
from .cold import bench_cold
from .embedding import bench_gpu, bench_ingest, bench_quality, news_chunks
from .peers import bench_peers, table
from .scale import bench_ann, bench_scale, probe

PARTS = ("ingest", "quality", "cold", "scale", "milvus", "gpu", "ann", "peers")
# "ann" builds HNSW graphs (20 min at 1M on 2 cores), "milvus" fills Milvus Lite and "peers" installs two
# frameworks: asked for by name
DEFAULT_PARTS = tuple(p for p in PARTS if p not in ("milvus", "ann", "peers"))


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
    parser.add_argument("--peer-docs", type=int, default=1200, help="peers part: SciFact documents in the sample")
    parser.add_argument("--peer-queries", type=int, default=300, help="peers part: SciFact test queries")
    parser.add_argument("--peer", action="append", choices=("langchain", "llamaindex"), help="peers part: repeatable; default both")
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
        elif part == "peers":
            peers = tuple(args.peer or ("langchain", "llamaindex"))
            result = bench_peers(args.datasets_dir, args.cache_dir, args.out / "peers", args.peer_docs, args.peer_queries, peers)
            (args.out / "peers.md").write_text(table(result) + "\n")
        else:
            embedder = load_embedder(settings.model, settings.embed_backend, settings.cache_dir)
            base, sentences = embed_all_with_spans(
                embedder, [c.embed_text() for c in chunks], [embed_spans(c) for c in chunks], settings.batch_size
            )
            result = {"base_chunks": len(chunks)}
            for n in args.sizes:
                if part == "ann":
                    result[f"{n:,} chunks"] = bench_ann(settings, n, base, questions)
                else:
                    store = "milvus" if part == "milvus" else "faiss"
                    with tempfile.TemporaryDirectory(dir=args.out) as keep:
                        result[f"{n:,} chunks"] = bench_scale(settings, n, chunks, base, sentences, questions, Path(keep), store)
                report["parts"][part] = result
                (args.out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
        result["seconds"] = round(time.perf_counter() - started, 1)
        report["parts"][part] = result
        (args.out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.out / "bench.md").write_text(markdown(report))
        print(json.dumps({part: result}, indent=1), flush=True)
    print(markdown(report))
    return 0
