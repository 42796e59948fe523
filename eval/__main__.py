"""`python -m eval [--dataset NAME ...] [--limit N] [--out DIR]`: the benchmark, with a progress bar."""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
from pathlib import Path

from rag import RAG, RagError, Settings
from rag.render import ProgressBars

from .datasets import LOADERS, ROOT, DatasetMissing
from .report import write
from .runner import RunConfig
from .suite import evaluate

DEFAULT_DATASETS_DIR = Path(os.environ.get("RAG_DATASETS_DIR", ROOT.parent / "shared" / "datasets"))


def progress(items, desc):  # type: ignore[no-untyped-def]
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="q", leave=False, file=sys.stderr, disable=None)  # bar on a terminal only


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def cpu_flags() -> str:
    """The SIMD flags that decide llama.cpp's and ONNX Runtime's kernels (Linux; empty elsewhere)."""
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return ""
    return " ".join(sorted(f for f in set(flags) if f.startswith(("avx", "amx")) or "vnni" in f))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    parser.add_argument("--dataset", action="append", choices=sorted(LOADERS), help="repeatable; default: all")
    parser.add_argument("--limit", type=int, help="questions per split, over a corpus cut down around them")
    parser.add_argument("--answer-limit", type=int, default=1000, help="questions answered end to end (SQuAD, RealTimeQA)")
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "out", help="report folder (default eval/out)")
    parser.add_argument("--datasets-dir", type=Path, default=DEFAULT_DATASETS_DIR, help="shared datasets folder")
    parser.add_argument("--llm", action="store_true", help="also answer with the LLM backend (RAG_LLM_BASE_URL, RAG_LLM_MODEL)")
    parser.add_argument("--reader", action="append", default=None, metavar="MODEL",
                        help="also answer with the reader using MODEL (auto, qwen2.5-0.5b, qwen2.5-1.5b or a .gguf path); "
                        "repeatable; default: auto when a reader is installed, --reader none for none")
    parser.add_argument("--cache-dir", type=Path, default=RunConfig.cache_dir, help="corpus files and indexes")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    readers = tuple(r for r in (args.reader or (["auto"] if RAG(settings).reader_installed else [])) if r != "none")
    config = RunConfig(limit=args.limit, answer_limit=args.answer_limit, cache_dir=args.cache_dir, llm=args.llm,
                       readers=readers, index_progress=ProgressBars())
    report = {
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "settings": {k: str(v) for k, v in dataclasses.asdict(settings).items()},
        "config": {"limit": args.limit, "answer_limit": args.answer_limit, "llm": args.llm, "readers": readers},
        "cpu_flags": cpu_flags(),
        "datasets": {},
    }
    for name in args.dataset or list(LOADERS):
        started = time.perf_counter()
        try:
            dataset = LOADERS[name](args.datasets_dir)
            result = evaluate(dataset, settings, config, progress)
        except DatasetMissing as e:
            print(f"skipping {e}", file=sys.stderr)
            report["datasets"][name] = {"skipped": str(e)}
            continue
        except (RagError, RuntimeError, OSError, ValueError) as e:  # one broken dataset must not lose the others
            print(f"error: {name}: {e}", file=sys.stderr)
            report["datasets"][name] = {"skipped": f"failed: {e}"}
            write(report, args.out)
            continue
        result["seconds"] = round(time.perf_counter() - started, 1)
        report["datasets"][name] = result
        write(report, args.out)  # after each dataset, so a long run keeps what it has finished
        print(f"{name}: done in {result['seconds']} s", file=sys.stderr)
    paths = write(report, args.out)
    print((args.out / "report.md").read_text())
    print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
