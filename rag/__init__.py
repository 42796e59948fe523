"""Question answering over news articles with numbered, verifiable citations.

    >>> from rag import ask
    >>> a = ask("what did China say was the crux?")   # doctest: +SKIP
    >>> a.text, a.citations[0].text                     # doctest: +SKIP

Importing this package is cheap: torch, sentence-transformers, FAISS and bm25s load on first use.
"""

from .errors import RagError
from .pipeline import RAG, ask, open_rag
from .schema import Answer, Article, Chunk, Citation, Hit, IndexReport, IndexStats, Turn
from .settings import Settings

__all__ = [
    "RAG",
    "Answer",
    "Article",
    "Chunk",
    "Citation",
    "Hit",
    "IndexReport",
    "IndexStats",
    "RagError",
    "Settings",
    "Turn",
    "ask",
    "open_rag",
]
