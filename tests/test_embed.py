"""The embedding backends: ONNX (fp32 and int8) against sentence-transformers on the same texts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag import RAG, Settings
from rag.chunk import embed_spans
from rag.embed import (
    choose_backend,
    embed_all,
    embed_all_with_spans,
    gpu_present,
    length_batches,
    load_embedder,
    pools_spans,
    resolve_model_path,
)
from rag.embed.onnx_backend import OnnxEmbedder, exported_model, model_fingerprint, pool
from rag.errors import ModelUnavailable

from .conftest import ARTICLES, ROOT


@pytest.fixture(scope="module")
def chunk_texts(bundled_index):
    return [c.embed_text() for c in bundled_index.data().chunks] + ["what did China say was the crux?", "Pyongyang"]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


def test_onnx_fp32_matches_torch(chunk_texts, torch_embedder, model_cache):
    onnx = load_embedder(Settings().model, "onnx", str(model_cache))
    cos = _cosines(onnx.embed_texts(chunk_texts), torch_embedder.embed_texts(chunk_texts))
    assert cos.min() > 0.9999
    assert [onnx.count_tokens(t) for t in chunk_texts] == [torch_embedder.count_tokens(t) for t in chunk_texts]
    assert onnx.max_tokens == torch_embedder.max_tokens == 256


def test_sentences_pooled_in_context_agree_across_backends(bundled_index, torch_embedder, model_cache):
    """Both backends pool the same token spans: the texts' own vectors are unchanged, and the sentence
    vectors of ONNX fp32 match torch's."""
    chunks = bundled_index.data().chunks[:6]
    texts, spans = [c.embed_text() for c in chunks], [embed_spans(c) for c in chunks]
    onnx = load_embedder(Settings().model, "onnx", str(model_cache))
    got = {}
    for name, embedder in (("torch", torch_embedder), ("onnx", onnx)):
        assert pools_spans(embedder)
        vectors, parts = embed_all_with_spans(embedder, texts, spans, batch_size=4)
        assert np.allclose(vectors, embedder.embed_texts(texts), atol=1e-4)
        assert [len(p) for p in parts] == [len(s) for s in spans]
        got[name] = np.vstack(parts)
    assert _cosines(got["onnx"], got["torch"]).min() > 0.9999


def test_an_embedder_that_cannot_pool_sentences_still_indexes_and_answers(tmp_path, embedder):
    """A plain embedder (no `embed_with_spans`, e.g. a CLS-pooled model) gives an index without sentence
    vectors; answers embed the shortlisted sentences instead."""

    class Plain:
        name, dimension = embedder.name, embedder.dimension

        def embed_texts(self, texts):  # type: ignore[no-untyped-def]
            return embedder.embed_texts(texts)

        def fits(self, text):  # type: ignore[no-untyped-def]
            return embedder.fits(text)

    assert not pools_spans(Plain()) and pools_spans(embedder)
    rag = RAG(Settings(index_dir=tmp_path / "index"), embedder=Plain())
    rag.index([ARTICLES])
    assert rag.data().sentences is None
    assert "lack of trust between Washington and Pyongyang" in rag.ask("what did China say was the crux?").text


def test_onnx_int8_stays_within_099_cosine_of_torch(chunk_texts, torch_embedder, model_cache):
    int8 = load_embedder(Settings().model, "onnx-int8", str(model_cache))
    cos = _cosines(int8.embed_texts(chunk_texts), torch_embedder.embed_texts(chunk_texts))
    # 0.9923 / 0.9905 when every weight MatMul was int8; the fp32 feed-forward outputs of layers 0-2 lift it.
    assert cos.mean() >= 0.993 and cos.min() >= 0.99
    assert np.allclose(np.linalg.norm(int8.embed_texts(chunk_texts[:3]), axis=1), 1.0, atol=1e-5)


def test_int8_keeps_the_sensitive_projections_fp32(model_cache):
    import onnx

    folder = Path(resolve_model_path(Settings().model))
    graph = onnx.load(str(exported_model(folder, model_cache, quantized=True))).graph
    weights = {w.name for w in graph.initializer}
    float_weight_matmuls = sorted(n.name for n in graph.node if n.op_type == "MatMul" and set(n.input) & weights)
    assert float_weight_matmuls == [f"/model/encoder/layer.{i}/output/dense/MatMul" for i in range(3)]
    assert sum(n.op_type == "MatMulInteger" for n in graph.node) == 6 * 6 - 3


def test_default_backend_is_int8_on_a_cpu_and_torch_for_hub_names():
    assert choose_backend("auto") == ("torch" if gpu_present() else "onnx-int8")
    assert choose_backend("auto", "some-org/model-not-on-this-disk") == "torch"
    assert choose_backend("onnx") == "onnx"


def test_embed_all_sorts_by_length_but_keeps_row_order(embedder, chunk_texts):
    texts = chunk_texts[:5] + ["short", "a slightly longer text than that"]
    batched = embed_all(embedder, texts, batch_size=2)
    one_by_one = np.vstack([embedder.embed_texts([t]) for t in texts])
    # int8 activation scales are per batch, so rows match closely rather than exactly.
    similarity = batched @ one_by_one.T
    assert list(similarity.argmax(axis=1)) == list(range(len(texts))) and similarity.diagonal().min() > 0.98
    assert sorted(i for batch in length_batches(texts, 2) for i in batch) == list(range(len(texts)))


def test_mean_pooling_ignores_padding():
    hidden = np.array([[[1.0, 0.0], [3.0, 4.0], [100.0, 100.0]]])
    assert np.allclose(pool(hidden, np.array([[1, 1, 0]]), "mean", True), [[2 ** -0.5, 2 ** -0.5]])
    assert np.allclose(pool(hidden, np.array([[1, 1, 0]]), "cls", False), [[1.0, 0.0]])


def test_export_is_cached_and_a_damaged_file_is_exported_again(tmp_path, model_cache):
    folder = Path(resolve_model_path(Settings().model))
    # Seed a private cache with the session's export so this test does not pay for torch again.
    source = exported_model(folder, model_cache, quantized=False)
    assert source.parent.name == f"{folder.name}-{model_fingerprint(folder)}"
    cached = tmp_path / "onnx" / source.parent.name / "model.onnx"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(source.read_bytes())
    stamp = cached.stat().st_mtime_ns
    OnnxEmbedder(Settings().model, quantized=False, cache_dir=tmp_path)
    assert cached.stat().st_mtime_ns == stamp  # loaded, not exported again
    cached.write_bytes(b"not an onnx model")
    with pytest.raises(ModelUnavailable, match="could not be loaded"):
        OnnxEmbedder(Settings().model, quantized=False, cache_dir=tmp_path)
    assert not cached.exists()  # the next load exports a fresh copy


def test_asking_with_a_cached_export_never_imports_torch(bundled_index, model_cache):
    code = (
        "import sys; from rag import RAG, Settings; "
        "a = RAG(Settings.from_env()).ask('What did China say was the crux?'); "
        "print(a.refused, bool(a.citations), 'torch' in sys.modules)"
    )
    env = {**os.environ, "RAG_INDEX_DIR": str(bundled_index.settings.index_dir), "RAG_CACHE_DIR": str(model_cache)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.stdout.split() == ["False", "True", "False"], out.stderr[-2000:]



class _Meter:
    """Stands in for tqdm: records each bar's total."""

    totals: list[int] = []

    def __init__(self, total: int, **_: object) -> None:
        self.totals.append(total)

    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


@pytest.mark.parametrize("bar", [True, False])
def test_embed_all_shows_a_bar_for_long_runs_only_when_asked(embedder, monkeypatch, bar):
    import tqdm.auto

    monkeypatch.setattr(tqdm.auto, "tqdm", _Meter)
    monkeypatch.setattr(_Meter, "totals", [])
    embed_all(embedder, ["a short text"] * 9, batch_size=2, bar=bar)
    embed_all(embedder, ["a short text"] * 3, batch_size=2, bar=bar)  # too short for a bar
    assert _Meter.totals == ([9] if bar else [])
