"""Answers with the real model, FAISS and bm25s over the bundled corpus."""

from __future__ import annotations

import pytest

from rag import RAG, Settings, Turn
from rag.answer.base import REFUSAL
from rag.answer.extractive import candidate_sentences, select_sentences
from rag.errors import BadQuestion, RagError
from rag.retrieve import rrf_fuse, search_queries

from .conftest import ARTICLES, CRUX_ARTICLE, without_sentence_vectors


def test_crux_question_cites_the_2024_article(bundled_index):
    answer = bundled_index.ask("what did China say was the crux?")
    assert not answer.refused
    first = answer.citations[0]
    assert first.number == 1 and answer.text.index("[1]") < len(answer.text)
    assert "lack of trust between Washington and Pyongyang" in first.text
    article = bundled_index.article(first.doc_id)
    assert article.source.endswith(f"{CRUX_ARTICLE}.txt")
    assert article.text[first.start : first.end] == first.text
    # the highlighted sentence is the one that answers, and it sits inside the passage
    (a, b), *_ = first.highlights
    assert first.start <= a < b <= first.end
    assert "lack of trust between Washington and Pyongyang" in article.text[a:b]
    assert "lack of trust between Washington and Pyongyang" in answer.text.split("[1]")[0]


def test_answers_use_the_sentences_stored_at_indexing(bundled_index, monkeypatch):
    """Splitting sentences (pysbd) took a third of `ask`; the index now stores them with each chunk."""
    import rag.chunk

    def no_splitting():
        raise AssertionError("ask split sentences again")

    monkeypatch.setattr(rag.chunk, "_segmenter", no_splitting)
    answer = bundled_index.ask("what did China say was the crux?")
    assert "lack of trust between Washington and Pyongyang" in answer.text.split("[1]")[0]


def test_citations_are_numbered_in_order_of_use(bundled_index):
    answer = bundled_index.ask("What did North Korea's legislature vote to scrap?")
    import re

    used = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    firsts = list(dict.fromkeys(used))
    assert firsts == list(range(1, len(firsts) + 1)) == [c.number for c in answer.citations]
    assert "economic cooperation agreements" in answer.text


@pytest.mark.parametrize("question", ["Who won the 2021 Super Bowl?", "What is the recipe for banana bread?"])
def test_off_topic_question_is_refused(bundled_index, question):
    answer = bundled_index.ask(question)
    assert answer.refused and answer.text == REFUSAL and answer.citations == ()
    assert answer.hits  # what was looked at is still reported
    assert answer.confidence < bundled_index.settings.refuse_below


def test_hits_explain_their_ranks(bundled_index):
    answer = bundled_index.ask("Padasuri-6 missiles")
    assert len(answer.hits) == bundled_index.settings.top_k
    scores = [h.score for h in answer.hits]
    assert scores == sorted(scores, reverse=True)
    top = answer.hits[0]
    assert top.dense_rank is not None and top.bm25_rank == 1 and "Padasuri-6" in top.chunk.text


def test_follow_up_uses_the_conversation(bundled_index):
    first = bundled_index.ask("Which Chinese vice foreign minister visited Pyongyang last month?")
    assert "Sun Weidong" in first.text
    follow = bundled_index.ask("Who did he hold talks with there?", [Turn(first.question, first.text)])
    assert follow.query.startswith(first.question)  # "he": the last question names nobody, so it is searched along
    assert "Pak Myong-ho" in follow.text
    alone = bundled_index.ask("Who did he hold talks with there?")
    assert alone.query == "Who did he hold talks with there?"


@pytest.mark.parametrize("first_question, follow_up, expected", [
    ("What did China say was the crux?", "Who said that?", "Beijing insist"),
    ("Who is Hua Chunying?", "What did she call for?", "justified and reasonable concerns"),
])
def test_a_pronoun_is_resolved_against_the_last_answer(bundled_index, first_question, follow_up, expected):
    first = bundled_index.ask(first_question)
    follow = bundled_index.ask(follow_up, [(first.question, first.text)])
    assert not follow.refused and expected in follow.text and follow.query != follow_up
    assert bundled_index.ask(follow_up).refused  # without the conversation there is nothing to resolve


def test_an_answer_keeps_only_sentences_on_the_question(bundled_index):
    """The crux answer used to add Kim's message to Xi and Pak's reply, which share only the topic."""
    answer = bundled_index.ask("What did China say was the crux?")
    assert len(answer.citations) == 1 and answer.text.count("[") == 1
    assert "lack of trust between Washington and Pyongyang" in answer.text and "Xi Jinping" not in answer.text


def test_retrieval_mode_and_k_are_per_question(bundled_index):
    data = bundled_index.data()
    for mode, k in (("dense", 3), ("bm25", 2), ("hybrid", 7)):
        answer = bundled_index.ask("what did China say was the crux?", top_k=k, retrieval=mode)
        assert len(answer.hits) == k
        dense = [h.dense_rank is not None for h in answer.hits]
        bm25 = [h.bm25_rank is not None for h in answer.hits]
        if mode != "hybrid":
            assert all(dense if mode == "dense" else bm25) and not any(bm25 if mode == "dense" else dense)
    assert bundled_index.data() is data  # one loaded index served every combination
    with pytest.raises(RagError, match="retrieval='fuzzy'"):
        bundled_index.ask("crux?", retrieval="fuzzy")
    with pytest.raises(RagError, match="top_k=0"):
        bundled_index.ask("crux?", top_k=0)


@pytest.mark.parametrize(
    "shape",
    [
        lambda q, a: [Turn(q, a)],
        lambda q, a: [(q, a)],
        lambda q, a: [[q, a]],
        lambda q, a: [{"role": "user", "content": q}, {"role": "assistant", "content": a}],
        lambda q, a: [{"role": "user", "content": [{"type": "text", "text": q}]},
                      {"role": "assistant", "content": [{"type": "text", "text": a}]}],
    ],
    ids=["Turn", "tuple", "list", "openai", "content-parts"],
)
def test_history_in_every_common_shape(bundled_index, shape):
    first = bundled_index.ask("Who is Hua Chunying?")
    follow = bundled_index.ask("what did she say the US should revise?", shape(first.question, first.text))
    assert follow.query == "what did Hua Chunying say the US should revise?"  # the conversation was used to search
    assert follow.query == bundled_index.ask("what did she say the US should revise?", [Turn(first.question, first.text)]).query


@pytest.mark.parametrize("bad", [["just a string"], [42], [("q", "a", "extra")], [{"content": "no role"}], [None]])
def test_unusable_history_is_a_one_line_error(bundled_index, bad):
    with pytest.raises(BadQuestion, match=r"history item 0 is a .*; give Turn objects"):
        bundled_index.ask("what did she say?", bad)


def test_bad_questions(bundled_index):
    for empty in ["", "   \n\t", "\x00\x01"]:
        with pytest.raises(BadQuestion, match="empty"):
            bundled_index.ask(empty)
    long = bundled_index.ask("crux " * 30_000)
    assert "only the first 1,000" in long.notice


class CountingEmbedder:
    """The real embedder, counting the texts it is given."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.texts = inner, []

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def embed_texts(self, texts):  # type: ignore[no-untyped-def]
        self.texts.extend(texts)
        return self.inner.embed_texts(texts)


@pytest.mark.parametrize("rescore", [0, 3])
def test_stored_sentence_vectors_leave_only_the_best_to_embed(bundled_index, rescore):
    """The index holds every sentence's vector: answering embeds just the `answer_rescore` best alone."""
    question = "what did China say was the crux?"
    counting = CountingEmbedder(bundled_index.embedder)
    rag = RAG(bundled_index.settings.replace(answer_rescore=rescore), embedder=counting)
    answer = rag.ask(question)
    assert len(candidate_sentences(answer.hits)) > 10
    embedded = [t for t in counting.texts if t != question]
    assert len(embedded) == rescore
    assert not answer.refused and "lack of trust between Washington and Pyongyang" in answer.text


@pytest.mark.parametrize("limit", [4, 10])
def test_without_stored_sentence_vectors_only_the_shortlist_is_embedded(tmp_path, embedder, limit):
    settings = Settings(index_dir=tmp_path / "index")
    RAG(settings, embedder=embedder).index([ARTICLES])
    without_sentence_vectors(settings.index_dir)
    question = "what did China say was the crux?"
    counting = CountingEmbedder(embedder)
    answer = RAG(settings.replace(answer_candidates=limit), embedder=counting).ask(question)
    assert len(candidate_sentences(answer.hits)) > 2 * limit
    embedded = [t for t in counting.texts if t != question]
    assert len(embedded) == limit
    assert "lack of trust between Washington and Pyongyang" in answer.text


def test_streaming_yields_pieces_then_the_answer(bundled_index):
    events = list(bundled_index.ask_stream("what did China say was the crux?"))
    *pieces, final = events
    assert len(pieces) > 5 and "".join(pieces) == final.text


def test_rrf_and_selection_units():
    fused = rrf_fuse([[1, 2, 3], [3, 1]], k=60)
    assert [row for row, _ in fused] == [1, 3, 2]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert select_sentences([0.5, 0.45, 0.1], [{"a"}, {"b"}, {"c"}], limit=3, keep_ratio=0.8) == [0, 1]
    assert search_queries("Who is Liu Xiaoming, China's envoy?", [Turn("x", "y")]) == ["Who is Liu Xiaoming, China's envoy?"]


def test_answer_kind_check_refuses_a_count_without_a_number(tmp_path, embedder):
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "seoul.txt").write_text(
        "Trade officials meet in Seoul\n\nTrade officials from Seoul and Tokyo met in Seoul on Monday to discuss "
        "tariffs on steel. The talks ended without a deal, the ministry said.\n"
    )
    (articles / "busan.txt").write_text(
        "Port workers strike in Busan\n\nTwelve hundred port workers walked out in Busan on Friday over pay. "
        "The union said the strike would last three days.\n"
    )
    rag = RAG(Settings(index_dir=tmp_path / "index", answer_kinds="check"), embedder=embedder)
    rag.index([articles])
    unchecked = RAG(rag.settings.replace(answer_kinds="off"), embedder=embedder)
    count = "How many trade officials met in Seoul on Monday?"
    assert not unchecked.ask(count).refused  # the sentence about the meeting is close, but holds no number
    assert rag.ask(count).refused
    answer = rag.ask("How many port workers walked out in Busan?")
    assert not answer.refused and "Twelve hundred" in answer.text
    assert not rag.ask("When did the trade officials meet in Seoul?").refused  # "Monday" is a date word


def test_overlapping_passages_of_one_article_are_one_source():
    """Neighbouring chunks share sentences: citing both is one source, its passage their union."""
    from rag.answer.extractive import Sentence, number_citations
    from rag.schema import Chunk, Hit

    text = "One two. Three four. Five six. Seven eight."
    first, second = Chunk("a", 0, 0, 20, text[0:20], "T", "s"), Chunk("a", 1, 9, 30, text[9:30], "T", "s")
    other = Chunk("b", 0, 0, 8, "Elsewhere", "U", "s2")
    hits = [Hit(second, 0.5), Hit(other, 0.4), Hit(first, 0.3)]
    picked = [Sentence(0, 21, 30, "Five six."), Sentence(1, 0, 8, "Elsewhe"), Sentence(2, 0, 8, "One two.")]
    markers, citations = number_citations(hits, picked)
    assert markers == [1, 2, 1]
    one, two = citations
    assert (one.doc_id, one.start, one.end, one.text) == ("a", 0, 30, text[0:30]) and one.highlights == ((0, 8), (21, 30))
    assert (two.doc_id, two.number) == ("b", 2)


@pytest.mark.parametrize("question", ["What did China say about sanctions?", "What did the US say about North Korea?",
                                      "What missiles did North Korea test?"])
def test_one_article_is_one_source(bundled_index, question):
    """Sentences from distant passages of one article are cited under one number, as one passage from the
    first to the last (the card shows only its cited paragraphs)."""
    answer = bundled_index.ask(question)
    doc_ids = [c.doc_id for c in answer.citations]
    assert doc_ids and len(doc_ids) == len(set(doc_ids))
    for c in answer.citations:
        article = bundled_index.article(c.doc_id)
        assert c.text == article.text[c.start : c.end]
        assert all(c.start <= a < b <= c.end for a, b in c.highlights)
    assert answer.text.count("[") >= 2  # several sentences, each with its [n]
