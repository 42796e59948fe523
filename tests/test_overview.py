"""News overviews over a real index: "what happened last week?" (a digest of the week's stories) and "what's
the latest on X?" (a dated timeline of X), each line cited; and the questions suggested next."""

from __future__ import annotations

import json
import re

import pytest

from rag import RAG, Settings
from rag.render import answer_to_text

from .test_cli import run

WEEK = {  # file: (date, headline, text); one story three ways, two other stories, one old, one undated
    "title42-a.txt": ("2023-05-22", "Title 42 ends as border officials brace for crossings",
                      "The pandemic-era border rule known as Title 42 expired at midnight on Thursday. Border officials "
                      "in Texas said they expected thousands of crossings in the following days."),
    "title42-b.txt": ("2023-05-21", "Title 42 ends: border officials brace for more crossings",
                      "Officials along the southern border prepared shelters as Title 42 came to an end. The Homeland "
                      "Security secretary said the rule's end did not mean the border was open."),
    "title42-c.txt": ("2023-05-20", "Migrants wait at the southern border as pandemic rule lapses",
                      "Thousands of migrants waited at the southern border as the pandemic-era rule Title 42 expired. "
                      "Shelters in El Paso said they were full."),  # another headline, the same story's lead
    "writers.txt": ("2023-05-19", "Hollywood writers strike enters third week",
                    "Film and television writers marched outside studios in Los Angeles as their strike entered a third "
                    "week. The Writers Guild of America said talks with the studios had not resumed."),
    "storm.txt": ("2023-05-17", "Storm floods coastal towns in Italy",
                  "Heavy rain flooded towns along the Adriatic coast of Italy, forcing thousands from their homes. "
                  "Rescue teams in Emilia-Romagna used boats to reach stranded families."),
    "bridge.txt": ("2023-04-01", "City opens new river bridge",
                   "The city opened a new bridge over the river on Saturday after three years of building work."),
    "undated.txt": ("", "Museum reopens after repairs", "The museum reopened its doors to visitors after repairs to its roof."),
}


@pytest.fixture(scope="module")
def week(tmp_path_factory, embedder) -> RAG:
    folder = tmp_path_factory.mktemp("week")
    for name, (date, headline, text) in WEEK.items():
        (folder / name).write_text(f"{headline}\n\n{text}\n", encoding="utf-8")
        if date:
            (folder / f"{name}.meta.json").write_text(json.dumps({"date": date, "publisher": "Example Wire"}))
    rag = RAG(Settings(index_dir=folder / "index", answerer="extractive"), embedder=embedder)
    rag.index([folder])
    return rag


def _lines(answer) -> list[str]:  # type: ignore[no-untyped-def]
    return answer.text.splitlines()


def test_what_happened_last_week_lists_the_weeks_stories_newest_first(week):
    answer = week.ask("What happened last week?", today="2023-05-23")
    assert answer.backend == "digest" and not answer.refused
    assert answer.notice.startswith("The main stories dated 2023-05-16 to 2023-05-23")
    lines = _lines(answer)
    # one line per story: the three Title 42 articles under one (two by headline, one by its lead sentence),
    # the old and the undated articles left out
    assert [line.split(":")[0] for line in lines] == ["- 2023-05-22", "- 2023-05-19", "- 2023-05-17"]
    assert "Title 42 ends as border officials brace for crossings" in lines[0] and "2 more on this story" in lines[0]
    assert [c.title for c in answer.citations] == [WEEK[n][1] for n in ("title42-a.txt", "writers.txt", "storm.txt")]
    for n, (line, citation) in enumerate(zip(lines, answer.citations), start=1):
        assert f"[{n}]" in line and citation.number == n and citation.quote in line  # the cited sentence is the line's
        assert citation.date == line[2:12]


def test_a_day_with_no_article_and_an_undated_index_say_so(week, tmp_path, embedder):
    quiet = week.ask("What happened yesterday?", today="2023-05-19")
    assert quiet.refused and quiet.notice == "No article is dated 2023-05-18; the newest is dated 2023-05-22."
    undated = tmp_path / "undated"
    undated.mkdir()
    (undated / "a.txt").write_text("Museum reopens\n\nThe museum reopened its doors after repairs to its roof.\n")
    rag = RAG(Settings(index_dir=tmp_path / "index", answerer="extractive"), embedder=embedder)
    rag.index([undated])
    answer = rag.ask("What happened last week?")
    assert answer.refused and "No article has a date" in answer.notice


def test_the_latest_on_a_topic_is_a_dated_timeline_of_its_articles_only(week):
    answer = week.ask("What's the latest on Title 42?")
    assert answer.backend == "timeline" and not answer.refused
    lines = _lines(answer)
    assert [line[2:12] for line in lines] == ["2023-05-22", "2023-05-21", "2023-05-20"]  # newest first, only Title 42
    assert all("Title 42" in c.quote for c in answer.citations)
    assert [c.title for c in answer.citations] == [WEEK[f"title42-{x}.txt"][1] for x in "abc"]


def test_ordinary_questions_are_not_overviews(week):
    answer = week.ask("What did the Writers Guild of America say about the talks?")
    assert answer.backend == "extractive" and "had not resumed" in answer.text


def test_answers_suggest_questions_about_what_they_cite(week):
    answer = week.ask("Where did the writers march?")
    assert "What's the latest on Los Angeles?" in answer.suggestions
    assert "Ask next: What's the latest on Los Angeles?" in answer_to_text(answer)
    flood = week.ask("Which coast of Italy was flooded?")
    names = [re.sub(r"^What's the latest on (.*)\?$", r"\1", q) for q in flood.suggestions]
    assert names and all(name in " ".join(c.quote for c in flood.citations) for name in names)
    assert "Italy" not in names  # what the question already names
    assert week.ask("What is the recipe for banana bread?").suggestions == ()


def test_cli_digest(week):
    env = {"RAG_INDEX_DIR": str(week.settings.index_dir), "RAG_ANSWERER": "extractive"}
    out = run("ask", "--json", "--today", "2023-05-20", "What happened this week?", env_extra=env)
    result = json.loads(out.stdout)
    assert result["backend"] == "digest" and result["notice"].startswith("The main stories dated 2023-05-13 to 2023-05-20")
    assert [c["date"] for c in result["citations"]] == ["2023-05-20", "2023-05-19", "2023-05-17"]  # not the later ones
    assert all(c["quote"] in result["text"] for c in result["citations"])
