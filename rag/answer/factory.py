"""The answerer the settings name, with its model: extractive, the reader over it, or a chat model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..embed import Embedder
from ..errors import MissingDependency, RagError
from ..generate import Generator
from ..generate.http import OpenAICompatible
from ..generate.local import LlamaCpp, auto_threads, model_path
from ..generate.models import READERS, assemble, installed
from ..settings import Settings, default_cache_dir
from .base import Answerer
from .extractive import Extractive
from .llm import LLMAnswerer
from .reader import Reader, ReaderModel

# Bundled readers; "auto" takes the first installed. The 1.5B is better by 0.066 F1 on SQuAD and answers within
# ~3 s on 2 idle cores (p50 2.17 s, p95 3.23 s, against 1.08 / 1.80 s for the 0.5B, same run; docs/reader.md).
PREFERRED = ("qwen2.5-1.5b", "qwen2.5-0.5b")
READER_CONTEXT = 2048  # tokens: the prompt is ~4 sentences (~200 tokens) and a 24-token reply


def reader_installed(settings: Settings) -> bool:
    """Whether `answerer="auto"` gets the reader: xllamacpp and the named (or any bundled) model are there."""
    if importlib.util.find_spec("xllamacpp") is None:
        return False
    name = settings.reader_model
    if name == "auto":
        return any(installed(READERS[n]) for n in PREFERRED)
    return installed(READERS[name]) if name in READERS else Path(name).expanduser().is_file()


def reader_path(settings: Settings) -> Path:
    """The reader's GGUF file: a path as given, or a bundled model assembled (and verified) in the cache."""
    cache = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()
    name = settings.reader_model
    if name == "auto":
        name = next((n for n in PREFERRED if installed(READERS[n])), PREFERRED[0])
    if name in READERS:
        return assemble(READERS[name], cache)
    path = Path(name).expanduser()
    if not path.is_file():
        bundled = ", ".join(READERS)
        raise RagError(f"reader_model={name!r} is neither a bundled reader ({bundled}) nor a .gguf file; fix RAG_READER_MODEL")
    return path


def make_reader_model(settings: Settings) -> ReaderModel:
    if importlib.util.find_spec("xllamacpp") is None:
        raise MissingDependency("the reader needs xllamacpp; run `pip install -r requirements.txt`")
    threads = settings.reader_threads or auto_threads()
    return LlamaCpp(reader_path(settings), threads, context=READER_CONTEXT, timeout_s=settings.reader_timeout_s)


def make_generator(settings: Settings) -> Generator:
    """The chat model `settings` name: a server at `llm_base_url`, else a GGUF model in this process."""
    if settings.llm_base_url:
        return OpenAICompatible(settings.llm_base_url, settings.llm_model, settings.llm_timeout_s)
    threads = settings.llm_threads or auto_threads()
    return LlamaCpp(model_path(settings.llm_model_path), threads, timeout_s=settings.llm_timeout_s)


def make_answerer(
    settings: Settings, embedder: Embedder, generator: Generator | None = None, reader: ReaderModel | None = None
) -> Answerer:
    """The answerer `settings.answerer` names ("auto": the reader when installed, else extractive)."""
    extractive = Extractive(embedder, settings)
    if settings.answerer == "llm":
        return LLMAnswerer(generator or make_generator(settings), extractive, settings.context_tokens(), settings.encoding)
    if settings.answerer == "reader" or (settings.answerer == "auto" and (reader or reader_installed(settings))):
        return Reader(extractive, reader or make_reader_model(settings), settings)
    return extractive
