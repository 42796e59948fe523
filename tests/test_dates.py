"""Publication dates: read from records, pages and datelines; shown on citations; filtered by; read from questions."""

from __future__ import annotations

import json
import shutil

import pytest

from rag import RAG, RagError, Settings
from rag.render import answer_to_text

from .conftest import ARTICLES, write_dated_articles
from .test_cli import run


@pytest.fixture(scope="module")
def dated(tmp_path_factory, embedder) -> RAG:
    """Three articles on one story whose answers differ by date, in three formats with three kinds of date."""
    folder = tmp_path_factory.mktemp("dated")
    articles = write_dated_articles(folder / "articles")
    rag = RAG(Settings(index_dir=folder / "index"), embedder=embedder)
    rag.index([articles])
    return rag


def _years(answer) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.date[:4] for c in answer.citations]


def test_dates_are_read_from_datelines_records_and_markdown(dated):
    by_title = {a.title: a.date for a in dated.data().articles}
    assert by_title == {
        "Seoul trade talks end without deal": "2021-03-12",  # the dateline is not taken for the headline
        "Seoul and Tokyo agree steel tariff cut": "2023-06-05",
        "Seoul trade talks collapse again": "2024-02-20",
    }
    assert all("Published" not in a.text for a in dated.data().articles)


@pytest.mark.parametrize("year", ["2021", "2023", "2024"])
def test_a_year_in_the_question_picks_that_years_article(dated, year):
    answer = dated.ask(f"What did the South Korean trade minister say about trade with Tokyo in {year}?")
    assert not answer.refused and _years(answer) == [year]
    assert (answer.since, answer.until) == (f"{year}-01-01", f"{year}-12-31")
    assert f"Searched articles published {year}-01-01 to {year}-12-31 (“in {year}”)." in answer.notice
    assert {h.chunk.date[:4] for h in answer.hits} == {year}


def test_since_and_until_filter_in_python_and_show_on_citations(dated):
    answer = dated.ask("What did the trade minister say about steel tariffs?", since="2022-01-01", until="2023-12-31")
    assert _years(answer) == ["2023"] and all(h.chunk.date == "2023-06-05" for h in answer.hits)
    assert "Seoul and Tokyo agree steel tariff cut — news.example, 2023-06-05 — https://news.example/2023/steel" in answer_to_text(answer)
    unfiltered = dated.ask("What did the trade minister say about steel tariffs?")
    assert {h.chunk.date[:4] for h in unfiltered.hits} == {"2021", "2023", "2024"}
    with pytest.raises(RagError, match="since='last Tuesday' is not a date; use YYYY-MM-DD"):
        dated.ask("steel?", since="last Tuesday")
    with pytest.raises(RagError, match="since=2024-01-01 is after until=2023-01-01"):
        dated.ask("steel?", since="2024-01-01", until="2023-01-01")


def test_relative_dates_count_back_from_the_newest_article(dated):
    answer = dated.ask("What did the South Korean trade minister say about the talks with Tokyo last month?")
    assert (answer.since, answer.until) == ("2024-01-21", "2024-02-20")
    assert answer.hits[0].chunk.date == "2024-02-20" and _years(answer)[0] == "2024"  # preferred, not filtered
    assert "Preferred articles published 2024-01-21 to 2024-02-20 (“last month”)." in answer.notice
    answer = dated.ask("What did the trade minister say in 2019?")
    assert answer.since == "" and "No article is dated within “in 2019”; searched all dates." in answer.notice
    # `today` moves what "last month" means (a question asked back then)
    then = dated.ask("What did the South Korean trade minister say about the talks with Tokyo last month?", today="2021-04-01")
    assert (then.since, then.until) == ("2021-03-02", "2021-04-01") and _years(then)[0] == "2021"
    off = RAG(dated.settings.replace(question_dates="off"), embedder=dated.embedder)
    assert off.ask("What did the South Korean trade minister say in 2021?").since == ""


def test_an_undated_index_reads_no_dates_from_questions(tmp_path, embedder):
    for article in ARTICLES.glob("*.txt"):  # the bundled articles without their metadata files: undated
        shutil.copy(article, tmp_path / article.name)
    rag = RAG(Settings(index_dir=tmp_path / "index"), embedder=embedder)
    rag.index([tmp_path])
    assert {a.date for a in rag.data().articles} == {""}
    answer = rag.ask("What did China say in 2021 about the sanctions?")
    assert (answer.since, answer.until, answer.notice) == ("", "", "")


def test_bundled_articles_are_dated_by_their_metadata_files(bundled_index):
    assert sorted(a.date for a in bundled_index.data().articles) == ["2021-10-01", "2024-02-23"]
    assert {a.publisher for a in bundled_index.data().articles} == {"South China Morning Post"}
    answer = bundled_index.ask("What did China say in 2021 about the sanctions?")
    assert answer.since == "2021-01-01" and {c.date for c in answer.citations} == {"2021-10-01"}


def test_a_date_filter_that_leaves_nothing_says_so(dated):
    answer = dated.ask("What did the South Korean trade minister say?", since="2030-01-01")
    assert answer.refused and answer.citations == ()
    assert "No article was published from 2030-01-01" in answer.notice and "(0 of 3 articles have no date)" in answer.notice


def test_latest_ranks_the_newest_article_first(dated):
    question = "What did the South Korean trade minister say about the talks with Tokyo?"
    latest = dated.ask("What is the latest the South Korean trade minister said about the talks with Tokyo?")
    assert latest.hits[0].chunk.date == "2024-02-20" and _years(latest)[0] == "2024"
    always = RAG(dated.settings.replace(recency="always"), embedder=dated.embedder).search(question)
    never = RAG(dated.settings.replace(recency="off"), embedder=dated.embedder).search(question)
    assert always[0].chunk.date == "2024-02-20"
    assert [h.chunk for h in never] == [h.chunk for h in dated.search(question)]  # "auto": only when asked


def test_cli_since_until(dated):
    env = {"RAG_INDEX_DIR": str(dated.settings.index_dir)}
    out = run("ask", "--json", "--since", "2021-01-01", "--until", "2021-12-31", "What did the trade minister say?", env_extra=env)
    result = json.loads(out.stdout)
    assert [c["date"] for c in result["citations"]] == ["2021-03-12"] and result["since"] == "2021-01-01"
    out = run("ask", "--since", "someday", "steel?", env_extra=env)
    assert out.returncode == 1 and out.stderr.startswith("error: since='someday' is not a date")


def test_web_chat_date_boxes(dated):
    import app

    chat = app.ChatApp(dated.settings)
    *_, last = chat.respond("What did the South Korean trade minister say about steel?", [], 5, "hybrid", {}, "2023-01-01", "2023-12-31")
    history, sources, _, state, _ = last
    assert [c["date"] for c in state["citations"]] == ["2023-06-05"] and '<time datetime="2023-06-05">' in sources
    *_, empty = chat.respond("What did the South Korean trade minister say about steel?", [], 5, "hybrid", {}, None, None)
    assert len(empty[3]["citations"]) >= 1  # Gradio sends None for an empty box: no filter
    *_, bad = chat.respond("steel?", [], 5, "hybrid", {}, "soon", "")
    assert bad[0][-1]["content"] == "⚠️ “Published from” holds 'soon', which is not a date; pick one or type YYYY-MM-DD, e.g. 2024-02-23"
