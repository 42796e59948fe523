"""Evaluation datasets, read in place from ../shared/datasets (never copied into the project).

Each loader returns a `Dataset`: questions with gold answers / gold documents, and the corpus as records
(written to a JSONL file in the cache folder and indexed by the ordinary `rag` code). Corpus records carry
`url = "<dataset>:<id>"` (or the article's real URL) so retrieved chunks map back to gold documents.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import metrics as m

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_QA = ROOT / "eval" / "data" / "bundled_qa.jsonl"
# Unanswerable questions written after the refusal threshold was set, never used to set it: off-topic ones,
# and on-topic ones the bundled articles do not answer ("What is the population of Pyongyang?").
HELDOUT_UNANSWERABLE = ROOT / "eval" / "data" / "unanswerable_heldout.jsonl"
DEV_LAST_WEEK = "20230407"  # RealTimeQA: weeks up to this one are the development split


class DatasetMissing(Exception):
    """The dataset's files are not there; the run skips it with this message."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...] = ()  # empty: unanswerable from the corpus
    gold_docs: frozenset[str] = frozenset()  # corpus record urls (or article stems for the bundled set)
    history: tuple[str, ...] = ()  # earlier questions of the conversation, asked first
    split: str = "all"
    asked: str = ""  # when the question was asked (ISO), for its "this week"; empty: the newest article's date


@dataclass(frozen=True)
class Plan:
    """How the benchmark runs a dataset, declared by its loader (`eval/suite.py` never asks for a name)."""

    depth: int = 100  # documents retrieved per question (recall@k and nDCG are read from them)
    extractive_modes: tuple[str, ...] = ("hybrid",)  # retrieval modes the extractive answer is measured under
    answer_all: bool = False  # answer every question, not `--answer-limit` of them per split
    published: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # figures printed beside ours
    baselines: Callable[[Dataset], dict[str, Any]] | None = None  # published predictions, scored by our metrics
    # Which answered rows had no answer to find (default: the question's own flag, an empty `answers`).
    unanswerable: Callable[[Dataset, list[dict]], list[bool]] | None = None
    # More runs, reported as retrieval modes: (dataset, the open RAG, progress) -> {run name: entry}.
    extra_runs: Callable[[Dataset, Any, Any], dict[str, dict[str, Any]]] | None = None


@dataclass(frozen=True)
class Dataset:
    name: str
    questions: tuple[Question, ...]
    records: tuple[dict[str, Any], ...] = ()  # corpus as JSON records; empty → `corpus_dir`
    corpus_dir: Path | None = None
    kind: str = "qa"  # "qa" (answers) or "retrieval" (documents only)
    extra: dict[str, Any] = field(default_factory=dict)
    plan: Plan = Plan()


def _require(path: Path, name: str) -> Path:
    if not path.exists():
        raise DatasetMissing(f"{name}: {path} not found; point --datasets-dir at the shared datasets folder")
    return path


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        for line in f:
            if line.strip():
                yield json.loads(line)


def bundled(_: Path) -> Dataset:
    questions = []
    for row in _jsonl(BUNDLED_QA):
        questions.append(
            Question(
                id=row["id"],
                question=row["question"],
                answers=tuple(row["answers"]),
                gold_docs=frozenset([row["article"]]) if row.get("article") else frozenset(),
                history=tuple(q for q, _ in row.get("history", [])),
            )
        )
    # Every question, and the extractive answer under each retrieval mode: the set is small.
    plan = Plan(extractive_modes=("dense", "bm25", "hybrid"), answer_all=True)
    return Dataset("bundled", tuple(questions), corpus_dir=ROOT / "data" / "articles", plan=plan)


def heldout_refusal(root: Path) -> Dataset:
    """Refusal on held-out questions: per kind (split "on-topic" / "off-topic"), the bundled set's answerable
    questions plus that kind's held-out unanswerable ones, so each split has its own precision and recall."""
    answerable = [q for q in bundled(root).questions if q.answers]
    questions = []
    for row in _jsonl(HELDOUT_UNANSWERABLE):
        questions.append(Question(id=row["id"], question=row["question"], split=row["kind"]))
    for kind in sorted({q.split for q in questions}):
        questions += [dataclasses.replace(q, id=f"{q.id}@{kind}", split=kind) for q in answerable]
    return Dataset("heldout-refusal", tuple(questions), corpus_dir=ROOT / "data" / "articles")


def scifact(root: Path) -> Dataset:
    base = _require(root / "scifact", "scifact")
    qrels: dict[str, set[str]] = {}
    for line in (base / "beir" / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        qid, did, score = line.strip().split("\t")
        if int(score) > 0:
            qrels.setdefault(qid, set()).add(f"scifact:{did}")
    questions = tuple(
        Question(id=q["_id"], question=q["text"], gold_docs=frozenset(qrels[q["_id"]]))
        for q in _jsonl(base / "beir" / "queries.jsonl")
        if q["_id"] in qrels
    )
    records = tuple(
        {"url": f"scifact:{d['_id']}", "title": d["title"], "text": d["text"]}
        for d in _jsonl(base / "beir-derived" / "corpus.jsonl.gz")
    )
    plan = Plan(depth=300, published=SCIFACT_PUBLISHED, extra_runs=_whole_document_dense)
    return Dataset("scifact", questions, records, kind="retrieval", plan=plan)


SCIFACT_PUBLISHED = {
    "BM25 (BEIR paper, Elasticsearch)": {"ndcg@10": 0.665},
    "BM25 (bm25s / Pyserini, reported)": {"ndcg@10": 0.679},
    "all-MiniLM-L6-v2 (sentence-transformers / MTEB)": {"ndcg@10": 0.645},
}


def _whole_document_dense(dataset: Dataset, rag: Any, progress: Any) -> dict[str, dict[str, Any]]:
    from .suite import whole_document_dense  # the run lives with the suite's other runs

    return {"dense, whole document (BEIR protocol)": whole_document_dense(dataset, rag, progress)}


def squad(root: Path) -> Dataset:
    base = _require(root / "squad-v1.1-dev", "squad")
    data = json.loads((base / "dev-v1.1.json").read_text())["data"]
    records, questions = [], []
    for article in data:
        for i, paragraph in enumerate(article["paragraphs"]):
            url = f"squad:{article['title']}#{i}"
            records.append({"url": url, "title": article["title"].replace("_", " "), "text": paragraph["context"]})
            for qa in paragraph["qas"]:
                answers = tuple(a["text"] for a in qa["answers"])
                questions.append(Question(id=qa["id"], question=qa["question"], answers=answers, gold_docs=frozenset([url])))
    return Dataset("squad", tuple(questions), tuple(records), extra={"reference_dir": base / "reference-predictions"},
                   plan=Plan(baselines=squad_baselines))


def squad_baselines(dataset: Dataset) -> dict[str, Any]:
    """The reference predictions shipped with SQuAD dev, scored by our metric code."""
    golds = {q.id: q.answers for q in dataset.questions}
    out = {}
    for path in sorted(Path(dataset.extra["reference_dir"]).glob("*.json")):
        preds = json.loads(path.read_text())
        out[path.stem] = {k: round(v, 3) for k, v in m.squad_scores(preds, golds).items()}
    return out


def realtimeqa(root: Path) -> Dataset:
    base = _require(root / "realtimeqa", "realtimeqa")
    weeks = sorted(p.name.split("_")[0] for p in (base / "past" / "2023").glob("*_gcs.jsonl.gz"))
    if not weeks:
        raise DatasetMissing(f"realtimeqa: no *_gcs.jsonl.gz files under {base / 'past' / '2023'}")
    records: dict[str, dict[str, Any]] = {}
    retrieved: dict[str, list[str]] = {}  # question id → urls of the articles its search returned
    questions = []
    for week in weeks:
        for row in _jsonl(base / "past" / "2023" / f"{week}_gcs.jsonl.gz"):
            urls = []
            for r in row["search_result"]:
                if r.get("text") and r.get("url"):
                    records.setdefault(
                        r["url"], {"url": r["url"], "title": r.get("title", ""), "text": r["text"], "date": r.get("publish_date") or ""}
                    )
                    urls.append(r["url"])
            retrieved[row["question_id"]] = urls
        for q in _jsonl(base / "past" / "2023" / f"{week}_qa.jsonl"):
            gold = q["choices"][int(q["answer"][0])]
            questions.append(
                Question(
                    id=q["question_id"],
                    question=q["question_sentence"],
                    answers=(gold,),
                    split="dev" if week <= DEV_LAST_WEEK else "test",
                    asked=f"{week[:4]}-{week[4:6]}-{week[6:]}",
                )
            )
    return Dataset(
        "realtimeqa",
        tuple(questions),
        tuple(records.values()),
        extra={"base": base, "weeks": weeks, "search_urls": retrieved},
        plan=Plan(baselines=realtimeqa_baselines, unanswerable=realtimeqa_unanswerable),
    )


def realtimeqa_unanswerable(dataset: Dataset, rows: list[dict]) -> list[bool]:
    """A RealTimeQA question is unanswerable when none of its own searched articles contains the gold answer."""
    urls = dataset.extra["search_urls"]
    texts = {r["url"]: r["text"] for r in dataset.records}
    answers = {q.id: q.answers for q in dataset.questions}
    return [not any(m.contains_answer(texts.get(u, ""), answers[r["id"]]) for u in urls.get(r["id"], ())) for r in rows]


def realtimeqa_baselines(dataset: Dataset) -> dict[str, Any]:
    """The dataset's published predictions (GPT-3 with search and the rest) on our questions, by split."""
    base = Path(dataset.extra["base"]) / "baseline_results" / "2023"
    wanted = {q.id: q for q in dataset.questions}
    choices = {}
    for week in dataset.extra["weeks"]:
        for row in _jsonl(Path(dataset.extra["base"]) / "past" / "2023" / f"{week}_qa.jsonl"):
            choices[row["question_id"]] = row["choices"]
    scores: dict[str, dict[str, list[tuple[float, float]]]] = {}
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
            bucket.append((m.best_over(m.exact_match, text, q.answers), m.best_over(m.token_f1, text, q.answers)))
    return {
        setting: {
            split: {"exact_match": round(m.mean(e for e, _ in v), 4), "f1": round(m.mean(f for _, f in v), 4), "n": len(v)}
            for split, v in sorted(by_split.items())
        }
        for setting, by_split in sorted(scores.items())
    }


def near_duplicates(root: Path) -> Dataset:
    """News articles to copy with edits (see eval/dedup.py): RealTimeQA's development weeks when present
    (never its test weeks), else the bundled articles."""
    try:
        records = [r for r in realtimeqa(root).records if r.get("date", "")[:10] <= "2023-04-07"]
    except DatasetMissing:
        records = [
            {"url": f"bundled:{p.stem}", "title": p.stem, "text": p.read_text(encoding="utf-8"), "date": ""}
            for p in sorted((ROOT / "data" / "articles").glob("*.txt"))
        ]
    return Dataset("near-duplicates", (), tuple(records), kind="dedup")


_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][\w'’-]+(?:\s+(?:of\s+)?[A-Z0-9][\w'’-]*)+")
OVERVIEW_TOPICS = 3  # timelines asked per week


def overviews(root: Path) -> Dataset:
    """RealTimeQA's development weeks as a news archive (see eval/overview.py): per week, "What happened last
    week?" as of the week's date, and "What's the latest on X?" for the first names its questions hold."""
    rtqa = realtimeqa(root)
    dev = [q for q in rtqa.questions if q.split == "dev"]
    found: dict[str, list[str]] = rtqa.extra["search_urls"]
    stories: dict[str, set[str]] = {}
    for q in dev:
        for url in found.get(q.id, ()):
            stories.setdefault(url, set()).add(q.id)
    weeks = sorted({q.asked for q in dev})
    questions = []
    for week in weeks:
        questions.append(Question(id=f"digest-{week}", question="What happened last week?", split="digest", asked=week))
        names = list(dict.fromkeys(m.group() for q in dev if q.asked == week for m in _NAME.finditer(q.question)))
        for n, name in enumerate(names[:OVERVIEW_TOPICS]):
            questions.append(Question(id=f"timeline-{week}-{n}", question=f"What's the latest on {name}?",
                                      answers=(name,), split="timeline", asked=week))
    records = tuple(r for r in rtqa.records if r["url"] in stories)
    week_of = {q.id: q.asked for q in dev}
    return Dataset("overviews", tuple(questions), records, kind="overview",
                   extra={"weeks": weeks, "stories": stories, "week_of": week_of})


def multihop(root: Path) -> Dataset:
    """MultiHop-RAG's 500-query sample. Its article corpus is not in ../shared (upstream keeps it in Git LFS),
    so the corpus here is the evidence itself: one record per cited article (title, source, date) holding the
    facts the queries cite from it, 326 articles. Gold documents: each query's evidence articles. Split: the
    query type (inference, comparison, temporal; null queries have no evidence and are unanswerable)."""
    base = _require(root / "multihop-rag-sample500", "multihop-rag")
    queries = json.loads((base / "queries.json").read_text())["queries"]
    truth = json.loads((base / "ground_truth.json").read_text())
    articles: dict[str, dict[str, Any]] = {}
    for entry in truth.values():
        for e in entry["evidence_list"]:
            record = articles.setdefault(
                e["url"],
                {"url": e["url"], "title": e["title"], "text": "", "date": e["published_at"], "source": e["source"]},
            )
            if e["fact"] not in record["text"]:
                record["text"] = f"{record['text']}\n\n{e['fact']}".strip()
    questions = []
    for q in queries:
        entry = truth[q["id"]]
        gold = frozenset(e["url"] for e in entry["evidence_list"])
        answer = entry["answer"].strip()
        answers = () if not gold or answer.lower().startswith("insufficient") else (answer,)
        questions.append(Question(id=q["id"], question=q["question"], answers=answers, gold_docs=gold,
                                  split=q["question_type"].removesuffix("_query")))
    return Dataset("multihop-rag", tuple(questions), tuple(articles.values()), plan=Plan(published=MULTIHOP_PUBLISHED))


MULTIHOP_PUBLISHED = {
    # Tang & Yang (COLM 2024), retrieval on the full corpus (609 articles) and all 2,556 queries. Not the same
    # setting as ours (a 500-query sample over the cited facts only): shown side by side, not compared.
    "best reported (voyage-02 + bge-reranker-large), Hits@10 on the full corpus": {"recall@10": 0.747},
}


LOADERS = {
    "bundled": bundled,
    "heldout-refusal": heldout_refusal,
    "near-duplicates": near_duplicates,
    "overviews": overviews,
    "multihop-rag": multihop,
    "scifact": scifact,
    "squad": squad,
    "realtimeqa": realtimeqa,
}
