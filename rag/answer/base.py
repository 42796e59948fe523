"""The answer seam: what every answerer gets (`AnswerRequest`), what it returns (`Draft`), and the
`Answerer` protocol. Answerers: `extractive.Extractive` (sentences, no model), `reader.Reader` (a short
span read by a local model, over the extractive answer) and `llm.LLMAnswerer` (a chat model writes it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..index.sentences import SentenceVectors
from ..schema import Article, Citation, Hit, ShortAnswer, Turn

REFUSAL = "The indexed articles do not contain an answer to this question."


@dataclass(frozen=True)
class AnswerRequest:
    """What an answerer gets: the question, how it was searched, and what was found."""

    question: str
    queries: tuple[str, ...]  # the search queries; [0] is the question itself
    vectors: np.ndarray  # the queries' embeddings, row per query
    hits: tuple[Hit, ...]
    sentences: SentenceVectors | None  # the index's stored sentence vectors (None: older index)
    history: tuple[Turn, ...] = ()  # the conversation so far (the reader reads the last exchange)
    articles: Mapping[str, Article] = field(default_factory=dict)  # by doc id: one article's passages cite as one
    asked_vector: np.ndarray | None = None  # the question as asked, when its date words became the filter


@dataclass(frozen=True)
class Draft:
    """An answerer's result, before the pipeline adds the question, hits and query to make an `Answer`."""

    text: str
    citations: tuple[Citation, ...]
    refused: bool
    confidence: float
    backend: str = "extractive"
    unsupported: tuple[str, ...] = ()
    notice: str = ""
    coverage: float = 1.0  # share of the question's content words that the passages contain
    short: ShortAnswer | None = None  # the reader's exact words, a span of one cited passage
    reader_score: float | None = None  # the reader's confidence that the sentences answer (None: no reader)


class Answerer(Protocol):
    """The answer seam: search queries for a question, then text pieces and the `Draft`."""

    def queries(self, question: str, history: Sequence[Turn]) -> tuple[list[str], str]:
        """The search queries for a question in its conversation ([0] is the question), and a notice."""
        ...

    def answer(self, request: AnswerRequest) -> Iterator[str | Draft]:
        """Text pieces as they are ready, then the `Draft`."""
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
