"""Question answering over news articles with numbered, verifiable citations.

    >>> from rag import ask
    >>> a = ask("what did China say was the crux?")   # doctest: +SKIP
    >>> a.text, a.citations[0].text                     # doctest: +SKIP

Importing this package is cheap: torch, sentence-transformers, FAISS and bm25s load on first use.
`app.py`, the CLI and `eval/` use only the names exported here (a test checks this).
"""

from .answer.factory import reader_installed
from .embed import backend_label, pools_spans
from .errors import RagError
from .ingest.library import Library
from .load import SUPPORTED_SUFFIXES
from .pipeline import QA, RAG, as_turns, ask, make_answerer, open_rag
from .render import (
    ProgressBars,
    answer_to_html,
    answer_to_markdown,
    answer_to_text,
    article_to_html,
    markdown_escape,
    markdown_to_plain,
)
from .schema import Answer, Article, Chunk, Citation, Hit, IndexReport, IndexStats, ShortAnswer, Turn
from .settings import RETRIEVAL_MODES, Settings
from .text import strip_markers

__all__ = [
    "ProgressBars",
    "QA",
    "RAG",
    "RETRIEVAL_MODES",
    "SUPPORTED_SUFFIXES",
    "Answer",
    "Article",
    "Chunk",
    "Citation",
    "Hit",
    "IndexReport",
    "IndexStats",
    "Library",
    "RagError",
    "Settings",
    "ShortAnswer",
    "Turn",
    "answer_to_html",
    "answer_to_markdown",
    "answer_to_text",
    "article_to_html",
    "as_turns",
    "ask",
    "backend_label",
    "make_answerer",
    "markdown_escape",
    "markdown_to_plain",
    "open_rag",
    "pools_spans",
    "reader_installed",
    "strip_markers",
]
