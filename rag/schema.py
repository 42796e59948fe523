"""The value types that flow between stages: Article → Chunk → Hit → Answer (with Citations).

All frozen; all JSON-friendly through `to_dict()`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

Markup = Literal["text", "markdown", "html"]


class _Record:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]


def encodable(text: str) -> str:
    """`text` as valid Unicode: a lone surrogate (a file name that is not UTF-8, a JSON "\\ud800") is written
    out as its escape, so it can be hashed, stored and shown.

    >>> encodable("caf" + chr(0xDCE9) + ".txt"), encodable("fine")
    ('caf\\\\udce9.txt', 'fine')
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class Document(_Record):
    """A raw text or HTML page as loaded, before cleaning. `key` identifies it across re-indexing."""

    key: str  # stable identity: URL, or absolute path (+ #record number)
    source: str  # what the user sees: path as given, or URL
    raw: str
    markup: Markup = "text"  # how `raw` is marked up: plain text, Markdown, or an HTML page
    origin: str = ""  # the file or URL it was read from (a feed or JSONL file holds many documents)
    title: str = ""
    url: str = ""
    date: str = ""
    publisher: str = ""

    def __post_init__(self) -> None:  # the load boundary: everything after it is valid Unicode
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                object.__setattr__(self, f.name, encodable(value))


@dataclass(frozen=True)
class Article(_Record):
    """A cleaned article. `text` is what chunk spans and citation offsets index into."""

    doc_id: str
    title: str
    text: str
    source: str  # file path or URL the article came from
    url: str = ""
    date: str = ""
    publisher: str = ""
    content_hash: str = ""
    origin: str = ""  # the file or URL it was read from (what `index --sync` checks)
    fingerprint: str = ""  # MinHash signature of its word shingles (base64), to recognise syndicated copies
    copies: tuple[str, ...] = ()  # sources (paths or URLs) of copies of this article, stored once here


@dataclass(frozen=True)
class Chunk(_Record):
    """A passage of one article: `article.text[start:end] == text`."""

    doc_id: str
    position: int  # 0-based order within the article
    start: int
    end: int
    text: str
    title: str
    source: str
    sentences: tuple[int, ...] = ()  # where each sentence ends in `text` (set at indexing; empty: unknown)
    url: str = ""  # the article's original address, when known (from its record or page; not stored per chunk)
    date: str = ""  # the article's publication date, ISO YYYY-MM-DD, when known (not stored per chunk)
    copies: tuple[str, ...] = ()  # sources of the article's syndicated copies (not stored per chunk)
    publisher: str = ""  # the article's outlet, when known (not stored per chunk)

    def embed_text(self) -> str:
        """What the embedder and BM25 see: the headline gives every passage its topic."""
        return f"{self.title}\n{self.text}" if self.title else self.text

    @property
    def text_offset(self) -> int:
        """Where `text` starts in `embed_text()`."""
        return len(self.title) + 1 if self.title else 0


@dataclass(frozen=True)
class Hit(_Record):
    """A retrieved chunk with the evidence for its rank (ranks are 1-based; None = not retrieved by that side)."""

    chunk: Chunk
    score: float  # fused (RRF) score, or the single retriever's score
    dense_rank: int | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None
    bm25_score: float | None = None
    row: int = -1  # the chunk's line in chunks.jsonl (its vector's id); -1 when not from an index
    # (retriever, rank, score) for each retriever that found it: the fields above for dense and BM25, and any other
    ranks: tuple[tuple[str, int, float], ...] = ()


@dataclass(frozen=True)
class Citation(_Record):
    """A numbered, verifiable source: the exact passage and where it sits in the cleaned article."""

    number: int
    doc_id: str
    title: str
    source: str
    text: str  # the whole passage
    start: int  # character offsets of the passage in the cleaned article
    end: int
    score: float
    url: str = ""
    # Character spans (in the cleaned article) of the sentences that support the answer.
    highlights: tuple[tuple[int, int], ...] = ()
    date: str = ""  # the article's publication date (ISO), when known
    copies: tuple[str, ...] = ()  # other sources carrying the same story (syndicated copies, stored once)
    publisher: str = ""  # the outlet: the record's or feed's publisher, an outlet line of the page, else ""

    @property
    def quote(self) -> str:
        """The cited sentences (the highlighted spans of the passage), joined; the passage when none is marked.

        >>> Citation(1, "d", "t", "a", "Talks ended. Seoul left.", 10, 34, 0.1, highlights=((23, 34),)).quote
        'Seoul left.'
        """
        parts = [self.text[max(a - self.start, 0) : max(b - self.start, 0)].strip() for a, b in self.highlights]
        return " … ".join(p for p in parts if p) or self.text

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "quote": self.quote}  # `ask --json` and `/ask` carry the cited sentences

    @classmethod
    def from_hit(cls, number: int, hit: Hit, highlights: tuple[tuple[int, int], ...] = ()) -> Citation:
        c = hit.chunk
        return cls(
            number, c.doc_id, c.title, c.source, c.text, c.start, c.end, hit.score, c.url, highlights, c.date, c.copies,
            c.publisher,
        )


@dataclass(frozen=True)
class ShortAnswer(_Record):
    """The exact words that answer, as the reader found them: a span of one cited passage.

    `text == article.text[start:end]` for the article of citation `citation` (and lies inside its passage)."""

    text: str
    citation: int  # the number of the citation whose passage holds it
    start: int  # character offsets in the cleaned article
    end: int


@dataclass(frozen=True)
class Answer(_Record):
    question: str
    text: str  # with inline [n] markers
    citations: tuple[Citation, ...]
    refused: bool
    hits: tuple[Hit, ...]
    query: str = ""  # the standalone search query actually used (differs for follow-ups)
    confidence: float = 0.0  # cosine similarity of the best supporting sentence to the question
    coverage: float = 1.0  # share of the question's content words the retrieved passages contain
    backend: str = "extractive"  # what wrote `text`: "extractive", "reader", "llm", "digest" or "timeline"
    unsupported: tuple[str, ...] = ()  # generated sentences their cited passage does not support
    notice: str = ""  # e.g. "question was shortened"
    since: str = ""  # the publication dates searched (ISO, inclusive; empty: open), given or read from the question
    until: str = ""
    short: ShortAnswer | None = None  # the reader's short answer (None: no reader, or nothing it found snapped)
    reader_score: float | None = None  # the reader's probability that the sentences answer (None: not asked)
    reader_sureness: float | None = None  # the probability it gave its reply's first token (low: a guess)
    suggestions: tuple[str, ...] = ()  # questions to ask next, about what the cited sentences name

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "citations": [c.to_dict() for c in self.citations]}


@dataclass(frozen=True)
class Turn(_Record):
    """One earlier exchange of a conversation, for follow-up questions."""

    question: str
    answer: str = ""


@dataclass(frozen=True)
class Problem(_Record):
    """A file or record that was skipped, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class Loaded(_Record):
    documents: tuple[Document, ...]
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class IndexReport(_Record):
    """What one `index` call changed."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()  # sources whose text is already indexed under another id
    copies: tuple[tuple[str, str], ...] = ()  # (source, doc id of the article that keeps it) for each copy above
    removed: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    chunks_embedded: int = 0


@dataclass(frozen=True)
class IndexStats(_Record):
    path: str
    articles: int
    chunks: int
    model: str
    dimension: int
    chunk_tokens: int
    chunk_overlap: int
    format_version: int
    documents: tuple[tuple[str, str], ...] = ()  # (doc_id, title)
    sentence_vectors: int = 0  # sentences with a stored vector; 0: answers embed candidates (--rebuild adds them)
    vector_store: str = "faiss"  # where the chunk vectors live ("faiss" or "milvus"), as the manifest records
