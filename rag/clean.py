"""Stage 2, clean: raw `Document` → `Article` with page clutter removed and the headline kept as title.

Scraped news pages carry furniture between paragraphs: ad slots, newsletter prompts, video players (a
duration such as "02:10" and the video's title, often printed twice), related-story headlines, photo
captions, print-edition notes and a trailing comment count. The rules below remove those by *shape*,
never by naming a site or a file, and keep the headline and the bullet-point summary.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from .errors import BadDocument
from .schema import Article, Document

# Whole lines that are page furniture on news sites (compared case-insensitively, punctuation-trimmed).
BOILERPLATE_LINES = frozenset(
    {
        "advertisement", "advertising", "sponsored", "sponsored content", "get more with mynews",
        "a personalised news feed of stories that matter to you", "learn more", "read more", "read more:",
        "share", "share this article", "share this story", "subscribe", "subscribe now", "sign up", "log in",
        "click here", "skip to content", "skip to main content", "related", "related articles",
        "related stories", "more on this story", "most popular", "trending", "comments", "show comments",
        "watch", "listen", "listen to this article", "copy link", "print", "email", "follow us",
    }
)
_DURATION = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
_NUMBER_ONLY = re.compile(r"^[\d,.]+$")
_CAPTION = re.compile(r"\b(Photo|Photograph|Image|Picture|Video|Illustration)s?: [^.]{1,120}$")
_PRINT_NOTE = re.compile(r"^This (article|story) (appeared|was published) in .{0,80}(print|edition)", re.I)
_BULLET = re.compile(r"^[•●▪◦·*\-–—]\s+")
_SENTENCE_END = re.compile(r"[.!?…:;][\"'”’)\]]*$|[\"”’]$")
_BYLINE = re.compile(r"^By\s+\S.{0,80}$")
# "(CNN)", "CNN —", "AP", "USA TODAY": an outlet's name alone on a line, in brackets, before a dash, or in capitals
_OUTLET_LINE = re.compile(r"^(?:\(([A-Z][\w.&' ]{0,30})\)|([A-Z][\w.&' ]{0,30}?)\s+[—–-]|([A-Z][A-Z.&' ]{0,30}))$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\ufeff]")
HEADLINE_MAX_WORDS = 25
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_DATE = re.compile(
    rf"\b(\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}\s+(?:{_MONTHS})[a-z]*\.?,?\s+\d{{4}}"
    rf"|(?:{_MONTHS})[a-z]*\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})\b",
    re.I,
)
# Words a dateline may hold besides its date ("Published: 10:15am, Friday, 23 Feb 2024 (HKT)").
DATELINE_WORDS = frozenset(
    "published updated posted first last on at date dated am pm gmt utc hkt bst edt est cet pst "
    "monday tuesday wednesday thursday friday saturday sunday mon tue wed thu fri sat sun".split()
)
DATELINE_LINES = 15  # a dateline sits near the top, above or below the headline


@dataclass(frozen=True)
class CleanPage:
    title: str
    text: str
    outlet: str = ""  # named by an outlet line above the body ("CNN —"), when there is one


def normalise(text: str) -> str:
    """Unicode NFC, Unix newlines, no control characters, no trailing spaces.

    >>> normalise("a\\u00a0b \\r\\nc\\x07")
    'a b\\nc'
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text).replace("\u00a0", " ").replace("\t", " ")
    return "\n".join(re.sub(r" {2,}", " ", line).strip() for line in text.split("\n"))


def is_boilerplate(line: str) -> bool:
    """Furniture that is never article text, whatever surrounds it.

    >>> [is_boilerplate(x) for x in ["Advertisement", "02:10", "17", "Photo: AFP", "China said no."]]
    [True, True, True, True, False]
    """
    trimmed = line.strip().strip(".:|>»›").strip().lower()
    return (
        trimmed in BOILERPLATE_LINES
        or bool(_DURATION.match(line))
        or bool(_NUMBER_ONLY.match(line))
        or bool(_CAPTION.search(line))
        or bool(_PRINT_NOTE.match(line))
    )


def is_headline_like(line: str) -> bool:
    """A short line with no sentence ending: a headline, label or link text, not a paragraph.

    >>> is_headline_like("Putin gifts car to North Korea's Kim"), is_headline_like("He said it was over.")
    (True, False)
    """
    words = line.split()
    return 0 < len(words) <= HEADLINE_MAX_WORDS and not _SENTENCE_END.search(line) and not _BULLET.match(line)


def is_byline(line: str) -> bool:
    """A byline or an outlet line above the body ("By Ana Li", "CNN —", "AP", "USA TODAY"): never the title.

    >>> [is_byline(x) for x in ["CNN —", "(CNN)", "AP", "USA TODAY", "By Ana Li and Bo Wu", "Title 42 ends"]]
    [True, True, True, True, True, False]
    """
    return bool(_BYLINE.match(line) or (_OUTLET_LINE.match(line) and len(line.split()) <= 4))


def outlet_of(lines: list[str]) -> str:
    """The outlet an outlet line above the body names ("CNN —" → "CNN"), or "".

    >>> outlet_of(["Title 42 ends", "CNN —"]), outlet_of(["By Ana Li"])
    ('CNN', '')
    """
    for line in lines:
        found = _OUTLET_LINE.match(line)
        if found and len(line.split()) <= 4:
            return next(g for g in found.groups() if g).strip()
    return ""


def drop_video_blocks(lines: list[str]) -> list[str]:
    """Remove each video duration line, the video title after it, and that title's repeats.

    >>> drop_video_blocks(["A.", "", "02:10", "", "Clip title", "", "Clip title", "B."])
    ['A.', '', '', '', 'B.']
    """
    out: list[str] = []
    drop_title: str | None = None
    after_duration = False
    for line in lines:
        if _DURATION.match(line):
            after_duration, drop_title = True, None
            continue
        if not line:
            out.append(line)
            continue
        if after_duration:
            after_duration, drop_title = False, line
            continue
        if drop_title is not None and line == drop_title:
            continue
        drop_title = None
        out.append(line)
    return out


def clean_page(text: str, known_title: str = "") -> CleanPage:
    """Cleaned article text (paragraphs joined by blank lines) and its headline.

    The headline is the last headline-like line before the body starts (the body starts at the first
    bullet or full sentence); lines before it are section labels and captions. Headline-like lines
    inside the body are related-story links and are dropped.
    """
    lines = [ln for ln in drop_video_blocks(normalise(text).split("\n")) if ln and not is_boilerplate(ln)]
    start = next((i for i, ln in enumerate(lines) if not is_headline_like(ln)), len(lines))
    head, body = lines[:start], lines[start:]
    titles = [ln for ln in head if not is_byline(ln)]
    title = known_title.strip() or (titles[-1] if titles else "")
    paragraphs = []
    for line in body:
        if _BULLET.match(line):
            paragraphs.append("• " + _BULLET.sub("", line))
        elif not is_headline_like(line) and line != title:
            paragraphs.append(line)
    return CleanPage(title=title, text="\n\n".join(paragraphs), outlet=outlet_of(head))


def extract_html(html: str) -> tuple[CleanPage, str, str]:
    """Main article text of an HTML page via trafilatura, then the text rules. Returns (page, url, date)."""
    try:
        import trafilatura
    except ImportError as e:  # pragma: no cover - dependency is in requirements.txt
        raise BadDocument("HTML support needs trafilatura: pip install trafilatura lxml_html_clean") from e
    # A Document (a dict only with as_dict=True, which is not asked for).
    extracted = cast(Any, trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=True))
    if extracted is None or not (extracted.text or "").strip():
        return CleanPage("", ""), "", ""
    page = clean_page(extracted.text or "", known_title=extracted.title or "")
    outlet = (extracted.sitename or "").strip()[:100]  # the page's own site name (og:site_name and the like)
    page = dataclasses.replace(page, outlet=outlet or page.outlet)
    return page, extracted.url or "", extracted.date or ""


def markdown_to_text(markdown: str) -> tuple[str, str]:
    """(first top-level heading, plain text) of a Markdown page, parsed by markdown-it: one block per
    line, list items as "• " bullets (also inside quotes), emphasis, link and code markers dropped
    (link and code text kept), images and raw HTML dropped.

    >>> markdown_to_text("# Talks end\\n\\n> - Seoul **walks out**\\n\\nA [deal](http://x) was *not* reached.")
    ('Talks end', '• Seoul walks out\\n\\nA deal was not reached.')
    """
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(markdown)
    headline, blocks, in_item, heading = "", [], 0, ""
    for token in tokens:
        if token.type == "list_item_open":
            in_item += 1
        elif token.type == "list_item_close":
            in_item -= 1
        elif token.type == "heading_open":
            heading = token.tag
        elif token.type == "heading_close":
            heading = ""
        elif token.type == "inline":
            line = " ".join(_inline_text(token.children or []).split())
            if not line:
                continue
            if heading == "h1" and not headline:
                headline = line
            else:
                blocks.append(f"• {line}" if in_item and not heading else line)
        elif token.type in ("fence", "code_block"):
            blocks.append(token.content.strip())
    return headline, "\n\n".join(b for b in blocks if b)


def _inline_text(children) -> str:  # type: ignore[no-untyped-def]
    """The words of a Markdown inline run: text and code kept, markers, images and raw HTML dropped."""
    parts = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def normalise_date(raw: str) -> str:
    """A publication date as ISO `YYYY-MM-DD`, or "" when `raw` is not one.

    >>> [normalise_date(x) for x in ["2024-02-23T10:00+08:00", "Fri, 23 Feb 2024 10:00 GMT", "Feb 23, 2024", "soon"]]
    ['2024-02-23', '2024-02-23', '2024-02-23', '']
    """
    import datetime as dt

    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        return dt.date.fromisoformat(raw[:10]).isoformat()
    except ValueError:
        pass
    from dateutil import parser

    try:
        parsed = parser.parse(raw, default=dt.datetime(1900, 1, 1))
    except (ValueError, OverflowError):
        return ""
    return parsed.date().isoformat() if 1900 < parsed.year < 2200 else ""


def split_dateline(text: str) -> tuple[str, str]:
    """(ISO date, text without it) for a plain-text page with a dateline near the top; ("", text) without.

    >>> split_dateline("Talks end\\nPublished: 10:15am, 23 Feb 2024\\n\\nSeoul said no.")
    ('2024-02-23', 'Talks end\\n\\nSeoul said no.')
    """
    lines = text.split("\n")
    for i, line in enumerate(lines[:DATELINE_LINES]):
        match = _DATE.search(line)
        if match is None:
            continue
        rest = re.findall(r"[a-z]+", (line[: match.start()] + line[match.end() :]).lower())
        if all(word in DATELINE_WORDS for word in rest):
            date = normalise_date(match.group(1))
            if date:
                return date, "\n".join(lines[:i] + lines[i + 1 :])
    return "", text


def content_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()


def make_doc_id(key: str, name: str) -> str:
    """Readable and stable: a slug of the file name or title plus a hash of the document's identity.

    >>> make_doc_id("/x/a.txt", "China backs North Korea!")
    'china-backs-north-korea-46a77a'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48].strip("-") or "doc"
    return f"{slug}-{hashlib.sha1(key.encode()).hexdigest()[:6]}"


MAX_TITLE_CHARS = 200  # a headline, not a paragraph: every chunk is embedded under it (MiniLM reads 256 pieces)


def cap_title(title: str) -> str:
    """The title cut at a word boundary to at most `MAX_TITLE_CHARS` characters, "…" marking a cut.

    >>> cap_title("Short one"), len(cap_title("word " * 100)) <= MAX_TITLE_CHARS
    ('Short one', True)
    """
    title = " ".join(title.split())
    if len(title) <= MAX_TITLE_CHARS:
        return title
    cut = title[: MAX_TITLE_CHARS - 1].rsplit(" ", 1)[0] or title[: MAX_TITLE_CHARS - 1]
    return cut + "…"


def clean_document(doc: Document) -> Article:
    """`Document` → `Article`; raises `BadDocument` when no article text is left."""
    url, date, raw = doc.url, normalise_date(doc.date), doc.raw
    if doc.markup != "html":
        found, raw = split_dateline(raw)
        date = date or found
    if doc.markup == "html":
        page, page_url, page_date = extract_html(doc.raw)
        url, date = url or page_url, date or normalise_date(page_date)
        if doc.title:
            page = dataclasses.replace(page, title=doc.title)
    elif doc.markup == "markdown":
        headline, text = markdown_to_text(raw)
        page = clean_page(text, known_title=doc.title or headline)
    else:
        page = clean_page(raw, known_title=doc.title)
    if not page.text.strip():
        raise BadDocument(f"{doc.source}: no article text left after cleaning; is it a real article?")
    name = Path(doc.source).stem if not doc.url else (page.title or doc.url)
    return Article(
        doc_id=make_doc_id(doc.key, name),
        title=cap_title(page.title or Path(doc.source).stem),
        text=page.text,
        source=doc.source,
        url=url,
        date=date,
        publisher=doc.publisher or page.outlet,
        content_hash=content_hash(page.title, page.text),
        origin=doc.origin,
    )
