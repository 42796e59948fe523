"""Stage 1a, fetch: RSS/Atom feeds and web addresses → raw `Document`s (the loader's network and feed side).

A feed (a `.rss`, `.atom` or `.xml` file, or a URL that serves one) gives one document per entry: its
title, link, publication date, and its full content when the feed carries it (else its summary). A URL
that serves a page gives that page, for trafilatura to extract. Every failure is a `FetchProblem` with the
reason, never an exception that stops the other sources.
"""

from __future__ import annotations

import re
from typing import Any

from .schema import Document, Markup, Problem

FETCH_TIMEOUT_S = 30.0
USER_AGENT = "news-qa/0.1 (+local question answering over news articles)"
# An HTML tag: a known element's name after "<" or "</", then name=value attributes or the end ("</=60 mm Hg"
# and "3 < 4 > 2" are text, not tags); or a comment or doctype.
_ELEMENTS = ("html|head|body|title|meta|link|script|style|noscript|p|div|span|a|b|i|u|s|em|strong|small|sup|sub|"
             "br|hr|img|picture|source|figure|figcaption|ul|ol|li|dl|dt|dd|h[1-6]|table|thead|tbody|tr|td|th|"
             "article|section|header|footer|nav|main|aside|blockquote|pre|code|form|input|button|label|select|"
             "option|textarea|iframe|video|audio|time|abbr|cite|q|mark|svg")
_ATTRIBUTE = r"""\s+[\w:-]+\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+)"""  # name=value: "a<b and c>d" holds none
_TAGS = re.compile(rf"<(?:/?(?:{_ELEMENTS})(?:{_ATTRIBUTE})*\s*/?>|!--|!doctype\b)", re.I)


class FetchProblem(Exception):
    """This source is skipped for the given reason."""


def is_url(value: object) -> bool:
    """
    >>> is_url("https://news.example/a"), is_url("articles/a.txt")
    (True, False)
    """
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def looks_like_feed(text: str) -> bool:
    """
    >>> looks_like_feed('<?xml version="1.0"?><rss version="2.0">'), looks_like_feed("<html><body>")
    (True, False)
    """
    head = text.lstrip()[:1000].lower()
    return "<rss" in head or "<feed" in head or "<rdf:rdf" in head


def markup_of_text(text: str) -> Markup:
    """How a text without a file suffix (a record's field, a feed entry, a fetched page) is marked up: HTML when
    it holds tags, else plain text.

    >>> markup_of_text("<p>Talks end.</p>"), markup_of_text("Seoul said 3 < 4."), markup_of_text("BP (</=60 mm Hg) > 2")
    ('html', 'text', 'text')
    >>> markup_of_text('<a href="x">x</a>'), markup_of_text("<!DOCTYPE html>"), markup_of_text("if a<b and c>d")
    ('html', 'html', 'text')
    """
    return "html" if _TAGS.search(text[:5000]) else "text"


def feed_documents(text: str, key: str, source: str, problems: list[Problem] | None = None) -> list[Document]:
    """One document per feed entry; `FetchProblem` when the text is no feed or has no usable entry. An entry
    without text is named in `problems` (when given)."""
    import feedparser

    parsed = feedparser.parse(text)
    if not parsed.entries:
        reason = getattr(parsed, "bozo_exception", None)
        raise FetchProblem(f"not an RSS or Atom feed with entries{f' ({reason})' if reason else ''}")
    publisher = str(parsed.feed.get("title", ""))
    documents = []
    for i, entry in enumerate(parsed.entries):
        body = _entry_text(entry)
        if not body.strip():
            if problems is not None:
                problems.append(Problem(f"{source} (entry {i})", "feed entry has no text"))
            continue
        link = str(entry.get("link", ""))
        documents.append(
            Document(
                key=link or f"{key}#entry{i}",
                source=link or f"{source} (entry {i})",
                raw=body,
                markup=markup_of_text(body),
                title=str(entry.get("title", "")),
                url=link,
                date=str(entry.get("published") or entry.get("updated") or ""),
                publisher=publisher,
            )
        )
    if not documents:
        raise FetchProblem("the feed's entries carry no text")
    return documents


def _entry_text(entry: Any) -> str:
    """The entry's full content when the feed has it, else its summary."""
    contents = entry.get("content") or []
    values = [c.get("value", "") for c in contents if isinstance(c, dict)]
    return max(values, key=len, default="") or str(entry.get("summary", ""))


def url_documents(url: str, max_bytes: int) -> list[Document]:
    """The page or feed a URL serves."""
    text, content_type = fetch(url, max_bytes)
    if "xml" in content_type or "rss" in content_type or "atom" in content_type or looks_like_feed(text):
        return feed_documents(text, url, url)
    markup: Markup = "html" if "html" in content_type or markup_of_text(text) == "html" else "text"
    return [Document(key=url, source=url, raw=text, markup=markup, url=url)]


def fetch(url: str, max_bytes: int) -> tuple[str, str]:
    """(text, content type) of a URL, at most `max_bytes`; `FetchProblem` saying why not."""
    import httpx

    try:
        with httpx.stream(
            "GET", url, timeout=FETCH_TIMEOUT_S, follow_redirects=True, headers={"User-Agent": USER_AGENT}
        ) as response:
            if response.status_code != 200:
                raise FetchProblem(f"the server answered HTTP {response.status_code}")
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    raise FetchProblem(f"over the {max_bytes / 1e6:.0f} MB limit")
            content_type = response.headers.get("content-type", "").lower()
            encoding = response.encoding or "utf-8"
    except httpx.TimeoutException as e:
        raise FetchProblem(f"no answer within {FETCH_TIMEOUT_S:.0f} s") from e
    except httpx.HTTPError as e:
        raise FetchProblem(f"cannot fetch it ({type(e).__name__})") from e
    try:
        return bytes(data).decode(encoding), content_type
    except (UnicodeDecodeError, LookupError):
        return bytes(data).decode("utf-8", errors="replace"), content_type
