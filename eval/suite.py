"""Per-dataset evaluation plans: which runs, which metrics, which published numbers beside them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag import Settings

from . import metrics as m
from .datasets import Dataset
from .dedup import evaluate_near_duplicates
from .overview import evaluate_overviews
from .runner import (
    MODES,
    RECALL_KS,
    Progress,
    RunConfig,
    latency,
    open_index,
    run_answers,
    run_retrieval,
    subset,
    summarise,
)

RETRIEVAL_KEYS = [f"recall@{k}" for k in RECALL_KS] + ["ndcg@10", "mrr@10"]
ANSWER_RECALL_KEYS = [f"answer_recall@{k}" for k in RECALL_KS]
ANSWER_KEYS = ["contains_gold", "exact_match", "f1", "cites_gold", "any_citation_gold", "llm_used", "unsupported"]


def evaluate(dataset: Dataset, settings: Settings, config: RunConfig, progress: Progress) -> dict[str, Any]:
    if dataset.kind == "dedup":
        return evaluate_near_duplicates(dataset, settings, config)
    if dataset.kind == "overview":
        return evaluate_overviews(dataset, settings, config, progress)
    dataset = subset(dataset, config.limit)
    rag, index_s = open_index(dataset, settings, config)
    stats = rag.stats()
    result: dict[str, Any] = {
        "dataset": dataset.name,
        "questions": len(dataset.questions),
        "index": {"articles": stats.articles, "chunks": stats.chunks, "seconds": round(index_s, 1), "path": stats.path},
        "modes": {},
        "per_question": [],
    }
    plan = dataset.plan
    for mode in MODES:
        rows, lat = run_retrieval(dataset, rag, mode, plan.depth, progress)
        entry: dict[str, Any] = {"retrieval_latency": latency(lat)}
        for split in sorted({r["split"] for r in rows}):
            part = [r for r in rows if r["split"] == split]
            entry[f"retrieval[{split}]"] = summarise(part, RETRIEVAL_KEYS + ANSWER_RECALL_KEYS)
        result["modes"][mode] = entry
        result["per_question"] += rows
    if dataset.kind == "qa":
        runs = [(mode, "extractive") for mode in plan.extractive_modes]
        runs += [("hybrid", f"reader:{name}") for name in config.readers]
        runs += [("hybrid", "llm")] if config.llm else []
        questions = _answer_sample(dataset, config)
        for mode, answerer in runs:
            rows, lat = run_answers(dataset, rag, mode, questions, progress, answerer)
            name = mode if answerer == "extractive" else f"{mode} + llm ({llm_label(settings)})"
            name = f"{mode} + reader {answerer.partition(':')[2]}" if answerer.startswith("reader:") else name
            rows = [r | {"run": name} for r in rows]  # "mode" is the retrieval; "run" tells the answerers apart
            entry = result["modes"].setdefault(name, {})
            entry["ask_latency"] = latency(lat)
            for split in sorted({r["split"] for r in rows}):
                part = [r for r in rows if r["split"] == split]
                entry[f"answers[{split}]"] = summarise([r for r in part if not r["unanswerable"]], ANSWER_KEYS)
                unanswerable = _unanswerable_flags(dataset, part)
                entry[f"refusal[{split}]"] = m.refusal_scores([r["refused"] for r in part], unanswerable)
            result["per_question"] += rows
    if plan.extra_runs:
        result["modes"] |= plan.extra_runs(dataset, rag, progress)
    result["published"] = {name: dict(scores) for name, scores in plan.published.items()}
    result["baselines"] = plan.baselines(dataset) if plan.baselines else {}
    return result


def whole_document_dense(dataset: Dataset, rag, progress: Progress) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The published protocol, to check our dense stack against the published number: each document's
    title + text embedded whole (the model truncates it at 256 word pieces) instead of our chunks, and
    searched exactly (inner product over all documents). Same embedder as the product."""
    import time

    import numpy as np

    embedder, batch = rag.embedder, rag.settings.batch_size
    urls = [r["url"] for r in dataset.records]
    texts = [f"{r['title']} {r['text']}" for r in dataset.records]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths batch with less padding
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        vectors[rows] = embedder.embed_texts([texts[i] for i in rows])
    rows, lat = [], []
    for q in progress(dataset.questions, "scifact whole-document dense"):
        started = time.perf_counter()
        scores = vectors @ embedder.embed_texts([q.question])[0]
        ids = np.argsort(-scores, kind="stable")[:100]
        lat.append(time.perf_counter() - started)
        docs = [urls[i] for i in ids]
        rows.append(
            {f"recall@{k}": m.recall_at_k(docs, set(q.gold_docs), k) for k in RECALL_KS}
            | {"ndcg@10": m.ndcg_at_k(docs, set(q.gold_docs), 10), "mrr@10": m.mrr_at_k(docs, set(q.gold_docs), 10)}
        )
    return {"retrieval_latency": latency(lat), "retrieval[all]": summarise(rows, RETRIEVAL_KEYS)}


def llm_label(settings: Settings) -> str:
    """The chat model's name for reports: the served model, or the local GGUF file."""
    if settings.llm_base_url:
        return settings.llm_model
    return Path(settings.llm_model_path).name if settings.llm_model_path else "bundled SmolLM2-135M-Instruct Q4_1, in process"


def _answer_sample(dataset: Dataset, config: RunConfig):  # type: ignore[no-untyped-def]
    if dataset.plan.answer_all:
        return dataset.questions
    by_split: dict[str, list] = {}
    for q in dataset.questions:
        by_split.setdefault(q.split, []).append(q)
    per = max(1, config.answer_limit // max(1, len(by_split)))
    return [q for qs in by_split.values() for q in qs[:per]]


def _unanswerable_flags(dataset: Dataset, rows: list[dict]) -> list[bool]:
    """Which rows had no answer to find: the dataset's own rule, else the question's flag (no gold answers)."""
    if dataset.plan.unanswerable:
        return dataset.plan.unanswerable(dataset, rows)
    return [r["unanswerable"] for r in rows]
