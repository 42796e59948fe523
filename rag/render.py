"""Answers as text for people: plain text for the terminal, Markdown and HTML for the web chat (pure
functions), and `ProgressBars`, the terminal's view of a long indexing run."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from .schema import Answer, Article, Citation
from .text import MARKER, strip_markers

# What the shells (app.py, the CLI, eval/) use: the presentation half of the public API.
__all__ = ["ProgressBars", "answer_to_html", "answer_to_markdown", "answer_to_text", "article_to_html",
           "markdown_escape", "markdown_to_plain", "strip_markers"]


def excerpt(text: str, limit: int = 300) -> str:
    """`text` cut at a word boundary to about `limit` characters.

    >>> excerpt("one two three", 8)
    'one two…'
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def citation_label(c: Citation) -> str:
    """One line naming a source: number, title, date when known, where it came from, which characters.

    >>> citation_label(Citation(1, "d", "Talks end", "a.txt", "x", 0, 9, 0.1, date="2024-02-23"))
    '[1] Talks end — 2024-02-23 — a.txt (characters 0–9)'
    """
    where = c.url or c.source
    meta = ", ".join(x for x in (outlet_name(c.publisher, c.url), c.date) if x)
    dated = f" — {meta}" if meta else ""
    also = f" (also: {', '.join(c.copies)})" if c.copies else ""
    return f"[{c.number}] {c.title}{dated} — {where}{also} (characters {c.start}–{c.end})"


def answer_to_text(answer: Answer, passage_chars: int = 400) -> str:
    """The answer (the reader's short answer first), then its numbered sources with the cited passages."""
    lines = [answer.notice] if answer.notice else []
    if answer.short:
        lines.append(f"Answer: {answer.short.text}")
    lines.append(answer.text)
    for claim in answer.unsupported:
        lines.append(f"  ⚠ not supported by the cited passages: {claim}")
    if answer.suggestions:
        lines.append("Ask next: " + " · ".join(answer.suggestions))
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(citation_label(c))
            lines.append(f"    “{excerpt(c.quote, passage_chars)}”")
    return "\n".join(lines)


def highlight_passage_html(c: Citation) -> str:
    """The passage as HTML with its supporting sentences in <mark>, everything else escaped. A long passage
    (one article's passages cited as one) shows only its paragraphs that hold a cited sentence, "…" between.

    >>> c = Citation(1, "d", "t", "a", "One.\\n\\nTwo <b>.\\n\\nThree.", 0, 22, 0.1, highlights=((6, 14),))
    >>> highlight_passage_html(c)
    'One.<br><br><mark>Two &lt;b&gt;.</mark><br><br>Three.'
    >>> import dataclasses
    >>> highlight_passage_html(dataclasses.replace(c, text="x" * 2000 + c.text, start=0, end=2022, highlights=((2006, 2014),)))
    '… <mark>Two &lt;b&gt;.</mark> …'
    """
    shown = [(c.start, c.end)] if len(c.text) <= LONG_PASSAGE else cited_paragraphs(c)
    parts = []
    for start, end in shown:
        out, cursor = [], start
        for a, b in c.highlights:
            a, b = max(a, start), min(b, end)
            if a < cursor or a >= b:
                continue
            out.append(html.escape(c.text[cursor - c.start : a - c.start]))
            out.append(f"<mark>{html.escape(c.text[a - c.start : b - c.start])}</mark>")
            cursor = b
        out.append(html.escape(c.text[cursor - c.start : end - c.start]))
        parts.append("".join(out).replace("\n\n", "<br><br>"))
    lead = "… " if shown[0][0] > c.start else ""
    tail = " …" if shown[-1][1] < c.end else ""
    return lead + " … ".join(parts) + tail


LONG_PASSAGE = 1_500  # characters: longer passages show only their cited paragraphs


def cited_paragraphs(c: Citation) -> list[tuple[int, int]]:
    """The article spans of the passage's paragraphs that hold a highlight (all of it when none does)."""
    spans, offset = [], c.start
    for paragraph in c.text.split("\n\n"):
        spans.append((offset, offset + len(paragraph)))
        offset += len(paragraph) + 2
    cited = [(a, b) for a, b in spans if any(x < b and y > a for x, y in c.highlights)]
    return cited or [(c.start, c.end)]


def answer_to_html(answer: Answer) -> str:
    """Answer body with [n] markers linked to the numbered source cards below it."""
    body = html.escape(answer.text)
    body = MARKER.sub(lambda m: f'<a class="cite" href="#src-{m.group(1)}">[{m.group(1)}]</a>', body)
    notice = f'<p class="notice">{html.escape(answer.notice)}</p>' if answer.notice else ""
    cls = "answer refused" if answer.refused else "answer"
    short = f'<p class="short"><b>{html.escape(answer.short.text)}</b></p>' if answer.short else ""
    parts = [notice, short, f'<div class="{cls}">{body}</div>']
    if answer.unsupported:
        items = "".join(f"<li>{html.escape(s)}</li>" for s in answer.unsupported)
        parts.append(f'<div class="unsupported">⚠ Not supported by the cited passages:<ul>{items}</ul></div>')
    if answer.citations:
        parts.append('<div class="sources">')
        parts += [source_card_html(c) for c in answer.citations]
        parts.append("</div>")
    return "".join(parts)


def source_card_html(c: Citation) -> str:
    """One numbered source card: outlet and date, the headline, the passage with its cited sentences marked,
    then a details line (where it came from, doc id, syndicated copies). Everything from the article is escaped;
    only an http(s) address becomes a link.

    >>> card = source_card_html(Citation(2, "d1", "Talks <b>end</b>", "a.txt", "x", 0, 1, 0.1,
    ...     url="javascript:alert(1)", date="2024-02-23", publisher="SCMP"))
    >>> 'id="src-2"' in card, "SCMP</span> · <time" in card, "&lt;b&gt;end" in card, "href" in card
    (True, True, True, False)
    """
    where = html.escape(c.url or c.source)
    link = f'<a href="{where}" target="_blank" rel="noopener noreferrer">{where}</a>' if web_address(c.url) else where
    outlet = html.escape(outlet_name(c.publisher, c.url))
    meta = " · ".join(x for x in (f'<span class="outlet">{outlet}</span>' if outlet else "", _time(c.date)) if x)
    return (
        f'<article class="source" id="src-{c.number}"><p class="card-head"><b class="num">[{c.number}]</b> '
        f'{meta}</p><p class="headline"><b>{html.escape(c.title)}</b></p>'
        f'<blockquote class="passage">{highlight_passage_html(c)}</blockquote>'
        f'<p class="where"><small>{link} · doc <code>{html.escape(c.doc_id)}</code>{_also(c.copies)}</small></p>'
        "</article>"
    )


def web_address(url: str) -> bool:
    """Whether `url` may be a link: http or https only (never javascript:, data: and the like).

    >>> web_address("https://x.org/a"), web_address(" JaVaScRiPt:alert(1)"), web_address("data:text/html,x")
    (True, False, False)
    """
    return urlsplit(url.strip()).scheme.lower() in ("http", "https") and not any(ch.isspace() for ch in url.strip())


def outlet_name(publisher: str, url: str) -> str:
    """The outlet to show: the stored publisher, else the host of the article's web address.

    >>> outlet_name("", "https://www.scmp.com/news/a"), outlet_name("AP", "https://x.org"), outlet_name("", "a.txt")
    ('scmp.com', 'AP', '')
    """
    if publisher.strip():
        return publisher.strip()
    host = urlsplit(url.strip()).hostname or "" if web_address(url) else ""
    return host.removeprefix("www.")


_MD_SPECIAL = re.compile(r"([\\`*_{}<>#|~!()])")  # "(" too: "[text](javascript:…)" is no link
# Bare addresses a Markdown renderer would turn into links ("http://…", "www.…", "name@host"): a word joiner
# (U+2060, invisible) after the scheme, "www" or "@" leaves them as text.
_AUTOLINK = re.compile(r"(?i)(\b(?:https?|ftp|mailto):|\bwww(?=\.)|@(?=[\w-]+\.))")
JOINER = "\u2060"


def markdown_escape(text: str) -> str:
    """Article text made inert for a Markdown renderer: HTML escaped, Markdown punctuation backslashed
    ([n] markers stay, as plain text).

    >>> markdown_escape("<b>*Big*</b> [1]")
    '&lt;b&gt;\\\\*Big\\\\*&lt;/b&gt; [1]'
    >>> markdown_escape("[x](javascript:y) http://a.example") == "[x]\\\\(javascript:y\\\\) http:" + JOINER + "//a.example"
    True
    """
    escaped = html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=False).replace("\\&lt;", "&lt;").replace("\\&gt;", "&gt;")
    return _AUTOLINK.sub(lambda m: m.group(1) + JOINER, escaped)


_MD_ESCAPED = re.compile(r"\\([\\`*_{}<>#|~!\[\]()])")
_MD_LINKED_MARKER = re.compile(r"\[\\\[(\d+)\\\]\]\(#src-\d+\)")


def markdown_to_plain(markdown: str) -> str:
    """A chat bubble's text as the conversation passes it on: linked markers back to [n], escapes and
    emphasis undone (the inverse of `answer_to_markdown` for the parts a follow-up reads).

    >>> markdown_to_plain("**Jung Pak**\\n\\nLiu met Jung Pak \\\\*today\\\\* &lt;3 [\\\\[1\\\\]](#src-1)")
    'Jung Pak\\n\\nLiu met Jung Pak *today* <3 [1]'
    """
    text = _MD_LINKED_MARKER.sub(r"[\1]", markdown)
    text = re.sub(r"(?<!\\)\*\*(.+?)\*\*", r"\1", text)
    text = re.sub(r"(?m)^\*(?!\*)(.+?)(?<!\\)\*$", r"\1", text)  # the notice, in italics
    return html.unescape(_MD_ESCAPED.sub(r"\1", text)).replace(JOINER, "")


def answer_to_markdown(answer: Answer) -> str:
    """The chat bubble: notice in italics, the reader's short answer in bold, then the cited sentence(s),
    each [n] of a cited source a link to its card (`#src-n`, in the Sources panel).

    >>> from rag.schema import ShortAnswer
    >>> c = Citation(1, "d", "t", "a.txt", "x", 0, 1, 0.1)
    >>> print(answer_to_markdown(Answer("q", "Liu met Jung Pak. [1] [2]", (c,), False, (), short=ShortAnswer("Jung Pak", 1, 8, 16))))
    **Jung Pak**
    <BLANKLINE>
    Liu met Jung Pak. [\\[1\\]](#src-1) [2]
    """
    parts = [f"*{markdown_escape(answer.notice)}*"] if answer.notice else []
    if answer.short:
        parts.append(f"**{markdown_escape(answer.short.text)}**")
    numbers = {str(c.number) for c in answer.citations}
    linked = MARKER.sub(lambda m: rf"[\[{m[1]}\]](#src-{m[1]})" if m[1] in numbers else m[0], markdown_escape(answer.text))
    parts.append(linked)
    return "\n\n".join(parts)


def _also(copies: tuple[str, ...]) -> str:
    return f' · also: <span class="copies">{html.escape(", ".join(copies))}</span>' if copies else ""


def _time(date: str) -> str:
    return f'<time datetime="{html.escape(date)}">{html.escape(date)}</time>' if date else ""


def article_to_html(article: Article, spans: tuple[tuple[int, int], ...] = ()) -> str:
    """The full cleaned article with the given character spans marked."""
    out, cursor = [], 0
    for a, b in sorted(spans):
        if a < cursor:
            continue
        out.append(html.escape(article.text[cursor:a]))
        out.append(f"<mark>{html.escape(article.text[a:b])}</mark>")
        cursor = b
    out.append(html.escape(article.text[cursor:]))
    meta = " · ".join(html.escape(x) for x in (article.publisher, article.date, article.url or article.source) if x)
    body = "".join(out).replace("\n\n", "</p><p>")
    return f"<h3>{html.escape(article.title)}</h3><p><small>{meta}</small></p><p>{body}</p>"


class ProgressBars:
    """An indexing `progress(stage, done, total)` callback that draws one bar per stage on stderr when it is
    a terminal, and nothing otherwise (a pipe, a log, CI). tqdm is imported on first use."""

    def __init__(self) -> None:
        self.bars: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        import sys

        from tqdm.auto import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=stage, unit="", leave=False, file=sys.stderr, disable=None)
        bar.total = total  # type: ignore[attr-defined]
        bar.n = done  # type: ignore[attr-defined]
        bar.refresh()  # type: ignore[attr-defined]
        if done >= total:
            bar.close()  # type: ignore[attr-defined]
