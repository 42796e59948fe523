"""Shared word vocabulary (a leaf): how text becomes terms, the `[n]` citation marker, word overlap, and
the one guard for optional imports.

BM25 (`index/bm25`), the answer stage and the follow-up resolver all analyse words the same way: lower
case, English stop words out, Snowball stems.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from types import ModuleType

from .errors import MissingDependency

STOPWORDS = "en"
STEMMER = "english"
MARKER = re.compile(r"\[(\d+)\]")  # a citation marker, [n]; group 1: n
_MARKER_SPACE = re.compile(r"\s*\[\d+\]")


def require(module: str, install: str) -> ModuleType:
    """Import an optional module, or raise `MissingDependency` saying what to install.

    >>> require("json", "pip install json").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependency(f"{module} is not installed; run `{install}`") from e


def strip_markers(text: str) -> str:
    """The text without its [n] markers.

    >>> strip_markers("Seoul said no [1]. Beijing agreed [2] [3].")
    'Seoul said no. Beijing agreed.'
    """
    return _MARKER_SPACE.sub("", text).strip()


def _bm25s() -> ModuleType:
    bm25s = require("bm25s", "pip install bm25s PyStemmer")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    return require("Stemmer", "pip install PyStemmer").Stemmer(STEMMER)


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stop words out, stemmed: the same for documents and queries."""
    tokens = _bm25s().tokenize(
        list(texts), stopwords=STOPWORDS, stemmer=_stemmer(), return_ids=False, show_progress=False
    )
    return [list(t) for t in tokens]


def content_terms(texts: Sequence[str]) -> list[list[str]]:
    """Like `tokenize` with a longer stop list (question words too): the words that carry meaning."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    tokens = _bm25s().tokenize(
        list(texts), stopwords=list(STOPWORDS_EN_PLUS), stemmer=_stemmer(), return_ids=False, show_progress=False
    )
    return [list(t) for t in tokens]


def lexical_overlap(question_terms: set[str], sentence_terms: set[str]) -> float:
    """Share of the question's content terms found in the sentence.

    >>> lexical_overlap({"crux", "china"}, {"crux", "trust"})
    0.5
    """
    return len(question_terms & sentence_terms) / len(question_terms) if question_terms else 0.0
