"""Near-duplicate detection, measured through the ordinary indexing path.

The set: news articles (RealTimeQA's development weeks when ../shared is there, else the bundled two), and
for each an edited copy as another outlet would run it: another headline and outlet name, page clutter
(advertisement, "Read more" link, share prompt), about one sentence in ten dropped and about one word in
twenty changed. Everything is indexed together with `RAG.index`; the index report says which sources it
stored as copies of which article. Precision: copies found that are an article's own edited copy (or the
original, when its copy was indexed first).
Recall: edited copies found. Originals reported as copies of other originals count against precision
(some may be real syndicated copies; the report lists them so a reader can judge).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from typing import Any

from rag import RAG, Settings

from .datasets import Dataset
from .runner import RunConfig

FILLERS = ("also", "reportedly", "very", "still", "now")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def edited_copy(record: dict[str, Any], other_title: str, rng: random.Random) -> dict[str, Any]:
    """Another outlet's version of the article: new header and clutter, small rewrites."""
    sentences = _SENTENCE.split(record["text"].strip())
    kept = [s for s in sentences if rng.random() >= 0.1] or sentences[:1]
    body = []
    for sentence in kept:
        words = sentence.split()
        for _ in range(len(words) // 20):
            i = rng.randrange(len(words))
            words[i] = rng.choice(FILLERS) if rng.random() < 0.5 else f"{rng.choice(FILLERS)} {words[i]}"
        body.append(" ".join(words))
    text = "\n\n".join(["Advertisement", *body, f"Read more: {other_title}", "Share this article"])
    return {
        "url": f"copy:{record['url']}",
        "title": f"{record['title']} | The Example Times",
        "text": text,
        "publisher": "The Example Times",
        "date": record.get("date", ""),
    }


def with_copies(dataset: Dataset, limit: int | None, seed: int = 0) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Originals plus one edited copy each, shuffled; and copy url → original url."""
    rng = random.Random(seed)
    originals = [r for r in dataset.records if len(r["text"]) >= 800]
    rng.shuffle(originals)
    originals = originals[: limit or 300]
    copies = [edited_copy(r, originals[(i + 1) % len(originals)]["title"], rng) for i, r in enumerate(originals)]
    records = originals + copies
    rng.shuffle(records)
    return records, {c["url"]: o["url"] for c, o in zip(copies, originals)}


def evaluate_near_duplicates(dataset: Dataset, settings: Settings, config: RunConfig) -> dict[str, Any]:
    records, truth = with_copies(dataset, config.limit)  # --limit N: N originals and their N copies
    blob = "\n".join(json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records)
    digest = hashlib.sha1(blob.encode()).hexdigest()[:10]
    config.cache_dir.mkdir(parents=True, exist_ok=True)
    source = config.cache_dir / f"{dataset.name}-{digest}.jsonl"
    source.write_text(blob + "\n", encoding="utf-8")
    rag = RAG(settings.replace(index_dir=config.cache_dir / f"index-{dataset.name}-{digest}"))
    started = time.perf_counter()
    report = rag.index([source], rebuild=True)  # vectors of a cached run are reused; the copies are found anew
    seconds = time.perf_counter() - started
    url_of = {a.doc_id: a.source for a in rag.data().articles}
    found = {copy: url_of.get(holder, holder) for copy, holder in report.copies}
    pairs = {frozenset(pair) for pair in truth.items()}  # whichever of the two was indexed first keeps the story
    right = sum(frozenset((a, b)) in pairs for a, b in found.items())
    wrong = sorted(f"{a} → {b}" for a, b in found.items() if frozenset((a, b)) not in pairs)
    stats = rag.stats()
    return {
        "dataset": dataset.name,
        "questions": 0,
        "index": {"articles": stats.articles, "chunks": stats.chunks, "seconds": round(seconds, 1), "path": stats.path},
        "modes": {},
        "near_duplicates": {
            "originals": len(truth),
            "copies": len(truth),
            "reported": len(found),
            "precision": round(right / len(found), 4) if found else 1.0,
            "recall": round(right / len(truth), 4) if truth else 0.0,
            "stored_articles": stats.articles,
            "wrong": wrong[:10],
        },
    }
