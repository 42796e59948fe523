"""Stage 6, retrieve: dense + BM25 candidates fused by reciprocal rank fusion into `Hit`s.

Follow-up questions ("what did she say about China?") are searched together with the conversation
(`followups.py`): each query variant gets its own ranked lists and RRF fuses them all. Publication dates,
given (`since` / `until`) or read from the question ("in 2021", "last week", "the latest"), filter the
candidates or are fused in as one more ranking (`dates.py`). Where BM25 lives in the vector store (Milvus),
hybrid candidates are fused there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import RagError
from ..index.store import IndexData
from ..index.vectors import in_store_hybrid
from ..schema import Hit
from ..settings import RetrievalSettings
from .dates import (
    Dates,
    check_date,
    date_mask,
    preferred,
    question_dates,
    relative_range,
    resolve_dates,
    without_phrase,
)
from .followups import is_follow_up, resolve_reference, search_queries
from .retrievers import MODES, RETRIEVERS, Retriever

__all__ = [
    "Dates", "check_date", "date_mask", "is_follow_up", "preferred", "question_dates", "relative_range",
    "resolve_dates", "resolve_reference", "retrieve", "rrf_fuse", "search_queries", "without_phrase",
]

# A date filter looks at this many of each retriever's best rows (Milvus answers at most 16,384 per search).
FILTER_FETCH = 16_384


def rrf_fuse(rankings: Sequence[Sequence[int]], k: int) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: score(d) = Σ 1 / (k + rank of d in each list), ranks from 1.

    >>> rrf_fuse([[7, 3], [3, 9]], k=60)[0][0]
    3
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def retrieve(
    data: IndexData, vectors: np.ndarray | None, queries: Sequence[str], settings: RetrievalSettings, dates: Dates = Dates()
) -> tuple[Hit, ...]:
    """Top `settings.top_k` hits for the queries (and their embeddings, row per query), by `settings.retrieval`
    mode: only chunks published within strict `dates`; with dates read from the question, those in range rank
    higher; with `dates.latest`, newer chunks rank higher. Where BM25 lives in the vector store (Milvus), hybrid
    candidates are fused there, in one `hybrid_search`."""
    retrievers = [RETRIEVERS[name] for name in MODES[settings.retrieval]]
    if vectors is None and any(r.needs_vectors for r in retrievers):
        raise RagError(f"retrieval={settings.retrieval!r} needs an embedding model; use retrieval='bm25' without one")
    best: dict[str, dict[int, tuple[int, float]]] = {r.name: {} for r in retrievers}  # row -> (rank, score)
    in_store = in_store_hybrid(data.dense) if settings.retrieval == "hybrid" and data.fuses_in_store else None
    if in_store is not None and vectors is not None:
        since, until = (dates.since, dates.until) if dates.strict else ("", "")
        fused = in_store.hybrid(vectors, queries, settings.candidates, settings.rrf_k, since, until)
    else:
        fused = rrf_fuse(_rankings(data, vectors, queries, settings, dates, retrievers, best), settings.rrf_k)
    hits = []
    for row, score in _with_dates(fused, data, dates, settings.rrf_k)[: settings.top_k]:
        d, b = best.get("dense", {}).get(row), best.get("bm25", {}).get(row)
        hits.append(
            Hit(
                chunk=data.chunks[row],
                score=round(score, 6),
                dense_rank=d[0] if d else None,
                bm25_rank=b[0] if b else None,
                dense_score=d[1] if d else None,
                bm25_score=b[1] if b else None,
                row=row,
                ranks=tuple((name, *found[row]) for name, found in best.items() if row in found),
            )
        )
    return tuple(hits)


def _rankings(
    data: IndexData,
    vectors: np.ndarray | None,
    queries: Sequence[str],
    settings: RetrievalSettings,
    dates: Dates,
    retrievers: Sequence[Retriever],
    best: dict[str, dict[int, tuple[int, float]]],
) -> list[list[int]]:
    """Each retriever's ranked rows per query (dense per vector, BM25 per query text), strict dates applied;
    each row's best (rank, score) per retriever is noted in `best[name]` for the hits."""
    allowed = date_mask(data.chunk_dates, dates) if dates.bounded and dates.strict else None
    n = settings.candidates if allowed is None else max(settings.candidates, FILTER_FETCH)
    rankings: list[list[int]] = []
    for retriever in retrievers:
        for scores, ids in retriever.search(data, vectors, queries, n):
            scores, ids = _within(scores, ids, allowed, settings.candidates)
            rankings.append(_note(ids, scores, best[retriever.name]))
    return rankings


def _with_dates(fused: list[tuple[int, float]], data: IndexData, dates: Dates, k: int) -> list[tuple[int, float]]:
    """Fused candidates with the date preferences fused in as more rankings: those in a range read from the
    question, and with `dates.latest` all of them newest first. RRF is a sum over rankings, so adding these
    to the fused scores equals fusing every ranking at once."""
    extra: list[list[int]] = []
    if dates.bounded and not dates.strict:
        inside = date_mask(data.chunk_dates, dates)
        extra.append([row for row, _ in fused if inside[row]])
    if dates.latest and data.newest_date:
        extra.append(sorted(sorted(row for row, _ in fused), key=lambda row: data.chunk_dates[row], reverse=True))
    if not extra:
        return fused
    scores = dict(fused)
    for row, score in rrf_fuse(extra, k):
        scores[row] += score
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def _within(
    scores: np.ndarray, ids: np.ndarray, allowed: np.ndarray | None, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The first `n` results whose rows are allowed (all of them when there is no filter)."""
    if allowed is None:
        return scores, ids
    keep = allowed[ids]
    return scores[keep][:n], ids[keep][:n]


def _note(ids: np.ndarray, scores: np.ndarray, best: dict[int, tuple[int, float]]) -> list[int]:
    """Record each row's best (rank, score) across queries; return the ranking as plain ints."""
    ranking = [int(i) for i in ids]
    for rank, (row, score) in enumerate(zip(ranking, scores), start=1):
        if row not in best or rank < best[row][0]:
            best[row] = (rank, float(score))
    return ranking
