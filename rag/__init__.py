"""Question answering over news articles with numbered, verifiable citations.

    >>> from rag import ask
    >>> a = ask("what did China say was the crux?")   # doctest: +SKIP
    >>> a.text, a.citations[0].text                     # doctest: +SKIP

The public API: `ask`, `ask_stream` and `index_articles` over the default index (or the one a `Settings`
names), `open_rag` for the `RAG` handle of one index (ask, search, index, remove, stats, `answering_with`),
the result types, `Settings` (and the web chat's `AppSettings`), `RagError` and two lists of choices.
`rag.render` is the presentation module the shells share (Markdown, HTML and plain text of an answer;
progress bars). `app.py`, the CLI and `eval/` use only these (a test checks this).

Importing this package is cheap: torch, sentence-transformers, FAISS and bm25s load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import RagError
from .schema import Answer, Article, Chunk, Citation, Hit, IndexReport, IndexStats, ShortAnswer, Turn
from .settings import RETRIEVAL_MODES, AppSettings, Settings

# The rest load on first use (`import rag` imports no numpy, no index or answer code): name -> its module.
_LAZY = {
    "SUPPORTED_SUFFIXES": ".load",
    **dict.fromkeys(("RAG", "ask", "ask_stream", "index_articles", "open_rag"), ".pipeline"),
}

if TYPE_CHECKING:
    from .load import SUPPORTED_SUFFIXES
    from .pipeline import RAG, ask, ask_stream, index_articles, open_rag


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
    "RAG",
    "RETRIEVAL_MODES",
    "SUPPORTED_SUFFIXES",
    "Answer",
    "AppSettings",
    "Article",
    "Chunk",
    "Citation",
    "Hit",
    "IndexReport",
    "IndexStats",
    "RagError",
    "Settings",
    "ShortAnswer",
    "Turn",
    "ask",
    "ask_stream",
    "index_articles",
    "open_rag",
]
