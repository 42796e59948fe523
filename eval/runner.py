"""Runs one dataset through the ordinary `rag` code and scores it. Returns plain JSON-ready dicts."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag import RAG, Answer, RagError, Settings, Turn
from rag.render import strip_markers

from . import metrics as m
from .datasets import Dataset, Question

MODES = ("bm25", "dense", "hybrid")
RECALL_KS = (1, 3, 5, 10, 20, 50, 100)
Progress = Callable[[Sequence[Any], str], Any]


@dataclass(frozen=True)
class RunConfig:
    limit: int | None = None  # questions (and a corpus cut down around them)
    answer_limit: int = 1000  # questions answered end to end on big datasets (retrieval runs on all)
    cache_dir: Path = Path("~/.cache/news-qa-eval").expanduser()
    llm: bool = False  # also answer with the LLM backend (RAG_LLM_BASE_URL, RAG_LLM_MODEL)
    readers: tuple[str, ...] = ()  # also answer with the reader, once per model named ("auto": the default)
    index_progress: Callable[[str, int, int], None] | None = None  # indexing's progress (bars on a terminal)


def subset(dataset: Dataset, limit: int | None) -> Dataset:
    """First `limit` questions of each kind (split, answerable or not, follow-up or not) and a corpus of their gold/searched documents plus distractors."""
    if not limit:
        return dataset
    groups: dict[tuple[str, bool, bool], list[Question]] = {}  # split × answerable × follow-up
    for q in dataset.questions:
        groups.setdefault((q.split, bool(q.answers or q.gold_docs), bool(q.history)), []).append(q)
    questions = tuple(q for qs in groups.values() for q in qs[:limit])
    if not dataset.records:
        return dataclasses.replace(dataset, questions=questions)
    wanted = {d for q in questions for d in q.gold_docs}
    for q in questions:
        wanted.update(dataset.extra.get("search_urls", {}).get(q.id, ()))
    distractors = [r for r in dataset.records if r["url"] not in wanted][: 10 * limit]
    records = tuple(r for r in dataset.records if r["url"] in wanted) + tuple(distractors)
    return dataclasses.replace(dataset, questions=questions, records=records, corpus_dir=None)  # its plan stays


def open_index(dataset: Dataset, settings: Settings, config: RunConfig) -> tuple[RAG, float]:
    """Index the corpus with the ordinary code (incremental: a cached identical index is reused)."""
    config.cache_dir.mkdir(parents=True, exist_ok=True)
    if dataset.records:
        blob = "\n".join(json.dumps(r, ensure_ascii=False, sort_keys=True) for r in dataset.records)
        digest = hashlib.sha1(blob.encode()).hexdigest()[:10]
        source = config.cache_dir / f"{dataset.name}-{digest}.jsonl"
        if not source.exists():
            source.write_text(blob + "\n", encoding="utf-8")
    else:
        assert dataset.corpus_dir is not None
        source, digest = dataset.corpus_dir, "dir"
    backend = RAG(settings).embedder_label  # int8 vectors of an older recipe: not reused
    key = f"{settings.model}|{settings.chunk_tokens}|{settings.chunk_overlap}" + ("" if backend == "torch" else f"|{backend}")
    key += "" if settings.vector_store == "faiss" else f"|{settings.vector_store}"  # a rebuild would keep the old store
    tag = hashlib.sha1(key.encode()).hexdigest()[:6]
    rag = RAG(settings.replace(index_dir=config.cache_dir / f"index-{dataset.name}-{digest}-{tag}"))
    started = time.perf_counter()
    stamp = Path(rag.settings.index_dir) / "eval-source.txt"  # which corpus file this cached index was built from
    built_from = f"{source.name} {source.stat().st_size}" if source.is_file() else ""
    if built_from and rag.exists() and stamp.is_file() and stamp.read_text() == built_from and readable(rag):
        return rag, time.perf_counter() - started  # the same corpus, already indexed: not read again
    report = rag.index([source], progress=config.index_progress, rebuild=rag.exists() and not readable(rag))
    if report.problems and not (report.added or report.unchanged or report.updated):
        raise RuntimeError(f"{dataset.name}: nothing indexed ({report.problems[0].reason})")
    if built_from:
        stamp.write_text(built_from)
    return rag, time.perf_counter() - started


def readable(rag: RAG) -> bool:
    """Whether a cached index loads (one of an older format is rebuilt, not an error)."""
    try:
        rag.stats()
        return True
    except RagError:
        return False


def doc_key(dataset: Dataset, source: str) -> str:
    """The id a gold document is known by: the record url, or the bundled article's file stem."""
    return source if dataset.records else Path(source).stem


def ranked_docs(dataset: Dataset, hits) -> list[str]:  # type: ignore[no-untyped-def]
    seen: dict[str, None] = {}
    for hit in hits:
        seen.setdefault(doc_key(dataset, hit.chunk.source), None)
    return list(seen)


def answer_text(text: str) -> str:
    """The answer without citation markers, as scored against gold answers."""
    return strip_markers(text)


def said(answer: Answer) -> str:
    """What is scored against gold answers: the short answer the user reads first, else the answer's
    sentences without markers; nothing for a refusal."""
    if answer.refused:
        return ""
    return answer.short.text if answer.short else answer_text(answer.text)


def run_retrieval(dataset: Dataset, rag: RAG, mode: str, depth: int, progress: Progress) -> tuple[list[dict], list[float]]:
    rows, latencies = [], []
    texts = {a.doc_id: a.text for a in rag.data().articles} if any(q.answers for q in dataset.questions) else {}
    for q in progress(dataset.questions, f"{dataset.name} {mode} retrieval"):
        history = tuple(Turn(h) for h in q.history)
        started = time.perf_counter()
        hits = rag.search(
            q.question, history, top_k=depth, retrieval=mode, candidates=max(depth, 100), today=q.asked or None
        )
        latencies.append(time.perf_counter() - started)
        docs = ranked_docs(dataset, hits)
        row: dict[str, Any] = {"id": q.id, "split": q.split, "mode": mode, "top_docs": docs[:10]}
        if q.gold_docs:
            row.update({f"recall@{k}": m.recall_at_k(docs, set(q.gold_docs), k) for k in RECALL_KS})
            row.update({"ndcg@10": m.ndcg_at_k(docs, set(q.gold_docs), 10), "mrr@10": m.mrr_at_k(docs, set(q.gold_docs), 10)})
        if q.answers:
            row.update(answer_recall(list(dict.fromkeys(h.chunk.doc_id for h in hits)), texts, q.answers))
        rows.append(row)
    return rows, latencies


def answer_recall(doc_ids: Sequence[str], article_texts: dict[str, str], answers: Sequence[str]) -> dict[str, float]:
    """answer_recall@k: one of the top-k distinct retrieved *articles* contains a gold answer."""
    first = next((i for i, d in enumerate(doc_ids) if m.contains_answer(article_texts[d], answers)), None)
    return {f"answer_recall@{k}": float(first is not None and first < k) for k in RECALL_KS}


def run_answers(
    dataset: Dataset, rag: RAG, mode: str, questions: Sequence[Question], progress: Progress, answerer: str = "extractive"
) -> tuple[list[dict], list[float]]:
    kind, _, model = answerer.partition(":")  # "extractive", "llm", or "reader:<model>"
    asker = rag.answering_with(answerer=kind, reader_model=model or None)
    rows, latencies = [], []
    for q in progress(questions, f"{dataset.name} {mode} answers"):
        history: list[Turn] = []
        for earlier in q.history:
            first = asker.ask(earlier, retrieval=mode, today=q.asked or None)
            history.append(Turn(earlier, first.text))
        started = time.perf_counter()
        answer = asker.ask(q.question, history, retrieval=mode, today=q.asked or None)
        latencies.append(time.perf_counter() - started)
        text = said(answer)
        cited = [doc_key(dataset, c.source) for c in answer.citations]
        row: dict[str, Any] = {
            "id": q.id,
            "split": q.split,
            "mode": mode,
            "question": q.question,
            "answer": answer.text,
            "refused": answer.refused,
            "confidence": answer.confidence,
            "cited": cited,
            "unanswerable": not q.answers,
            "llm_used": answer.backend == "llm",
            "short": answer.short.text if answer.short else None,
            "reader_score": answer.reader_score,
            "seconds": round(latencies[-1], 3),
            "unsupported": len(answer.unsupported),
        }
        if q.answers:
            row["contains_gold"] = (not answer.refused) and m.contains_answer(text, q.answers)
            row["exact_match"] = 0.0 if answer.refused else m.best_over(m.exact_match, text, q.answers)
            row["f1"] = 0.0 if answer.refused else m.best_over(m.token_f1, text, q.answers)
        if q.gold_docs:
            row["cites_gold"] = bool(cited) and cited[0] in q.gold_docs
            row["any_citation_gold"] = any(c in q.gold_docs for c in cited)
        rows.append(row)
    return rows, latencies


def summarise(rows: Sequence[dict], keys: Sequence[str]) -> dict[str, float]:
    out = {}
    for key in keys:
        values = [float(r[key]) for r in rows if key in r]
        if values:
            out[key] = round(m.mean(values), 4)
    out["n"] = len(rows)
    return out


def latency(values: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": round(1000 * m.percentile(values, 50), 1), "p95_ms": round(1000 * m.percentile(values, 95), 1), "n": len(values)}
