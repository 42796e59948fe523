"""The ONNX Runtime backend: the same sentence-transformers model, exported locally, optionally int8.

The first use exports the model's transformer from its local weights with torch (a few seconds, no
download) into the cache folder; later processes load the .onnx file with onnxruntime and the
`tokenizers` library only, so torch is never imported at query time. `onnx-int8` quantises the weight
matrices per output channel to 7 bits (dynamic activation scales), all but the three most sensitive ones: on
the bundled MiniLM its vectors keep a mean cosine of 0.996 and a minimum above 0.99 with the torch ones (the
benchmark checks this, and SciFact nDCG@10).
Pooling (mean or CLS) and normalisation follow the model's own sentence-transformers config.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import MissingDependency, ModelUnavailable
from ..settings import DEFAULT_MODEL, default_cache_dir
from . import SpanVectors, offline_hub, pool_spans, resolve_model_path

log = logging.getLogger(__name__)
OPSET = 17
INT8_RECIPE = 3  # in the cached file's name: a changed recipe is quantised afresh, never mixed up
_FFN_OUT = re.compile(r"layer\.(\d+)/output/dense/MatMul$")


class OnnxEmbedder:
    def __init__(self, name: str = DEFAULT_MODEL, quantized: bool = True, cache_dir: Path | None = None) -> None:
        self.name = name
        self.backend = "onnx-int8" if quantized else "onnx"
        self.device = "cpu"
        folder = Path(resolve_model_path(name))
        config = read_st_config(folder, name)
        self.max_tokens = config["max_seq_length"]
        self._pooling = config["pooling"]
        self._normalize = config["normalize"]
        self.pools_spans = self._pooling == "mean"
        path = exported_model(folder, cache_dir or default_cache_dir(), quantized)
        ort, tokenizers = _runtime()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph types
            path.unlink(missing_ok=True)  # a damaged cache file is exported again next time
            raise ModelUnavailable(f"{path} could not be loaded ({type(e).__name__}); run the command again") from e
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._counter = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._batcher = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._batcher.enable_truncation(self.max_tokens)
        self._batcher.enable_padding(pad_id=self._batcher.token_to_id("[PAD]") or 0)
        self.dimension = int(self.embed_texts(["dimension probe"]).shape[1])

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        _, hidden, mask = self._token_vectors(texts)
        return pool(hidden, mask, self._pooling, self._normalize)

    def embed_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, SpanVectors]:
        """The texts' vectors and, per text, a vector per character span pooled from the same token
        vectors (meaningful when `pools_spans`)."""
        encodings, hidden, mask = self._token_vectors(texts)
        pooled = [pool_spans(hidden[i], e.offsets, spans[i]) for i, e in enumerate(encodings)]
        return pool(hidden, mask, self._pooling, self._normalize), pooled

    def _token_vectors(self, texts: Sequence[str]) -> tuple[list, np.ndarray, np.ndarray]:  # type: ignore[type-arg]
        """(tokenizer encodings, token vectors (batch, tokens, dimension), attention mask), padded to the longest."""
        encodings = self._batcher.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        return encodings, self._session.run(None, feed)[0], mask

    def count_tokens(self, text: str) -> int:
        """Word pieces including the [CLS]/[SEP] the model adds."""
        return len(self._counter.encode(text).ids)

    def fits(self, text: str) -> bool:
        return self.count_tokens(text) <= self.max_tokens


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str, normalize: bool) -> np.ndarray:
    """Sentence vectors from token vectors, as sentence-transformers' Pooling (+ Normalize) does.

    >>> pool(np.array([[[1.0, 0.0], [3.0, 4.0], [9.0, 9.0]]]), np.array([[1, 1, 0]]), "mean", False)
    array([[2., 2.]], dtype=float32)
    """
    if mode == "cls":
        vectors = hidden[:, 0, :]
    else:
        weights = mask[..., None].astype(hidden.dtype)
        vectors = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    if normalize:
        vectors = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    return vectors.astype(np.float32)


def read_st_config(folder: Path, name: str) -> dict:
    """Max length, pooling mode and normalisation from a sentence-transformers model folder."""
    hint = f"use the torch backend for {name!r} (RAG_EMBED_BACKEND=torch)"
    try:
        modules = json.loads((folder / "modules.json").read_text())
        pooling_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        pooling = json.loads((folder / pooling_dir / "config.json").read_text())
        st_config = json.loads((folder / "sentence_bert_config.json").read_text())
    except (OSError, ValueError, StopIteration, KeyError) as e:
        raise ModelUnavailable(f"{folder} is not a local sentence-transformers model folder; {hint}") from e
    if pooling.get("pooling_mode_mean_tokens"):
        mode = "mean"
    elif pooling.get("pooling_mode_cls_token"):
        mode = "cls"
    else:
        raise ModelUnavailable(f"{name!r} pools in a way the ONNX backend does not implement; {hint}")
    if not (folder / "tokenizer.json").is_file():
        raise ModelUnavailable(f"{folder} has no tokenizer.json; {hint}")
    return {
        "max_seq_length": int(st_config.get("max_seq_length", 512)),
        "pooling": mode,
        "normalize": any(m["type"].endswith("Normalize") for m in modules),
    }


def model_fingerprint(folder: Path) -> str:
    """Changes when any file of the model changes (names, sizes, modification times)."""
    h = hashlib.sha1()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            h.update(f"{path.relative_to(folder)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return h.hexdigest()[:12]


def exported_model(folder: Path, cache_dir: Path, quantized: bool) -> Path:
    """The cached .onnx file for this model, exported (and quantised) first if missing."""
    target_dir = Path(cache_dir).expanduser() / "onnx" / f"{folder.name}-{model_fingerprint(folder)}"
    fp32 = target_dir / "model.onnx"
    int8 = target_dir / f"model-int8-v{INT8_RECIPE}.onnx"
    if not fp32.exists():
        log.info("exporting %s to ONNX at %s (once)", folder, fp32)
        _atomic(fp32, lambda tmp: export(folder, tmp))
    if quantized and not int8.exists():
        log.info("quantising %s to int8 (once)", fp32)
        _atomic(int8, lambda tmp: quantize(fp32, tmp))
    return int8 if quantized else fp32


def _atomic(target: Path, write) -> None:  # type: ignore[no-untyped-def]
    """Write to a unique temporary name, then rename: concurrent exporters never see half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}-{uuid.uuid4().hex[:8]}.onnx")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def export(folder: Path, target: Path) -> None:
    """The transformer (token vectors out) as ONNX, from the local weights. Needs torch + transformers."""
    offline_hub()
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as e:  # pragma: no cover
        raise MissingDependency("exporting the model to ONNX needs torch and transformers: pip install -r requirements.txt") from e

    class TokenVectors(torch.nn.Module):  # transformers 5 takes keyword arguments only
        def __init__(self, model) -> None:  # type: ignore[no-untyped-def]
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):  # type: ignore[no-untyped-def]
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a one-off "Loading weights" bar of a local file: noise at start-up
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()
    except Exception as e:  # transformers raises many types
        raise ModelUnavailable(f"cannot load {folder} for ONNX export ({type(e).__name__}); use RAG_EMBED_BACKEND=torch") from e
    sample = tokenizer(["a short one", "a somewhat longer second sample"], padding=True, return_tensors="pt")
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python branches
        torch.onnx.export(
            TokenVectors(model),
            (sample["input_ids"], sample["attention_mask"]),
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["token_vectors"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_vectors": axes},
            opset_version=OPSET,
            dynamo=False,
        )


def quantize(source: Path, target: Path) -> None:
    """int8 weights, one scale per output channel, for the MatMuls (per-tensor scales lose too much:
    mean cosine 0.93 against 0.99 per channel on MiniLM), except the feed-forward output projections of the
    first half of the layers, which stay fp32 (see `kept_fp32`).

    Weights keep 7 bits of the 8 (`reduce_range`): without VNNI, x86 multiplies uint8 activations by int8
    weights into saturating 16-bit sums, which full-range weights overflow now and then. On 512 news chunks
    against the fp32 vectors, the worst cosine rises from 0.9876 to 0.9914 (mean 0.9961 → 0.9960), at the
    same speed (33.7 and 33.2 chunks/s, medians of 6 interleaved runs on 2 AVX2 cores). Fusing the attention
    layers first (onnxruntime.transformers' optimizer) measured no faster (34.3), so the graph stays as exported.
    """
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:  # pragma: no cover
        raise MissingDependency("int8 quantisation needs onnxruntime and onnx: pip install -r requirements.txt") from e
    names = [n.name for n in onnx.load(str(source), load_external_data=False).graph.node if n.op_type == "MatMul"]
    quiet = _NotFrom("onnxruntime")  # the quantiser tells the root logger about its calibration tools
    logging.getLogger().addFilter(quiet)
    try:
        quantize_dynamic(
            str(source),
            str(target),
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            reduce_range=True,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=kept_fp32(names),
        )
    finally:
        logging.getLogger().removeFilter(quiet)


class _NotFrom(logging.Filter):
    """Drops the root logger's records that come from one package's files; the rest still get through."""

    def __init__(self, package: str) -> None:
        super().__init__()
        self.part = f"{os.sep}{package}{os.sep}"

    def filter(self, record: logging.LogRecord) -> bool:
        return self.part not in record.pathname


def kept_fp32(matmuls: Sequence[str]) -> list[str]:
    """The feed-forward output projections (intermediate → hidden) of the first half of the encoder layers.

    Their inputs (after GELU) have the widest range, so 8-bit activation scales lose most there: keeping
    layers 0–2 of MiniLM in fp32 raises the mean cosine to the fp32 vectors from 0.9933 to 0.9962 (min 0.9850
    → 0.9912) on 400 news passages for 6% of the int8 speed; layers 3–5 add almost nothing. Names from a
    BERT-style export; for other architectures nothing matches and every MatMul is quantised.

    >>> kept_fp32(["/encoder/layer.0/output/dense/MatMul", "/encoder/layer.0/attention/output/dense/MatMul",
    ...            "/encoder/layer.1/output/dense/MatMul"])
    ['/encoder/layer.0/output/dense/MatMul']
    """
    found = {int(m.group(1)): name for name in matmuls if (m := _FFN_OUT.search(name))}
    return [found[i] for i in sorted(found)[: len(found) // 2]]


def _runtime():  # type: ignore[no-untyped-def]
    try:
        import onnxruntime
        import tokenizers
    except ImportError as e:
        raise MissingDependency(
            "the ONNX backend needs onnxruntime and tokenizers: pip install -r requirements.txt "
            "(or use RAG_EMBED_BACKEND=torch)"
        ) from e
    return onnxruntime, tokenizers
