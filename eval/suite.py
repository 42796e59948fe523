"""Per-dataset evaluation plans: which runs, which metrics, which published numbers beside them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rag import Settings

from . import metrics as m
from .datasets import Dataset, _jsonl
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

PUBLISHED = {
    "multihop-rag": {
        # Tang & Yang (COLM 2024), retrieval on the full corpus (609 articles) and all 2,556 queries. Not the same
        # setting as ours (a 500-query sample over the cited facts only): shown side by side, not compared.
        "best reported (voyage-02 + bge-reranker-large), Hits@10 on the full corpus": {"recall@10": 0.747},
    },
    "scifact": {
        "BM25 (BEIR paper, Elasticsearch)": {"ndcg@10": 0.665},
        "BM25 (bm25s / Pyserini, reported)": {"ndcg@10": 0.679},
        "all-MiniLM-L6-v2 (sentence-transformers / MTEB)": {"ndcg@10": 0.645},
    }
}
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
    depth = 300 if dataset.name == "scifact" else 100
    for mode in MODES:
        rows, lat = run_retrieval(dataset, rag, mode, depth, progress)
        entry: dict[str, Any] = {"retrieval_latency": latency(lat)}
        for split in sorted({r["split"] for r in rows}):
            part = [r for r in rows if r["split"] == split]
            entry[f"retrieval[{split}]"] = summarise(part, RETRIEVAL_KEYS + ANSWER_RECALL_KEYS)
        result["modes"][mode] = entry
        result["per_question"] += rows
    if dataset.kind == "qa":
        runs = [(mode, "extractive") for mode in (MODES if dataset.name == "bundled" else ("hybrid",))]
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
    if dataset.name == "scifact":
        result["modes"]["dense, whole document (BEIR protocol)"] = whole_document_dense(dataset, rag, progress)
    result["published"] = PUBLISHED.get(dataset.name, {})
    result["baselines"] = baselines(dataset)
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
    if dataset.name == "bundled":
        return dataset.questions
    by_split: dict[str, list] = {}
    for q in dataset.questions:
        by_split.setdefault(q.split, []).append(q)
    per = max(1, config.answer_limit // max(1, len(by_split)))
    return [q for qs in by_split.values() for q in qs[:per]]


def _unanswerable_flags(dataset: Dataset, rows: list[dict]) -> list[bool]:
    """Bundled: questions written to be unanswerable. RealTimeQA: none of the question's own searched
    articles contains the gold answer. SQuAD: every question is answerable."""
    if dataset.name != "realtimeqa":
        return [r["unanswerable"] for r in rows]
    urls = dataset.extra["search_urls"]
    texts = {r["url"]: r["text"] for r in dataset.records}
    answers = {q.id: q.answers for q in dataset.questions}
    return [not any(m.contains_answer(texts.get(u, ""), answers[r["id"]]) for u in urls.get(r["id"], ())) for r in rows]


def baselines(dataset: Dataset) -> dict[str, Any]:
    """Published predictions scored by the same metric code."""
    if dataset.name == "squad":
        golds = {q.id: q.answers for q in dataset.questions}
        out = {}
        for path in sorted(Path(dataset.extra["reference_dir"]).glob("*.json")):
            preds = json.loads(path.read_text())
            out[path.stem] = {k: round(v, 3) for k, v in m.squad_scores(preds, golds).items()}
        return out
    if dataset.name == "realtimeqa":
        return realtimeqa_baselines(dataset)
    return {}


def realtimeqa_baselines(dataset: Dataset) -> dict[str, Any]:
    base = Path(dataset.extra["base"]) / "baseline_results" / "2023"
    wanted = {q.id: q for q in dataset.questions}
    choices = {}
    for week in dataset.extra["weeks"]:
        for row in _jsonl(Path(dataset.extra["base"]) / "past" / "2023" / f"{week}_qa.jsonl"):
            choices[row["question_id"]] = row["choices"]
    scores: dict[str, dict[str, list[float]]] = {}
    for path in sorted(base.glob("*_qa_*.jsonl")):
        setting = path.stem.split("_qa_", 1)[1]
        if setting.startswith("nota"):
            continue
        for row in _jsonl(path):
            q = wanted.get(row["question_id"])
            if q is None:
                continue
            pred = row["prediction"]
            text = choices[q.id][int(pred[0])] if isinstance(pred, list) and pred and pred[0].isdigit() else str(pred)
            bucket = scores.setdefault(setting, {}).setdefault(q.split, [])
            bucket.append((m.best_over(m.exact_match, text, q.answers), m.best_over(m.token_f1, text, q.answers)))  # type: ignore[arg-type]
    return {
        setting: {
            split: {"exact_match": round(m.mean(e for e, _ in v), 4), "f1": round(m.mean(f for _, f in v), 4), "n": len(v)}
            for split, v in sorted(by_split.items())
        }
        for setting, by_split in sorted(scores.items())
    }
