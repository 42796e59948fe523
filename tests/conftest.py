"""Shared fixtures: the real MiniLM model, loaded once; a real index of the bundled articles, built once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag import RAG, Settings
from rag.embed import load_embedder

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "data" / "articles"
CRUX_ARTICLE = "scmp-2024-china-us-korean-peninsula-communication"


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory):
    """The ONNX export goes to a per-session folder (inherited by the app and CLI subprocesses)."""
    folder = tmp_path_factory.mktemp("model-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAG_CACHE_DIR", str(folder))
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
