"""Cleaning the scraped pages: no clutter reaches a chunk; headline, summary and body stay."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.clean import clean_page, drop_video_blocks, normalise
from rag.load import load_paths

from .conftest import ARTICLES, CRUX_ARTICLE

# Clutter as it appears in the two sample pages (checked against the raw files below).
CLUTTER = [
    "Advertisement",
    "Get more with myNEWS",
    "A personalised news feed of stories that matter to you",
    "Learn more",
    "North Korean leader Kim Jong-un says he has lawful right to annihilate South Korea",  # video title
    "NEW PODCAST SERIES: About Asia",  # video title
    "North Korea tells UN it has the",  # video title
    "New North Korean rocket launch system poses new puzzle for China",  # related story
    "Putin gifts car to North Korea",  # related story
    "Photo:",  # captions
    "print edition",
]


def test_clutter_is_in_the_raw_pages():
    raw = "\n".join(p.read_text() for p in ARTICLES.glob("*.txt"))
    for line in CLUTTER:
        assert line in raw, line
    assert re.search(r"^\d{2}:\d{2}$", raw, re.M) and re.search(r"^\d+$", raw.strip().splitlines()[-1])


def test_no_clutter_in_any_chunk(bundled_index):
    chunks = bundled_index.data().chunks
    assert len(chunks) >= 6
    for chunk in chunks:
        for line in CLUTTER:
            assert line not in chunk.text, (line, chunk.doc_id, chunk.position)
        assert not re.search(r"(^|\n)\d{1,2}:\d{2}(\n|$)", chunk.text)
        assert not re.search(r"(^|\n)\d+$", chunk.text)


def test_headline_summary_and_body_kept(bundled_index):
    articles = {a.source.rsplit("/", 1)[-1].removesuffix(".txt"): a for a in bundled_index.data().articles}
    article = articles[CRUX_ARTICLE]
    assert article.title == "China and US agree to keep communication open over Korean peninsula"
    assert article.text.startswith("• In video-link meeting with US representative Jung Pak")
    assert "• But Beijing insists lack of trust between Washington and Pyongyang" in article.text
    assert article.text.endswith("China has a role to play and it has influence.”")
    assert article.source.endswith(".txt")


def test_video_block_and_labels():
    page = "Section label\nPhoto: X\nThe Headline Here\n\n• Summary point\nFirst sentence here.\n\n03:15\n\nClip\n\nClip\nLast one.\n42"
    out = clean_page(page)
    assert out.title == "The Headline Here"
    assert out.text == "• Summary point\n\nFirst sentence here.\n\nLast one."


def test_plain_text_without_headline_keeps_everything():
    out = clean_page("Just a sentence. And another one.\nThird line here.")
    assert (out.title, out.text) == ("", "Just a sentence. And another one.\n\nThird line here.")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_cleaning_never_invents_text(text):
    out = clean_page(text)
    source = normalise(text)
    for paragraph in out.text.split("\n\n"):
        if paragraph:
            assert paragraph.removeprefix("• ") in source
    assert "\x00" not in out.text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["A.", "", "01:02", "Clip", "B."]), max_size=12))
def test_video_blocks_only_remove_lines(lines):
    out = drop_video_blocks(lines)
    assert len(out) <= len(lines) and all(line in lines for line in out)
    assert not any(re.match(r"^\d{2}:\d{2}$", line) for line in out)


def test_loader_counts_bundled_corpus():
    assert len(load_paths([ARTICLES]).documents) == 2


def test_byline_and_outlet_lines_are_never_the_headline(tmp_path):
    """A plain-text article whose headline is followed by a byline or an outlet line keeps its headline;
    the outlet line names the publisher."""
    from rag.clean import clean_document

    cases = {
        "cnn.txt": ("Title 42 ends at midnight", "CNN —", "CNN"),
        "ap.txt": ("Storm floods the coast", "AP", "AP"),
        "usa.txt": ("Writers strike enters fourth week", "USA TODAY", "USA TODAY"),
        "by.txt": ("Bobi the dog turns 31", "By Ana Li and Bo Wu", ""),
    }
    for name, (headline, byline, _) in cases.items():
        (tmp_path / name).write_text(f"{headline}\n{byline}\nThe story begins here. It goes on.\n", encoding="utf-8")
    for doc in load_paths([tmp_path]).documents:
        article = clean_document(doc)
        headline, byline, outlet = cases[doc.source.rsplit("/", 1)[-1]]
        assert article.title == headline, (doc.source, article.title)
        assert article.publisher == outlet
        assert byline not in article.text and "The story begins here." in article.text
