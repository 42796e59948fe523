"""News overviews measured on real news weeks: "What happened last week?" and "What's the latest on X?".

The set (`datasets.overviews`): RealTimeQA's development weeks (never its test weeks), the articles its
searches found for each week's questions, indexed together, with their publication dates. For each week,
the digest is asked as of that week's date (`today`). An article's story is the set of questions whose
search found it: two digest lines whose articles were found for one question are one story told twice.
Timelines are asked about the names the week's questions hold ("the latest on Title 42").

Digest: answered (not refused), lines, the share of lines dated inside the week, and the share of lines about
distinct stories. Timeline: answered, lines newest first, and the share of lines whose cited sentence names
the topic.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

from rag import Settings

from .datasets import Dataset
from .runner import Progress, RunConfig, latency, open_index, summarise

DEFAULT_WEEKS = 4  # weeks without --limit: ~700 articles, indexed in minutes on 2 cores

def evaluate_overviews(dataset: Dataset, settings: Settings, config: RunConfig, progress: Progress) -> dict[str, Any]:
    weeks = dataset.extra["weeks"][: config.limit or DEFAULT_WEEKS]
    questions = [q for q in dataset.questions if q.asked in weeks]
    stories: dict[str, set[str]] = dataset.extra["stories"]  # url → ids of the questions whose search found it
    week_of = dataset.extra["week_of"]
    # the archive as of the last week asked: the articles found for the questions of those weeks
    records = tuple(r for r in dataset.records if any(week_of[q] in weeks for q in stories[r["url"]]))
    archive = dataclasses.replace(dataset, records=records)
    rag, index_s = open_index(archive, settings.replace(answerer="extractive"), config)
    stats = rag.stats()
    rows, seconds = [], []
    for q in progress(questions, "overviews"):
        started = time.perf_counter()
        answer = rag.ask(q.question, today=q.asked)
        seconds.append(time.perf_counter() - started)
        urls = [c.url for c in answer.citations]
        row: dict[str, Any] = {"id": q.id, "split": q.split, "question": q.question, "today": q.asked,
                               "backend": answer.backend, "answered": float(not answer.refused),
                               "lines": len(answer.citations), "dates": [c.date for c in answer.citations]}
        if q.split == "digest":
            since = (dt.date.fromisoformat(q.asked) - dt.timedelta(days=7)).isoformat()
            inside = [since <= c.date <= q.asked for c in answer.citations]
            row["in_period"] = sum(inside) / len(inside) if inside else 0.0
            row["distinct_stories"] = distinct_share([stories.get(u, {u}) for u in urls]) if urls else 0.0
        else:
            topic = q.answers[0]
            dates = [c.date for c in answer.citations if c.date]
            row["newest_first"] = float(dates == sorted(dates, reverse=True)) if answer.citations else 0.0
            named = [topic.lower() in c.quote.lower() for c in answer.citations]
            row["on_topic"] = sum(named) / len(named) if named else 0.0
        rows.append(row)
    result: dict[str, Any] = {
        "dataset": dataset.name,
        "questions": len(questions),
        "index": {"articles": stats.articles, "chunks": stats.chunks, "seconds": round(index_s, 1), "path": stats.path},
        "modes": {"overviews": {"ask_latency": latency(seconds)}},
        "per_question": rows,
    }
    keys = {"digest": ["answered", "lines", "in_period", "distinct_stories"], "timeline": ["answered", "lines", "newest_first", "on_topic"]}
    for split, names in keys.items():
        part = [r for r in rows if r["split"] == split]
        if part:
            result["modes"]["overviews"][f"overview[{split}]"] = summarise(part, names)
    return result


def distinct_share(line_stories: list[set[str]]) -> float:
    """The share of lines telling a story no earlier line told (stories: sets of labels; sharing one = same).

    >>> distinct_share([{"q1"}, {"q2"}, {"q1", "q3"}, {"q4"}])
    0.75
    """
    told: set[str] = set()
    fresh = 0
    for labels in line_stories:
        fresh += not (labels & told)
        told |= labels
    return fresh / len(line_stories)
