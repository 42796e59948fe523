"""Shared fixtures: the real MiniLM model, loaded once; a real index of the bundled articles, built once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag import RAG, Settings
from rag.embed import load_embedder
from rag.index.sentences import SentenceVectors
from rag.index.store import live_generation

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "data" / "articles"
CRUX_ARTICLE = "scmp-2024-china-us-korean-peninsula-communication"


def _reader_model_installed() -> bool:
    import importlib.util

    from rag.generate import models

    return importlib.util.find_spec("xllamacpp") is not None and models.installed(models.READERS["qwen2.5-0.5b"])


# Tests of the real reader (xllamacpp and the 0.5B model's parts come with requirements.txt).
needs_reader_model = pytest.mark.skipif(not _reader_model_installed(), reason="the reader model is not installed (requirements.txt)")


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory):
    """The ONNX export goes to a per-session folder (inherited by the app and CLI subprocesses).

    The tests of retrieval, the extractive answer, the app and the CLI run with the extractive answerer
    (`answerer="auto"` takes the reader when it is installed, at ~2 s a question); `tests/test_reader.py`
    asks for the reader by name, with the real model."""
    from rag.answer import factory

    folder = tmp_path_factory.mktemp("model-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAG_CACHE_DIR", str(folder))
        patch.setenv("RAG_ANSWERER", "extractive")
        patch.setattr(factory, "reader_installed", lambda settings: False)
        yield folder


@pytest.fixture(scope="session")
def embedder(model_cache):
    """The default embedder (ONNX int8 on a CPU machine) of the bundled MiniLM."""
    s = Settings.from_env()
    return load_embedder(s.model, s.embed_backend, s.cache_dir)


@pytest.fixture(scope="session")
def torch_embedder():
    return load_embedder(Settings().model, "torch")


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory, embedder) -> RAG:
    """A read-only index of the bundled corpus (tests that write build their own)."""
    folder = tmp_path_factory.mktemp("bundled")
    rag = RAG(Settings(index_dir=folder / "index"), embedder=embedder)
    rag.index([ARTICLES])
    return rag


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    target = tmp_path / "articles"
    shutil.copytree(ARTICLES, target)
    return target


@pytest.fixture
def fresh_rag(tmp_path, embedder) -> RAG:
    return RAG(Settings(index_dir=tmp_path / "index"), embedder=embedder)


def without_sentence_vectors(index_dir: Path, drop_sentence_ends: bool = False) -> None:
    """Rewrite the live generation as an embedder that cannot pool sentences writes it: no sentence vectors
    (and, with `drop_sentence_ends`, no sentence ends in chunks.jsonl either, which format 2 refuses)."""
    gen = live_generation(index_dir)
    for name in SentenceVectors.FILES:
        (gen / name).unlink()
    if drop_sentence_ends:
        rows = [json.loads(line) for line in (gen / "chunks.jsonl").read_text().splitlines()]
        assert all(row.pop("sentences") for row in rows)
        (gen / "chunks.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["file_sizes"] = [[n, (gen / n).stat().st_size] for n, _ in manifest["file_sizes"] if (gen / n).exists()]
    (gen / "manifest.json").write_text(json.dumps(manifest))


MINISTER = "The South Korean trade minister"


def write_dated_articles(articles: Path) -> Path:
    """Three articles on one story whose answers differ by date, in three formats with three kinds of date."""
    articles.mkdir(parents=True)
    (articles / "talks-2021.txt").write_text(
        "Seoul trade talks end without deal\nPublished: 10:15am, 12 March 2021\n\n"
        f"Trade ministers from Seoul and Tokyo ended their talks on Friday without a deal. {MINISTER} said "
        "tariffs on steel remained the main obstacle to an agreement.\n"
    )
    record = {"title": "Seoul and Tokyo agree steel tariff cut", "date": "Mon, 05 Jun 2023 09:00:00 GMT",
              "url": "https://news.example/2023/steel",
              "text": f"{MINISTER} said on Monday that Seoul and Tokyo had agreed to cut tariffs on steel by half."}
    (articles / "feed.jsonl").write_text(json.dumps(record) + "\n")
    (articles / "talks-2024.md").write_text(
        "# Seoul trade talks collapse again\n\nPublished: February 20, 2024\n\n"
        f"{MINISTER} said the talks with Tokyo collapsed over export controls on semiconductors.\n"
    )
    return articles
