"""Stage 7, answer: an extractive answer (no LLM) with numbered citations, or a plain refusal.

Every sentence of the retrieved passages is scored against the question: cosine similarity of its MiniLM
vector plus a bonus for the (stemmed) content words it shares with the question. The vectors were pooled
from each passage's token vectors at indexing (`index/sentences.py`), so they carry the passage's context;
the `answer_rescore` best are also embedded on their own, and their cosine is the mean of the two (the
passage context alone scores the sentences of one on-topic passage too alike). For an index without stored
vectors (older, or built by an embedder that cannot pool sentences), only the `answer_candidates` sentences
sharing the most words are embedded, on their own. The best sentences form the answer, each followed by the
[n] of the passage it came from; passages are numbered in order of first use; a sentence after the first must
hold the question's most specific word. When even the best sentence is semantically far from the question, or
the passages lack too many of the question's own words, the articles do not hold the answer, and the answer
says so instead of citing something unrelated (both thresholds calibrated by `python -m eval.calibrate`).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..chunk import chunk_sentences
from ..embed import Embedder, embed_all
from ..index.sentences import SentenceVectors
from ..schema import Answer, Article, Chunk, Citation, Hit
from ..settings import AnswerSettings
from ..text import content_terms, lexical_overlap
from .base import REFUSAL, AnswerRequest, draft, pieces
from .refusal import asks_for, question_coverage, shows

LEXICAL_WEIGHT = 0.25  # a full content-word match is worth a quarter of a perfect cosine
# The reader's sentence order (`Extracted.ranked`): rare question words weigh more, and a better passage's
# sentence comes first on a near tie. On 300 SQuAD development questions (after the benchmark's 1,000) the
# gold answer was in the first 4 sentences for 0.887 of them, against 0.840 with the answer's own ranking
# (weights 0.5-1.0 and steps 0.03-0.05 all gave 0.870-0.887; docs/reader.md).
READ_WORD_WEIGHT = 0.5
READ_PASSAGE_STEP = 0.03
# Sentences are embedded in length-sorted batches of 8: one batch of all of them pads every sentence to
# the longest (measured: 170 ms instead of 230 ms for the 26 sentences of a five-passage answer).
SENTENCE_BATCH = 8
DUPLICATE_JACCARD = 0.5  # sentences sharing half their words say the same thing (summary bullet vs body)
# Stems of reporting verbs: news questions ask what someone said; the verb is not what is asked.
REPORTING = frozenset({"say", "said", "tell", "told", "state", "report", "claim", "announc", "accord", "ad"})
_BULLET = re.compile(r"^•\s*")


class Extractive:
    """Answers with the retrieved passages' best sentences; no model server."""

    def __init__(self, embedder: Embedder, settings: AnswerSettings) -> None:
        self.embedder, self.settings = embedder, settings

    def extract(self, r: AnswerRequest) -> Extracted:
        """The extractive answer with the ranked sentences and which gate, if any, refused."""
        if not r.hits:
            return Extracted(REFUSAL, (), True, 0.0, 0.0, gate="no passages")
        return extract_answer(
            r.question, r.queries[:2], r.vectors[:2], r.hits, self.embedder, self.settings, r.sentences, r.articles,
            r.asked_vector,
        )

    def draft(self, r: AnswerRequest) -> Answer:
        return self.extract(r).draft()

    def answer(self, request: AnswerRequest) -> Iterator[str | Answer]:
        draft = self.draft(request)
        yield from pieces(draft.text)
        yield draft


@dataclass(frozen=True)
class Sentence:
    hit_index: int  # which hit (passage) it comes from
    start: int  # span in the cleaned article
    end: int
    text: str
    position: int = 0  # its number among its passage's sentences


def candidate_sentences(hits: Sequence[Hit]) -> list[Sentence]:
    """Sentences of the hits' passages, each article span once (overlapping chunks repeat sentences)."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for i, hit in enumerate(hits):
        chunk = hit.chunk
        for position, (a, b) in enumerate(chunk_sentences(chunk)):
            key = (chunk.doc_id, chunk.start + a, chunk.start + b)
            if key in seen:
                continue
            seen.add(key)
            out.append(Sentence(i, key[1], key[2], chunk.text[a:b], position))
    return out


def stored_vectors(
    sentences: Sequence[Sentence], hits: Sequence[Hit], stored: SentenceVectors | None
) -> np.ndarray | None:
    """The sentences' vectors as the index holds them; None when any hit's passage has none (or a count
    that does not match its sentences)."""
    if stored is None:
        return None
    per_hit = []
    for hit in hits:
        if not 0 <= hit.row < stored.chunks:
            return None
        vectors = stored.of(hit.row)
        if len(vectors) != len(chunk_sentences(hit.chunk)):
            return None
        per_hit.append(vectors)
    return np.array([per_hit[s.hit_index][s.position] for s in sentences], dtype=np.float32)


def anchor_terms(question_terms: set[str], sentence_terms: Sequence[set[str]]) -> set[str]:
    """The question's most specific words: those of its words found in the fewest candidate sentences
    (the topic word every passage repeats is not one).

    >>> sorted(anchor_terms({"china", "crux", "say"}, [{"china", "crux"}, {"china", "say"}, {"china", "say"}]))
    ['crux']
    """
    df = {t: sum(t in s for s in sentence_terms) for t in question_terms - REPORTING}
    found = [n for n in df.values() if n]
    return {t for t, n in df.items() if found and n == min(found)}


def shortlist(overlaps: Sequence[float], passages: Sequence[int], limit: int) -> list[int]:
    """Indices of the `limit` sentences sharing the most question words (ties: better passage, then
    earlier), in their original order: the only ones worth embedding.

    >>> shortlist([0.0, 0.5, 0.5, 1.0], [0, 0, 1, 2], limit=2)
    [1, 3]
    """
    order = sorted(range(len(overlaps)), key=lambda i: (-overlaps[i], passages[i], i))
    return sorted(order[:limit])


def top_scores(cosines: np.ndarray, overlaps: Sequence[float], limit: int) -> list[int]:
    """Indices of the `limit` best-scoring sentences (cosine + word bonus; ties: earlier first).

    >>> top_scores(np.array([0.2, 0.5, 0.4]), [0.0, 0.0, 1.0], limit=2)
    [2, 1]
    """
    scores = cosines + LEXICAL_WEIGHT * np.asarray(overlaps, dtype=np.float64)
    return [int(i) for i in np.argsort(-scores, kind="stable")[:limit]]


def weighted_overlaps(question_terms: set[str], sentence_terms: Sequence[set[str]]) -> list[float]:
    """Each sentence's share of the question's words, each word weighted by its rarity among these sentences
    (log(1 + n / (1 + sentences holding it))): the word only the answer's sentence repeats counts most.

    >>> [round(x, 2) for x in weighted_overlaps({"crux", "china"}, [{"crux", "china"}, {"china"}, {"china"}])]
    [1.0, 0.38, 0.38]
    """
    n = len(sentence_terms)
    weight = {t: math.log(1 + n / (1 + sum(t in s for s in sentence_terms))) for t in question_terms}
    total = sum(weight.values())
    return [sum(weight[t] for t in question_terms & s) / total if total else 0.0 for s in sentence_terms]


def reading_order(cosines: Sequence[float], weighted: Sequence[float], passages: Sequence[int], limit: int) -> list[int]:
    """Indices of the `limit` sentences the reader should read first: cosine, plus `READ_WORD_WEIGHT` times
    the rarity-weighted word overlap, less `READ_PASSAGE_STEP` per rank of the passage it comes from.

    >>> reading_order([0.5, 0.5, 0.6], [1.0, 0.0, 0.0], [1, 0, 0], limit=2)
    [0, 2]
    """
    scores = [c + READ_WORD_WEIGHT * w - READ_PASSAGE_STEP * p for c, w, p in zip(cosines, weighted, passages)]
    return sorted(range(len(scores)), key=lambda i: -scores[i])[:limit]


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def select_sentences(
    scores: Sequence[float], terms: Sequence[set[str]], limit: int, keep_ratio: float, anchors: frozenset[str] | set[str] = frozenset()
) -> list[int]:
    """Indices of the answer sentences: best first, within `keep_ratio` of the best, no near-duplicates.
    With `anchors` (the question's most specific words), a sentence after the first must contain one: a
    neighbour that only shares the topic pads the answer.

    >>> select_sentences([0.9, 0.85, 0.2], [{"a", "b"}, {"a", "b"}, {"c"}], limit=3, keep_ratio=0.8)
    [0]
    >>> select_sentences([0.9, 0.8, 0.75], [{"crux"}, {"china"}, {"crux", "trust", "us"}], 3, 0.8, anchors={"crux"})
    [0, 2]
    """
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    if not order:
        return []
    floor = scores[order[0]] * keep_ratio
    chosen: list[int] = []
    for i in order:
        if len(chosen) >= limit or scores[i] < floor:
            break
        if chosen and anchors and not terms[i] & anchors:
            continue
        if all(jaccard(terms[i], terms[j]) < DUPLICATE_JACCARD for j in chosen):
            chosen.append(i)
    return chosen


def merge_passages(chunks: Sequence[Chunk]) -> list[Chunk]:
    """Passages of one article, those that overlap or touch joined into one (article order).

    >>> c = Chunk("d", 0, 0, 10, "0123456789", "t", "s")
    >>> [(m.start, m.end, m.text) for m in merge_passages([dataclasses.replace(c, start=6, end=14, text="6789abcd"), c])]
    [(0, 14, '0123456789abcd')]
    """
    merged: list[Chunk] = []
    for chunk in sorted(chunks, key=lambda c: c.start):
        last = merged[-1] if merged else None
        if last is not None and chunk.start <= last.end:
            tail = chunk.text[last.end - chunk.start :] if chunk.end > last.end else ""
            merged[-1] = dataclasses.replace(last, end=max(last.end, chunk.end), text=last.text + tail, sentences=())
        else:
            merged.append(chunk)
    return merged


def span_passage(passages: Sequence[Chunk], article_text: str) -> Chunk:
    """One passage of an article from its first passage's start to its last one's end (the text between
    taken from the article).

    >>> c = Chunk("d", 0, 0, 3, "abc", "t", "s")
    >>> span_passage([c, dataclasses.replace(c, start=6, end=9, text="ghi")], "abcdefghij").text
    'abcdefghi'
    """
    start, end = min(p.start for p in passages), max(p.end for p in passages)
    return dataclasses.replace(passages[0], start=start, end=end, text=article_text[start:end], sentences=())


def number_citations(
    hits: Sequence[Hit], picked: Sequence[Sentence], articles: Mapping[str, Article] | None = None
) -> tuple[list[int], tuple[Citation, ...]]:
    """Citation number per picked sentence and the citations, numbered in order of first use: one article is
    one source. Its passages become one citation: joined when they overlap or touch, else (with the article's
    text at hand) one passage from the first to the last; without the text, one citation per passage."""
    used = list(dict.fromkeys(s.hit_index for s in picked))
    by_article: dict[str, list[int]] = {}
    for i in used:
        by_article.setdefault(hits[i].chunk.doc_id, []).append(i)
    passages: list[tuple[Chunk, float, list[int]]] = []  # merged passage, best score, the hits it holds
    for doc_id, doc_hits in by_article.items():
        merged = merge_passages([hits[i].chunk for i in doc_hits])
        article = (articles or {}).get(doc_id)
        if len(merged) > 1 and article is not None:  # one article, one source: first passage to last
            merged = [span_passage(merged, article.text)]
        for passage in merged:
            held = [i for i in doc_hits if passage.start <= hits[i].chunk.start < passage.end]
            passages.append((passage, max(hits[i].score for i in held), held))
    passages.sort(key=lambda p: min(used.index(i) for i in p[2]))  # numbered in order of first use
    number_of = {i: n for n, (_, _, held) in enumerate(passages, start=1) for i in held}
    citations = []
    for n, (passage, score, held) in enumerate(passages, start=1):
        spans = tuple(sorted({(s.start, s.end) for s in picked if s.hit_index in held}))
        citations.append(Citation.from_hit(n, Hit(passage, score, row=hits[held[0]].row), spans))
    return [number_of[s.hit_index] for s in picked], tuple(citations)


def sentence_cosines(
    sentences: Sequence[Sentence],
    overlaps: Sequence[float],
    query_vectors: np.ndarray,
    hits: Sequence[Hit],
    embedder: Embedder,
    settings: AnswerSettings,
    stored: SentenceVectors | None,
    asked: np.ndarray | None = None,
) -> tuple[list[int], np.ndarray, float]:
    """(which sentences were scored, their cosine to the question, the confidence the refusal checks).

    Follow-ups are scored against the bare question and its conversational form alike (mean over the
    query vectors)."""
    in_context = stored_vectors(sentences, hits, stored)
    if in_context is None:  # an older index: embed the shortlist alone
        keep = shortlist(overlaps, [s.hit_index for s in sentences], settings.answer_candidates)
        alone = embed_all(embedder, [sentences[i].text for i in keep], SENTENCE_BATCH, bar=False)
        cosines = (alone @ query_vectors.T).mean(axis=1)
        return keep, cosines, float(np.max(cosines))
    cosines = (in_context @ query_vectors.T).mean(axis=1)
    best = top_scores(cosines, overlaps, settings.answer_rescore)
    if not best:
        return list(range(len(sentences))), cosines, float(np.max(cosines))
    alone = embed_all(embedder, [sentences[i].text for i in best], SENTENCE_BATCH, bar=False)
    alone_cosines = (alone @ query_vectors.T).mean(axis=1)
    cosines[best] = (cosines[best] + alone_cosines) / 2
    # `refuse_below` is a cosine of sentences embedded alone: in context, a passage's other sentences pull
    # a sentence naming someone toward the passage's topic, so its cosine alone is the fairer test. A
    # question whose date words became the filter is also judged as asked ("… by video link in 2024?").
    confidence = float(np.max(alone_cosines))
    if asked is not None:
        confidence = max(confidence, float(np.max(alone @ asked)))
    return list(range(len(sentences))), cosines, confidence


@dataclass(frozen=True)
class Extracted:
    text: str  # with [n] markers, or the refusal
    citations: tuple[Citation, ...]
    refused: bool
    confidence: float  # cosine of the best sentence, embedded alone, to the question
    coverage: float  # share of the question's own content words found in the passages (1.0: it has none)
    # The best sentences, best first (each of its passage's article span once), whatever the gates said.
    ranked: tuple[Sentence, ...] = ()
    gate: str = ""  # the gate that refused: "similarity", "coverage", "kind", "no sentence" or "" (answered)

    def draft(self) -> Answer:
        return draft(self.text, self.citations, self.refused, round(self.confidence, 4),
                     coverage=round(self.coverage, 4))


RANKED = 8  # sentences kept in `Extracted.ranked`: more than any reader reads


def extract_answer(
    question: str,
    scoring_queries: Sequence[str],
    query_vectors: np.ndarray,
    hits: Sequence[Hit],
    embedder: Embedder,
    settings: AnswerSettings,
    stored: SentenceVectors | None = None,
    articles: Mapping[str, Article] | None = None,
    asked_vector: np.ndarray | None = None,
) -> Extracted:
    """The answer sentences with [n] markers and their citations, or a refusal: when the best sentence is
    far from the question (`refuse_below`), or the passages lack too many of the question's own words
    (`refuse_coverage_below`: "the population of Pyongyang" over articles that never mention a population),
    or a "how many" / "when" question gets no number / date (`answer_kinds`). `query_vectors`: the scoring queries' embeddings, as retrieval computed them; `stored`: the index's
    sentence vectors."""
    sentences = candidate_sentences(hits)
    if not sentences:
        return Extracted(REFUSAL, (), True, 0.0, 0.0)
    asked = [set(t) for t in content_terms([question, *scoring_queries])]  # the question, then as searched
    query_terms = set().union(*asked[1:])
    terms = [set(t) for t in content_terms([s.text for s in sentences])]
    titles = {t for title in content_terms([h.chunk.title for h in hits]) for t in title}
    found = titles.union(*terms)
    coverage = max(question_coverage(q - REPORTING, found) for q in asked)  # a follow-up: as resolved, too
    overlaps = [lexical_overlap(query_terms, t) for t in terms]
    keep, cosines, confidence = sentence_cosines(
        sentences, overlaps, query_vectors, hits, embedder, settings, stored, asked_vector
    )
    sentences, terms, overlaps = [sentences[i] for i in keep], [terms[i] for i in keep], [overlaps[i] for i in keep]
    scores = [float(c) + LEXICAL_WEIGHT * o for c, o in zip(cosines, overlaps)]
    weighted = weighted_overlaps(query_terms, terms)
    order = reading_order([float(c) for c in cosines], weighted, [s.hit_index for s in sentences], RANKED)
    ranked = tuple(sentences[i] for i in order)
    refused = Extracted(REFUSAL, (), True, confidence, coverage, ranked)
    if confidence < settings.refuse_below:
        return dataclasses.replace(refused, gate="similarity")
    if coverage < settings.refuse_coverage_below:
        return dataclasses.replace(refused, gate="coverage")
    anchors = anchor_terms(asked[0], terms)  # the asker's own words, not the last answer's
    chosen = select_sentences(scores, terms, settings.answer_sentences, settings.answer_keep_ratio, anchors)
    if not chosen:
        return dataclasses.replace(refused, gate="no sentence")
    picked = [sentences[i] for i in chosen]
    kind = asks_for(question) if settings.answer_kinds == "check" else ""
    if not any(shows(p.text, kind) for p in picked):  # "how many?" answered by a sentence with no number
        return dataclasses.replace(refused, gate="kind")
    markers, citations = number_citations(hits, picked, articles)
    text = " ".join(f"{_BULLET.sub('', s.text)} [{n}]" for s, n in zip(picked, markers))
    return Extracted(text, citations, False, confidence, coverage, ranked)
