"""News overviews, extractive and dated: a digest of a period's stories ("what happened last week?") and a
timeline of one topic ("what's the latest on Title 42?"). One cited line per story, newest first.

- `overview_of` reads which one a question asks for (or neither: an ordinary question).
- `digest`: the articles published in the period (the question's "last week", the date boxes, else the
  week up to the newest article), near-copies of one story under one line, the stories most covered first
  when there are more than `DIGEST_STORIES`; each line is the article's date, headline and lead sentence.
- `timeline`: the articles retrieval finds for the topic, each kept only when one of its best sentences
  names the topic (holds all its content words, so an article found by one shared word is left out), then
  that sentence with its date, newest first.
- `suggestions`: two or three questions to ask next, about the names the cited sentences mention.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..chunk import chunk_sentences
from ..embed import Embedder
from ..index.sentences import SentenceVectors
from ..index.store import IndexData
from ..retrieve.dates import Dates, relative_range
from ..schema import Answer, Article, Chunk, Citation, Hit
from ..settings import AnswerSettings
from ..text import content_terms
from .base import REFUSAL, draft
from .extractive import extract_answer, jaccard

DIGEST_STORIES = 8  # lines in a digest: a screen, not the whole archive
TIMELINE_ARTICLES = 6
TIMELINE_SEARCH = 20  # passages searched for a timeline's topic
SAME_STORY_JACCARD = 0.5  # headlines sharing half their words tell one story (a wire story's rewrites)
# Lead sentences this close tell one story. Set on RealTimeQA's 4 first development weeks (lines about distinct
# stories: 0.4 → 0.906, 0.5 → 0.938, 0.6 → 0.844, 0.7 → 0.719, headlines alone 0.656).
SAME_STORY_COSINE = 0.5
DIGEST_DAYS = 7  # a digest with no period: the week up to the newest article

_SAYS = r"(?:what(?:'s|s|’s| is| are| has| have)?\s+)?(?:(?:has|have|is|are)\s+)?"
_DIGEST = re.compile(
    _SAYS + r"(?:any\s+)?(?:the\s+)?(?:(?:latest|top|main|big|biggest|recent|new)\s+)?"
    r"(?:news|headlines|stories|happened|happening|going on|new|latest|in the news)"
    r"(?:\s+(?:stories|headlines|today|recently|lately|in the news))?",
    re.I,
)
_TIMELINE = re.compile(
    _SAYS + r"(?:the\s+)?(?:(?:latest|newest|most recent|recent)\s+(?:news\s+|developments?\s+|updates?\s+|stories\s+)?"
    r"|(?:news|updates?|developments?)\s+|new\s+|(?:a\s+)?timeline\s+)"
    r"(?:on|about|in|with|regarding|concerning|for|of)\s+(?P<topic>.+)",
    re.I,
)
_POSSESSIVE = re.compile(r"[’']s$")
_DEMONYM = re.compile(r"(?:ese|ian|ish|ean|ican)s?$")  # "Chinese", "Korean American": words about a name, not one
_NOT_NAMES = frozenset(  # capitalised words that name no story: articles, pronouns, titles, days and months
    "the a an this that these those he she it they we i mr ms mrs dr monday tuesday wednesday thursday friday "
    "saturday sunday january february march april may june july august september october november december".split()
)
_ANY_NAME = re.compile(r"\b[A-Z][\w’'-]+(?:\s+(?:of\s+)?[A-Z][\w’'-]+)*")


@dataclass(frozen=True)
class Overview:
    kind: str  # "digest" (a period's stories) or "timeline" (one topic's articles by date)
    topic: str = ""  # a timeline's subject


def overview_of(question: str) -> Overview | None:
    """Which overview a question asks for (its date phrase already taken out), or None.

    >>> overview_of("What happened?"), overview_of("What is the latest news?")
    (Overview(kind='digest', topic=''), Overview(kind='digest', topic=''))
    >>> overview_of("What's the latest on Title 42?"), overview_of("latest news about the writers strike")
    (Overview(kind='timeline', topic='Title 42'), Overview(kind='timeline', topic='the writers strike'))
    >>> overview_of("What happened to the talks?") is None, overview_of("What did China say?") is None
    (True, True)
    """
    text = " ".join(question.replace("’", "'").split()).strip(" ?.!")
    if _DIGEST.fullmatch(text):
        return Overview("digest")
    found = _TIMELINE.fullmatch(text)
    if found and content_terms([found.group("topic")])[0]:
        return Overview("timeline", found.group("topic").strip())
    return None


def digest_period(dates: Dates, newest: str) -> tuple[str, str]:
    """The (since, until) a digest covers: the dates read or given, else the week up to `newest`.

    >>> digest_period(Dates(), "2024-02-23"), digest_period(Dates("2024-02-01", "2024-02-10"), "2024-02-23")
    (('2024-02-16', '2024-02-23'), ('2024-02-01', '2024-02-10'))
    """
    if dates.bounded:
        return dates.since, dates.until
    if not newest:
        return "", ""
    since, until = relative_range("last week", dt.date.fromisoformat(newest))
    return since.isoformat(), until.isoformat()


def same_story_groups(articles: Sequence[Article], leads: np.ndarray | None = None) -> list[list[Article]]:
    """Articles grouped by story (input order kept): headlines sharing `SAME_STORY_JACCARD` of their words,
    or lead sentences whose vectors (`leads`, unit rows, one per article) have cosine `SAME_STORY_COSINE` or
    more: outlets write one event's headline differently ("FAA outage updates" / "What is NOTAM?").

    >>> a = [Article("1", "Title 42 ends at midnight", "x", "a"), Article("2", "Storm hits coast", "x", "b"),
    ...      Article("3", "Title 42 ends tonight at midnight", "x", "c")]
    >>> [[x.doc_id for x in g] for g in same_story_groups(a)]
    [['1', '3'], ['2']]
    >>> [[x.doc_id for x in g] for g in same_story_groups(a, np.array([[1.0, 0], [0.8, 0.6], [0, 1.0]]))]
    [['1', '2', '3']]
    """
    terms = [set(t) for t in content_terms([a.title for a in articles])]
    groups: list[list[int]] = []
    for i, words in enumerate(terms):
        for group in groups:
            if any(same_story(terms[j], words, None if leads is None else float(leads[j] @ leads[i])) for j in group):
                group.append(i)
                break
        else:
            groups.append([i])
    return [[articles[i] for i in group] for group in groups]


def same_story(a: set[str], b: set[str], cosine: float | None) -> bool:
    headline = bool(a and b) and jaccard(a, b) >= SAME_STORY_JACCARD
    return headline or (cosine is not None and cosine >= SAME_STORY_COSINE)


def lead_vectors(data: IndexData, rows: Sequence[int]) -> np.ndarray | None:
    """The stored vector of each row's first sentence (unit length); None for an index without them."""
    stored = data.sentences
    if stored is None or not rows or any(not 0 <= r < stored.chunks for r in rows):
        return None
    firsts = [stored.of(r)[:1] for r in rows]
    return np.concatenate(firsts).astype(np.float32) if all(len(f) for f in firsts) else None


def lead_sentence(chunk: Chunk) -> tuple[int, int]:
    """The first sentence of an article's first passage (a summary bullet counts), as offsets in the chunk."""
    spans = chunk_sentences(chunk)
    return spans[0] if spans else (0, len(chunk.text))


def digest(data: IndexData, dates: Dates, newest: str) -> Answer:
    """The period's stories, newest first: date, headline and lead sentence, each cited."""
    since, until = digest_period(dates, newest)
    if not since and not until:
        return draft(REFUSAL, (), True, 0.0, "digest", notice="No article has a date, so there is no news by period.")
    inside = [a for a in data.articles if a.date and (not since or a.date >= since) and (not until or a.date <= until)]
    span = (since if since == until else f"{since} to {until}") if since and until else f"from {since}" if since else f"until {until}"
    if not inside:
        newest_article = max(a.date for a in data.articles if a.date)
        return draft(REFUSAL, (), True, 0.0, "digest",
                     notice=f"No article is dated {span}; the newest is dated {newest_article}.")
    first = {c.doc_id: (row, c) for row, c in reversed(list(enumerate(data.chunks))) if c.position == 0}
    inside = sorted((a for a in inside if a.doc_id in first), key=lambda a: a.date, reverse=True)
    groups = same_story_groups(inside, lead_vectors(data, [first[a.doc_id][0] for a in inside]))
    main = sorted(groups, key=lambda g: (len(g), g[0].date), reverse=True)[:DIGEST_STORIES]  # most covered
    main.sort(key=lambda g: g[0].date, reverse=True)
    lines, citations = [], []
    for n, group in enumerate(main, start=1):
        row, chunk = first[group[0].doc_id]
        a, b = lead_sentence(chunk)
        citation = Citation.from_hit(n, Hit(chunk, 1.0, row=row), ((chunk.start + a, chunk.start + b),))
        also = f" (also: {len(group) - 1} more on this story)" if len(group) > 1 else ""
        lead = chunk.text[a:b].lstrip("• ").strip()
        lines.append(f"- {group[0].date}: {group[0].title} — {lead} [{n}]{also}")
        citations.append(citation)
    more = len(groups) - len(main)
    notice = f"The main stories dated {span}" + (f" ({more} more not shown)." if more > 0 else ".")
    return draft("\n".join(lines), tuple(citations), False, 1.0, "digest", notice=notice)


def timeline_candidates(
    topic: str, vectors: np.ndarray, hits: Sequence[Hit], embedder: Embedder, settings: AnswerSettings,
    stored: SentenceVectors | None,
) -> list[tuple[Hit, tuple[int, int], bool]]:
    """Per article found (best first): the hit and article span of its best sentence that names the topic
    (holds all its content words), and whether there is one. Naming is the test, not the answer's cosine
    floor: a two-word topic ("Title 42") is far from most sentences that are about it."""
    by_article: dict[str, list[Hit]] = {}
    for hit in hits:
        by_article.setdefault(hit.chunk.doc_id, []).append(hit)
    wanted = set(content_terms([topic])[0])
    found = []
    for article_hits in by_article.values():
        read = extract_answer(topic, [topic], vectors, article_hits, embedder, settings, stored)
        named = [s for s, terms in zip(read.ranked, content_terms([s.text for s in read.ranked])) if wanted <= set(terms)]
        best = named[0] if named else read.ranked[0] if read.ranked else None
        if best is not None:
            found.append((article_hits[best.hit_index], (best.start, best.end), bool(named)))
    return found


def timeline(found: Sequence[tuple[Hit, tuple[int, int], bool]]) -> Answer:
    """A topic's articles by date, newest first: for each article (its hit, its best sentence's span in the
    article, whether that sentence passed the answer's gates), the best sentence, cited. Articles whose
    sentence failed the gates are left out; none left is a refusal."""
    kept = [(h, span) for h, span, ok in found if ok]
    if not kept:
        return draft(REFUSAL, (), True, 0.0, "timeline")
    kept.sort(key=lambda x: x[0].chunk.date or "0000", reverse=True)  # undated last
    lines, citations = [], []
    for n, (hit, (a, b)) in enumerate(kept[:TIMELINE_ARTICLES], start=1):
        chunk = hit.chunk
        text = chunk.text[a - chunk.start : b - chunk.start].lstrip("• ").strip()
        lines.append(f"- {chunk.date or 'undated'}: {text} [{n}]")
        citations.append(Citation.from_hit(n, hit, ((a, b),)))
    return draft("\n".join(lines), tuple(citations), False, 1.0, "timeline",
                 notice="The articles on this, newest first.")


def suggestions(question: str, citations: Sequence[Citation], limit: int = 3) -> tuple[str, ...]:
    """Questions to ask next: the latest on the names (two or more capitalised words) the cited sentences
    mention most, leaving out names the question already holds.

    >>> c = Citation(1, "d", "t", "a", "Liu Xiaoming met Jung Pak. Then Jung Pak left.", 0, 46, 0.1, highlights=((0, 46),))
    >>> suggestions("What did Liu Xiaoming say?", [c])
    ("What's the latest on Jung Pak?",)
    >>> c = Citation(1, "d", "t", "a", "However, Beijing said North Korea’s talks failed.", 0, 49, 0.1)
    >>> suggestions("What did China say?", [c])
    ("What's the latest on North Korea?", "What's the latest on Beijing?")
    """
    asked = question.lower()
    counts: Counter[str] = Counter()
    for c in citations:
        for a, b in c.highlights or ((c.start, c.end),):
            text = c.text[max(a - c.start, 0) : max(b - c.start, 0)].lstrip("• ")
            for m in _ANY_NAME.finditer(text):
                name = _POSSESSIVE.sub("", m.group())
                if m.start() > 0 and text[: m.start()].rstrip()[-1:] not in ".?!:“\"" and len(name) > 2:
                    counts[name] += 1  # not a sentence's first word, which is capitalised anyway
    ranked = sorted(counts, key=lambda n: (" " in n, counts[n]), reverse=True)  # full names first
    names = [n for n in ranked if n.lower() not in asked and n.split()[0].lower() not in _NOT_NAMES
             and not _DEMONYM.search(n)]
    picked: list[str] = []
    for name in names:
        if not any(name in p or p in name for p in picked):
            picked.append(name)
    return tuple(f"What's the latest on {name}?" for name in picked[:limit])
