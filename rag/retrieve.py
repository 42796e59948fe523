"""Stage 6, retrieve: dense + BM25 candidates fused by reciprocal rank fusion into `Hit`s.

Follow-up questions ("what did she say about China?") are searched together with the conversation:
each query variant gets its own ranked lists and RRF fuses them all. Publication dates, given (`since` /
`until`) or read from the question ("in 2021", "last week", "the latest"), filter the candidates or are
fused in as one more ranking (`resolve_dates`, `retrieve`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import dataclasses
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .clean import normalise_date
from .errors import RagError
from .index.store import IndexData
from .schema import Hit, Turn
from .settings import Settings

_ANAPHORA = re.compile(
    r"\b(he|she|they|him|her|them|his|hers|their|theirs|it|its|this|that|these|those|there|then|"
    r"the same|the other|also|else|more|why|how come)\b",
    re.I,
)
_PRONOUN = re.compile(r"\b(he|she|they|him|her|them|it|this|that|these|those)\b", re.I)
_PERSONAL = {"he", "she", "they", "him", "her", "them"}
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][\w’'-]+(?: [A-Z][\w’'-]+)+")  # two or more capitalised words
_MARKER = re.compile(r"\s*\[\d+\]")
_MONTH_NAMES = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTH_YEAR = re.compile(rf"\b(?:in|during|of|since)\s+({'|'.join(_MONTH_NAMES)})\s+((?:19|20)\d{{2}})\b", re.I)
_YEAR = re.compile(r"\b(?:in|during|of)\s+((?:19|20)\d{2})\b", re.I)
_RELATIVE = re.compile(r"\b(yesterday|today|this week|last week|past week|this month|last month|past month|"
                       r"this year|last year)\b", re.I)
_LATEST = re.compile(r"\b(latest|most recent|newest|recently|lately|current|now)\b", re.I)
# A date filter looks at this many of each retriever's best rows (Milvus answers at most 16,384 per search).
FILTER_FETCH = 16_384


@dataclass(frozen=True)
class Dates:
    """Publication dates to search (ISO, inclusive; "" = open) and whether newer articles rank first."""

    since: str = ""
    until: str = ""
    latest: bool = False
    phrase: str = ""  # the words of the question they were read from ("" when given explicitly)
    strict: bool = True  # only chunks in range (given dates); False: chunks in range rank higher (read dates)

    @property
    def bounded(self) -> bool:
        return bool(self.since or self.until)


def question_dates(question: str, newest: str) -> Dates:
    """The dates a question asks about, relative ones counted back from `newest` (the newest article's
    date; relative phrases are ignored without it).

    A named year or month limits the search (strict); a relative phrase only prefers its dates: "this week"
    in a news question is loose, and reports of the week's events can be older or newer.

    >>> question_dates("What did Seoul say in 2021?", "2024-02-23")
    Dates(since='2021-01-01', until='2021-12-31', latest=False, phrase='in 2021', strict=True)
    >>> question_dates("What did China say last week?", "2024-02-23")
    Dates(since='2024-02-16', until='2024-02-23', latest=False, phrase='last week', strict=False)
    >>> question_dates("What's the latest on the talks?", "2024-02-23").latest
    True
    """
    latest = bool(_LATEST.search(question))
    match = _MONTH_YEAR.search(question)
    if match:
        month, year = _MONTH_NAMES[match.group(1).lower()], int(match.group(2))
        last = calendar.monthrange(year, month)[1]
        since = f"{year:04d}-{month:02d}-01"
        until = "" if match.group(0).lower().startswith("since") else f"{year:04d}-{month:02d}-{last:02d}"
        return Dates(since, until, latest, match.group(0))
    match = _YEAR.search(question)
    if match:
        return Dates(f"{match.group(1)}-01-01", f"{match.group(1)}-12-31", latest, match.group(0))
    match = _RELATIVE.search(question)
    if match and newest:
        since, until = relative_range(match.group(1).lower(), dt.date.fromisoformat(newest))
        return Dates(since.isoformat(), until.isoformat(), latest, match.group(0), strict=False)
    return Dates(latest=latest)


def relative_range(phrase: str, newest: dt.date) -> tuple[dt.date, dt.date]:
    """The dates a relative phrase covers, counted back from `newest`.

    >>> [d.isoformat() for d in relative_range("last month", dt.date(2024, 2, 23))]
    ['2024-01-24', '2024-02-23']
    """
    day = dt.timedelta(days=1)
    if phrase == "yesterday":
        return newest - day, newest - day
    if phrase == "today":
        return newest, newest
    if phrase in ("this week", "last week", "past week"):
        return newest - 7 * day, newest
    if phrase == "this month":
        return newest.replace(day=1), newest
    if phrase in ("last month", "past month"):
        return newest - 30 * day, newest
    if phrase == "this year":
        return newest.replace(month=1, day=1), newest
    return dt.date(newest.year - 1, 1, 1), dt.date(newest.year - 1, 12, 31)  # last year


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
    """The question, plus conversation-aware variants when it is a follow-up: the question with its pronoun
    resolved (`resolve_reference`; it replaces the question when a name was put in), the last question with
    this one, and this one with the last answer.

    >>> search_queries("and her?", [Turn("who is Hua Chunying?", "A spokeswoman [1].")])
    ['and Hua Chunying?', 'who is Hua Chunying? and her?', 'and her? A spokeswoman.']
    >>> search_queries("who said that?", [Turn("what was the crux?", "Trust was the crux [1].")])[:2]
    ['who said that?', 'who said Trust was the crux?']
    """
    if not history or not is_follow_up(question):
        return [question]
    last = history[-1]
    answer = _MARKER.sub("", last.answer).strip()
    resolved, named = resolve_reference(question, answer, last.question)
    # A name stands in for the pronoun as the question would have said it; a whole sentence would make the
    # resolved question resemble the last answer more than any new one, so the bare question stays first.
    queries = [resolved] if named else [question] + ([resolved] if resolved != question else [])
    queries.append(f"{last.question} {question}")
    if answer:
        queries.append(f"{question} {answer[:300]}")
    return queries


def resolve_reference(question: str, answer: str, earlier: str = "") -> tuple[str, bool]:
    """The question with its first pronoun replaced: "he", "she", "they"... by the one multi-word name the
    `earlier` question asked about (unchanged when it names none or several); "that", "it"... by the
    answer's first sentence, so "who said that?" asks about what was said. Unchanged without a pronoun.
    Also says whether a name was put in.

    >>> resolve_reference("Who said that?", "Beijing insisted trust was the crux. Kim sent a message.")
    ('Who said Beijing insisted trust was the crux?', False)
    >>> resolve_reference("Who does she work for?", "A spokeswoman [1].", "Who is Hua Chunying?")
    ('Who does Hua Chunying work for?', True)
    """
    first = re.split(r"(?<=[.!?])\s+", answer.strip(), maxsplit=1)[0].rstrip(".!? ")[:300]
    names = set(_NAME.findall(earlier))
    match = _PRONOUN.search(question)
    if not match:
        return question, False
    if match.group(1).lower() in _PERSONAL:  # a person: only a name can stand in (a sentence would drown the
        if len(names) != 1:  # question); without exactly one, the conversation variants do the work
            return question, False
        return question[: match.start()] + names.pop() + question[match.end() :], True
    if not first:
        return question, False
    return question[: match.start()] + first + question[match.end() :], False


def date_mask(chunk_dates: np.ndarray, dates: Dates) -> np.ndarray:
    """Which rows' dates fall in the range (undated rows never do).

    >>> date_mask(np.array(["2021-10-01", "", "2024-02-23"]), Dates(since="2022-01-01")).tolist()
    [False, False, True]
    """
    keep = chunk_dates != ""
    if dates.since:
        keep &= chunk_dates >= dates.since
    if dates.until:
        keep &= chunk_dates <= dates.until
    return keep


def check_date(name: str, value: object) -> str:
    """An ISO date from a `since` / `until` argument (a date, or text such as "2024-02-23"); "" for none.

    >>> check_date("since", "23 Feb 2024")
    '2024-02-23'
    """
    if value is None or value == "":
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]  # type: ignore[union-attr]
    date = normalise_date(str(value)) if isinstance(value, str) else ""
    if not date:
        raise RagError(f"{name}={value!r} is not a date; use YYYY-MM-DD, e.g. 2024-02-23")
    return date


def resolve_dates(
    question: str, data: IndexData, since: object, until: object, settings: Settings, today: object = None
) -> tuple[Dates, str]:
    """The dates to search and a notice saying so. `since` / `until`, when given, limit the search. Otherwise
    a year or month the question names ("in 2021") limits it, and a relative phrase ("last week", counted
    back from `today`, else from the newest article) makes that time's articles rank higher. Nothing is read
    from questions over an index without dated articles, or with `settings.question_dates="off"`; a range no
    article falls in is dropped with a notice. Recency per `settings.recency`."""
    if not data.newest_date:
        read = Dates()
    else:
        read = question_dates(question, check_date("today", today) or data.newest_date)
    latest = settings.recency == "always" or (settings.recency == "auto" and read.latest)
    given = Dates(check_date("since", since), check_date("until", until), latest)
    if given.bounded:
        if given.since and given.until and given.since > given.until:
            raise RagError(f"since={given.since} is after until={given.until}; swap them")
        return given, ""
    if not read.bounded or settings.question_dates == "off":
        return Dates(latest=latest), ""
    if not date_mask(data.chunk_dates, read).any():
        return Dates(latest=latest), f"No article is dated within “{read.phrase}”; searched all dates."
    span = " to ".join(dict.fromkeys(d for d in (read.since, read.until) if d))
    verb = "Searched" if read.strict else "Preferred"
    return dataclasses.replace(read, latest=latest), f"{verb} articles published {span} (“{read.phrase}”)."


def preferred(hits: tuple[Hit, ...], dates: Dates) -> tuple[Hit, ...]:
    """The hits an answer is written from: with preferred dates ("last week"), those in range when any is."""
    if not dates.bounded or dates.strict:
        return hits
    inside = date_mask(np.array([h.chunk.date for h in hits], dtype="<U10"), dates)
    return tuple(h for h, keep in zip(hits, inside) if keep) or hits


def without_phrase(question: str, phrase: str) -> str:
    """The question without the date phrase it was filtered by.

    >>> without_phrase("What did Seoul say last month?", "last month")
    'What did Seoul say?'
    """
    if not phrase:
        return question
    rest = " ".join(question.replace(phrase, " ").split())
    return re.sub(r"\s+([?.!,])", r"\1", rest) or question


def retrieve(
    data: IndexData, vectors: np.ndarray | None, queries: Sequence[str], settings: Settings, dates: Dates = Dates()
) -> tuple[Hit, ...]:
    """Top `settings.top_k` hits for the queries (and their embeddings, row per query), by `settings.retrieval`
    mode: only chunks published within strict `dates`; with dates read from the question, those in range rank
    higher; with `dates.latest`, newer chunks rank higher. Where BM25 lives in the vector store (Milvus), hybrid
    candidates are fused there, in one `hybrid_search`."""
    if settings.retrieval in ("hybrid", "dense") and vectors is None:
        raise RagError(f"retrieval={settings.retrieval!r} needs an embedding model; use retrieval='bm25' without one")
    dense_best: dict[int, tuple[int, float]] = {}
    bm25_best: dict[int, tuple[int, float]] = {}
    if settings.retrieval == "hybrid" and data.fuses_in_store:
        since, until = (dates.since, dates.until) if dates.strict else ("", "")
        fused = data.dense.hybrid(vectors, queries, settings.candidates, settings.rrf_k, since, until)  # type: ignore[attr-defined]
    else:
        fused = rrf_fuse(_rankings(data, vectors, queries, settings, dates, dense_best, bm25_best), settings.rrf_k)
    hits = []
    for row, score in _with_dates(fused, data, dates, settings.rrf_k)[: settings.top_k]:
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


def _rankings(
    data: IndexData,
    vectors: np.ndarray | None,
    queries: Sequence[str],
    settings: Settings,
    dates: Dates,
    dense_best: dict[int, tuple[int, float]],
    bm25_best: dict[int, tuple[int, float]],
) -> list[list[int]]:
    """Each retriever's ranked rows per query (dense per vector, BM25 per query text), strict dates applied;
    each row's best (rank, score) per side is noted in `dense_best` / `bm25_best` for the hits."""
    allowed = date_mask(data.chunk_dates, dates) if dates.bounded and dates.strict else None
    n = settings.candidates if allowed is None else max(settings.candidates, FILTER_FETCH)
    rankings: list[list[int]] = []
    if settings.retrieval in ("hybrid", "dense"):
        for vector in vectors if vectors is not None else ():
            scores, ids = _within(*data.dense.search(vector, n), allowed, settings.candidates)
            rankings.append(_note(ids, scores, dense_best))
    if settings.retrieval in ("hybrid", "bm25"):
        for query in queries:
            scores, ids = _within(*data.sparse.search(query, n), allowed, settings.candidates)
            rankings.append(_note(ids, scores, bm25_best))
    return rankings


def _with_dates(fused: list[tuple[int, float]], data: IndexData, dates: Dates, k: int) -> list[tuple[int, float]]:
    """Fused candidates with the date preferences fused in as more rankings: those in a range read from the
    question, and with `dates.latest` all of them newest first. RRF is a sum over rankings, so adding these
    to the fused scores equals fusing every ranking at once."""
    extra: list[list[int]] = []
    if dates.bounded and not dates.strict:
        inside = date_mask(data.chunk_dates, dates)
        extra.append([row for row, _ in fused if inside[row]])
    if dates.latest and data.newest_date:
        extra.append(sorted(sorted(row for row, _ in fused), key=lambda row: data.chunk_dates[row], reverse=True))
    if not extra:
        return fused
    scores = dict(fused)
    for row, score in rrf_fuse(extra, k):
        scores[row] += score
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def _within(
    scores: np.ndarray, ids: np.ndarray, allowed: np.ndarray | None, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The first `n` results whose rows are allowed (all of them when there is no filter)."""
    if allowed is None:
        return scores, ids
    keep = allowed[ids]
    return scores[keep][:n], ids[keep][:n]


def _note(ids: np.ndarray, scores: np.ndarray, best: dict[int, tuple[int, float]]) -> list[int]:
    """Record each row's best (rank, score) across queries; return the ranking as plain ints."""
    ranking = [int(i) for i in ids]
    for rank, (row, score) in enumerate(zip(ranking, scores), start=1):
        if row not in best or rank < best[row][0]:
            best[row] = (rank, float(score))
    return ranking
