"""Stage 6, retrieve: dense + BM25 candidates fused by reciprocal rank fusion into `Hit`s.

Follow-up questions ("what did she say about China?") are searched together with the conversation:
each query variant gets its own ranked lists and RRF fuses them all.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from .errors import RagError
from .index.store import IndexData
from .schema import Hit, Turn
from .settings import Settings

_ANAPHORA = re.compile(
    r"\b(he|she|they|him|her|them|his|hers|their|theirs|it|its|this|that|these|those|there|then|"
    r"the same|the other|also|else|more|why|how come)\b",
    re.I,
)
_MARKER = re.compile(r"\s*\[\d+\]")


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


def is_follow_up(question: str) -> bool:
    """Questions that lean on the conversation: pronouns, or too few words to stand alone.

    >>> is_follow_up("what did she say about China?"), is_follow_up("Who is Liu Xiaoming, China's envoy?")
    (True, False)
    """
    return bool(_ANAPHORA.search(question)) or len(re.findall(r"\w+", question)) < 4


def search_queries(question: str, history: Sequence[Turn]) -> list[str]:
    """The question, plus conversation-aware variants when it is a follow-up.

    >>> search_queries("and her?", [Turn("who is Hua Chunying?", "A spokeswoman [1].")])
    ['and her?', 'who is Hua Chunying? and her?', 'and her? A spokeswoman.']
    """
    if not history or not is_follow_up(question):
        return [question]
    last = history[-1]
    queries = [question, f"{last.question} {question}"]
    answer = _MARKER.sub("", last.answer).strip()
    if answer:
        queries.append(f"{question} {answer[:300]}")
    return queries


def retrieve(
    data: IndexData, vectors: np.ndarray | None, queries: Sequence[str], settings: Settings
) -> tuple[Hit, ...]:
    """Top `settings.top_k` hits for the queries (and their embeddings, row per query), by `settings.retrieval` mode."""
    n = settings.candidates
    dense_lists: list[list[int]] = []
    bm25_lists: list[list[int]] = []
    dense_best: dict[int, tuple[int, float]] = {}
    bm25_best: dict[int, tuple[int, float]] = {}
    if settings.retrieval in ("hybrid", "dense"):
        if vectors is None:
            raise RagError(f"retrieval={settings.retrieval!r} needs an embedding model; use retrieval='bm25' without one")
        for vector in vectors:
            scores, ids = data.dense.search(vector, n)
            dense_lists.append(_note(ids, scores, dense_best))
    if settings.retrieval in ("hybrid", "bm25"):
        for query in queries:
            scores, ids = data.sparse.search(query, n)
            bm25_lists.append(_note(ids, scores, bm25_best))
    hits = []
    for row, score in rrf_fuse(dense_lists + bm25_lists, settings.rrf_k)[: settings.top_k]:
        d, b = dense_best.get(row), bm25_best.get(row)
        hits.append(
            Hit(
                chunk=data.chunks[row],
                score=round(score, 6),
                dense_rank=d[0] if d else None,
                bm25_rank=b[0] if b else None,
                dense_score=d[1] if d else None,
                bm25_score=b[1] if b else None,
                row=row,
            )
        )
    return tuple(hits)


def _note(ids: np.ndarray, scores: np.ndarray, best: dict[int, tuple[int, float]]) -> list[int]:
    """Record each row's best (rank, score) across queries; return the ranking as plain ints."""
    ranking = [int(i) for i in ids]
    for rank, (row, score) in enumerate(zip(ranking, scores), start=1):
        if row not in best or rank < best[row][0]:
            best[row] = (rank, float(score))
    return ranking
