"""The answer seam: what every answerer gets (`AnswerRequest`), what it returns (an `Answer`, made with
`draft`: the pipeline adds the question, hits and query), and the `Answerer` protocol. Answerers:
`extractive.Extractive` (sentences, no model), `reader.Reader` (a short span read by a local model, over the
extractive answer) and `llm.LLMAnswerer` (a chat model writes it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..index.sentences import SentenceVectors
from ..schema import Answer, Article, Citation, Hit, Turn

REFUSAL = "The indexed articles do not contain an answer to this question."


@dataclass(frozen=True)
class AnswerRequest:
    """What an answerer gets: the question, how it was searched, and what was found."""

    question: str
    queries: tuple[str, ...]  # the search queries; [0] is the question itself
    vectors: np.ndarray  # the queries' embeddings, row per query
    hits: tuple[Hit, ...]
    sentences: SentenceVectors | None  # the index's stored sentence vectors (None: its model does not mean-pool)
    history: tuple[Turn, ...] = ()  # the conversation so far (the reader reads the last exchange)
    articles: Mapping[str, Article] = field(default_factory=dict)  # by doc id: one article's passages cite as one
    asked_vector: np.ndarray | None = None  # the question as asked, when its date words became the filter


def draft(
    text: str, citations: tuple[Citation, ...], refused: bool, confidence: float, backend: str = "extractive",
    unsupported: tuple[str, ...] = (), **rest: Any,
) -> Answer:
    """An answerer's result: an `Answer` whose question, hits, query and dates the pipeline fills in
    (`coverage`, `notice`, `short`, `reader_score` may be given too)."""
    return Answer(question="", text=text, citations=citations, refused=refused, hits=(), confidence=confidence,
                  backend=backend, unsupported=unsupported, **rest)


class Answerer(Protocol):
    """The answer seam: text pieces as they are ready, then the `Answer` (made with `draft`). An answerer
    that searches in its own way has a `rewriter` (`retrieve.followups.Rewriter`); else the conversation's
    heuristic variants are searched (`FollowUps`)."""

    def answer(self, request: AnswerRequest) -> Iterator[str | Answer]:
        ...


def pieces(text: str) -> Iterator[str]:
    """The text in word-sized pieces (spaces kept), for progressive display.

    >>> list(pieces("Seoul said no [1]."))
    ['Seoul ', 'said ', 'no ', '[1].']
    """
    start = 0
    for i, ch in enumerate(text):
        if ch == " " and i > start:
            yield text[start : i + 1]
            start = i + 1
    if start < len(text):
        yield text[start:]
