from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from rag import Settings

from ..datasets import ROOT

CRUX = "What did China say was the crux?"


def _timed_run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()[-300:]}")
    return time.perf_counter() - started


def _import_seconds(env: dict[str, str]) -> float:
    """`import rag` timed inside a fresh interpreter (without the interpreter's own start)."""
    code = "import time; t = time.perf_counter(); import rag; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    return float(done.stdout.strip())


def bench_cold(settings: Settings, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "RAG_INDEX_DIR": str(Path(tmp) / "index")}
        _timed_run([sys.executable, "-m", "rag", "ask", CRUX], env)  # builds the index (and the ONNX export) once
        starts = [_timed_run([sys.executable, "-c", "pass"], env) for _ in range(repeats)]
        imports = [_timed_run([sys.executable, "-c", "import rag"], env) for _ in range(repeats)]
        in_process = [_import_seconds(env) for _ in range(repeats)]
        asks = [_timed_run([sys.executable, "-m", "rag", "ask", CRUX], env) for _ in range(repeats)]
        torch_asks = [_timed_run([sys.executable, "-m", "rag", "ask", "--embed-backend", "torch", CRUX], env) for _ in range(repeats)]
    return {
        "python_start_s": round(float(np.median(starts)), 2),
        "import_rag_s": round(float(np.median(in_process)), 3),
        "python_start_and_import_rag_s": round(float(np.median(imports)), 2),
        "cli_ask_s": round(float(np.median(asks)), 2),
        "cli_ask_torch_backend_s": round(float(np.median(torch_asks)), 2),
    }
