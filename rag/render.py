"""Answers as text for people: plain text for the terminal, Markdown and HTML for the web chat. Pure functions."""

from __future__ import annotations

import html
import re

from .schema import Answer, Article, Citation

_MARKER = re.compile(r"\[(\d+)\]")


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
    dated = f" — {c.date}" if c.date else ""
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
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(citation_label(c))
            lines.append(f"    {excerpt(c.text, passage_chars)}")
    return "\n".join(lines)


def highlight_passage_html(c: Citation) -> str:
    """The passage as HTML with its supporting sentences in <mark>, everything else escaped."""
    out, cursor = [], c.start
    for a, b in c.highlights:
        a, b = max(a, c.start), min(b, c.end)
        if a < cursor:
            continue
        out.append(html.escape(c.text[cursor - c.start : a - c.start]))
        out.append(f"<mark>{html.escape(c.text[a - c.start : b - c.start])}</mark>")
        cursor = b
    out.append(html.escape(c.text[cursor - c.start :]))
    return "".join(out).replace("\n\n", "<br><br>")


def answer_to_html(answer: Answer) -> str:
    """Answer body with [n] markers linked to the numbered source cards below it."""
    body = html.escape(answer.text)
    body = _MARKER.sub(lambda m: f'<a class="cite" href="#src-{m.group(1)}">[{m.group(1)}]</a>', body)
    notice = f'<p class="notice">{html.escape(answer.notice)}</p>' if answer.notice else ""
    cls = "answer refused" if answer.refused else "answer"
    short = f'<p class="short"><b>{html.escape(answer.short.text)}</b></p>' if answer.short else ""
    parts = [notice, short, f'<div class="{cls}">{body}</div>']
    if answer.unsupported:
        items = "".join(f"<li>{html.escape(s)}</li>" for s in answer.unsupported)
        parts.append(f'<div class="unsupported">⚠ Not supported by the cited passages:<ul>{items}</ul></div>')
    if answer.citations:
        parts.append('<div class="sources">')
        for c in answer.citations:
            where = html.escape(c.url or c.source)
            link = f'<a href="{where}" target="_blank" rel="noopener">{where}</a>' if c.url else where
            parts.append(
                f'<details class="source" id="src-{c.number}" open><summary><b>[{c.number}]</b> '
                f"{html.escape(c.title)} <small>{_dated(c.date)}{link}{_also(c.copies)} · doc "
                f"<code>{html.escape(c.doc_id)}</code></small></summary>"
                f'<blockquote class="passage">{highlight_passage_html(c)}</blockquote></details>'
            )
        parts.append("</div>")
    return "".join(parts)


_MD_SPECIAL = re.compile(r"([\\`*_{}<>#|~!])")


def markdown_escape(text: str) -> str:
    """Article text made inert for a Markdown renderer: HTML escaped, Markdown punctuation backslashed
    ([n] markers stay, as plain text).

    >>> markdown_escape("<b>*Big*</b> [1]")
    '&lt;b&gt;\\\\*Big\\\\*&lt;/b&gt; [1]'
    """
    return html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=False).replace("\\&lt;", "&lt;").replace("\\&gt;", "&gt;")


def answer_to_markdown(answer: Answer) -> str:
    """The chat bubble: notice in italics, the reader's short answer in bold, then the cited sentence(s).

    >>> from rag.schema import ShortAnswer
    >>> answer_to_markdown(Answer("q", "Liu met Jung Pak. [1]", (), False, (), short=ShortAnswer("Jung Pak", 1, 8, 16)))
    '**Jung Pak**\\n\\nLiu met Jung Pak. [1]'
    """
    parts = [f"*{markdown_escape(answer.notice)}*"] if answer.notice else []
    if answer.short:
        parts.append(f"**{markdown_escape(answer.short.text)}**")
    parts.append(markdown_escape(answer.text))
    return "\n\n".join(parts)


def _also(copies: tuple[str, ...]) -> str:
    return f' · also: <span class="copies">{html.escape(", ".join(copies))}</span>' if copies else ""


def _dated(date: str) -> str:
    return f'<time datetime="{html.escape(date)}">{html.escape(date)}</time> · ' if date else ""


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
