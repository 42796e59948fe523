"""Publication dates in retrieval: given (`since` / `until`) or read from the question ("in 2021", "last
week", "the latest"), checked, and turned into the `Dates` that `retrieve` filters or prefers by."""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from ..clean import normalise_date
from ..errors import RagError
from ..index.store import IndexData
from ..schema import Hit
from ..settings import RetrievalSettings

_MONTH_NAMES = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTH_YEAR = re.compile(rf"\b(?:in|during|of|since)\s+({'|'.join(_MONTH_NAMES)})\s+((?:19|20)\d{{2}})\b", re.I)
_YEAR = re.compile(r"\b(?:in|during|of)\s+((?:19|20)\d{2})\b", re.I)
_RELATIVE = re.compile(r"\b(yesterday|today|this week|last week|past week|this month|last month|past month|"
                       r"this year|last year)\b", re.I)
_LATEST = re.compile(r"\b(latest|most recent|newest|recently|lately|current|now)\b", re.I)


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
        start, end = relative_range(match.group(1).lower(), dt.date.fromisoformat(newest))
        return Dates(start.isoformat(), end.isoformat(), latest, match.group(0), strict=False)
    return Dates(latest=latest)


def date_phrase(question: str) -> str:
    """The words of a question that name a time, whether or not any article is dated ("" when none).

    >>> date_phrase("What happened last week?"), date_phrase("What did Seoul say in March 2021?")
    ('last week', 'in March 2021')
    """
    for pattern in (_MONTH_YEAR, _YEAR, _RELATIVE):
        found = pattern.search(question)
        if found:
            return found.group(0)
    return ""


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
    >>> check_date("today", "0001-01-01")
    Traceback (most recent call last):
    rag.errors.RagError: today='0001-01-01' is not a date between 1000 and 9998; use YYYY-MM-DD, e.g. 2024-02-23
    """
    if value is None or value == "":
        return ""
    if isinstance(value, dt.date):  # a datetime is a date too; a time is not
        date = value.isoformat()[:10]
    else:
        date = normalise_date(value) if isinstance(value, str) else ""
    if not date:
        raise RagError(f"{name}={value!r} is not a date; use YYYY-MM-DD, e.g. 2024-02-23")
    if not "1000" <= date[:4] <= "9998":  # "last month" of year 1 is before the calendar starts
        raise RagError(f"{name}={value!r} is not a date between 1000 and 9998; use YYYY-MM-DD, e.g. 2024-02-23")
    return date


def resolve_dates(
    question: str, data: IndexData, since: object, until: object, settings: RetrievalSettings, today: object = None
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
        return given, "" if date_mask(data.chunk_dates, given).any() else nothing_dated(data, given)
    if not read.bounded or settings.question_dates == "off":
        return Dates(latest=latest), ""
    if not date_mask(data.chunk_dates, read).any():
        return Dates(latest=latest), f"No article is dated within “{read.phrase}”; searched all dates."
    span = " to ".join(dict.fromkeys(d for d in (read.since, read.until) if d))
    verb = "Searched" if read.strict else "Preferred"
    return dataclasses.replace(read, latest=latest), f"{verb} articles published {span} (“{read.phrase}”)."


def nothing_dated(data: IndexData, dates: Dates) -> str:
    """The notice for a date range that leaves no article: which range, and how many articles are undated."""
    span = f"from {dates.since}" if not dates.until else f"until {dates.until}" if not dates.since else f"from {dates.since} to {dates.until}"
    undated = sum(1 for a in data.articles if not a.date)
    return (f"No article was published {span}: the date filter left nothing to search "
            f"({undated} of {len(data.articles)} articles have no date). Clear the dates to search them all.")


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
