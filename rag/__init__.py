"""Question answering over news articles with numbered, verifiable citations.

    >>> from rag import ask
    >>> a = ask("what did China say was the crux?")   # doctest: +SKIP
    >>> a.text, a.citations[0].text                     # doctest: +SKIP

Importing this package is cheap: torch, sentence-transformers, FAISS and bm25s load on first use.
`app.py`, the CLI and `eval/` use only the names exported here (a test checks this).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import RagError
from .schema import Answer, Article, Chunk, Citation, Hit, IndexReport, IndexStats, ShortAnswer, Turn
from .settings import RETRIEVAL_MODES, Settings

# The rest load on first use (`import rag` imports no numpy, no index or answer code): name -> its module.
_LAZY = {
    "reader_installed": ".answer.factory",
    "backend_label": ".embed",
    "pools_spans": ".embed",
    "Library": ".ingest.library",
    "SUPPORTED_SUFFIXES": ".load",
    **dict.fromkeys(("QA", "RAG", "as_turns", "ask", "make_answerer", "open_rag"), ".pipeline"),
    **dict.fromkeys(("ProgressBars", "answer_to_html", "answer_to_markdown", "answer_to_text", "article_to_html",
                     "markdown_escape", "markdown_to_plain"), ".render"),
    "strip_markers": ".text",
}

if TYPE_CHECKING:
    from .answer.factory import reader_installed
    from .embed import backend_label, pools_spans
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
    from .text import strip_markers


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
