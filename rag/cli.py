"""`python -m rag`: index, ask, remove, stats. A thin shell: parse, call the library, print."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from .errors import RagError
from .render import ProgressBars
from .settings import EMBED_BACKENDS, RETRIEVAL_MODES, Settings, debugging


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index-dir", help="index folder (default: index/ in the project; env RAG_INDEX_DIR)")
    common.add_argument("--model", help="sentence-transformers model name or path (env RAG_MODEL)")
    common.add_argument("--embed-backend", choices=EMBED_BACKENDS, help="how the model runs (env RAG_EMBED_BACKEND; default auto)")
    common.add_argument("--chunk-tokens", type=int, help="chunk size in tiktoken tokens (env RAG_CHUNK_TOKENS)")
    common.add_argument("--chunk-overlap", type=int, help="overlap between chunks in tokens (env RAG_CHUNK_OVERLAP)")
    common.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")

    parser = argparse.ArgumentParser(prog="python -m rag", description="Question answering over news articles.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.set_defaults(subparsers=sub.choices)  # so a bad option is reported with its command's usage

    p = sub.add_parser("index", parents=[common], help="add or update articles (files, folders, .jsonl feeds)")
    p.add_argument("paths", nargs="+", help=".txt/.md/.html/.json/.jsonl/.rss/.atom files, folders, or http(s) URLs")
    p.add_argument("--rebuild", action="store_true", help="start a fresh index instead of updating")
    p.add_argument("--sync", action="store_true", help="also remove articles whose files under these folders are gone")

    p = sub.add_parser("ask", parents=[common], help="answer a question with citations")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the full structured result as JSON")
    p.add_argument("-k", "--top-k", type=int, help="passages to retrieve (env RAG_TOP_K)")
    p.add_argument("--retrieval", choices=RETRIEVAL_MODES, help="retrieval mode (env RAG_RETRIEVAL)")
    p.add_argument("--since", help="only articles published on or after this date (YYYY-MM-DD)")
    p.add_argument("--until", help="only articles published on or before this date (YYYY-MM-DD)")
    p.add_argument("--today", help='the date "last week" and "yesterday" count back from (default: the newest article\'s)')

    p = sub.add_parser("remove", parents=[common], help="remove articles by doc id (see `stats`)")
    p.add_argument("doc_ids", nargs="+")

    p = sub.add_parser("stats", parents=[common], help="what is indexed")
    p.add_argument("--json", action="store_true")
    return parser


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parsed arguments; an unknown option is reported with the usage of the command it was given to."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        args.subparsers[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    for noisy in ("trafilatura", "htmldate", "courlan", "justext"):  # their notes on pages they cannot use
        logging.getLogger(noisy).setLevel(logging.INFO if args.verbose else logging.ERROR)
    try:
        settings = Settings.from_env(
            index_dir=args.index_dir,
            model=args.model,
            embed_backend=args.embed_backend,
            chunk_tokens=args.chunk_tokens,
            chunk_overlap=args.chunk_overlap,
        )
        code = COMMANDS[args.command](args, settings)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at interpreter exit
        return code
    except BrokenPipeError:  # e.g. `python -m rag stats | head -1`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141  # 128 + SIGPIPE, as shell tools exit
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the index is unchanged unless the last save had finished", file=sys.stderr)
        return 130
    except Exception as e:  # never a traceback for users; RAG_DEBUG=1 shows it
        if debugging():
            raise
        print(f"error: unexpected {type(e).__name__}: {e} (set RAG_DEBUG=1 for details)", file=sys.stderr)
        return 2


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline import RAG

    bars = ProgressBars()  # on a terminal; -v also logs each step

    def progress(stage: str, done: int, total: int) -> None:
        logging.getLogger(__name__).info("%s %d/%d", stage, done, total)
        bars(stage, done, total)

    report = RAG(settings).index(args.paths, rebuild=args.rebuild, progress=progress, sync=args.sync)
    for problem in report.problems:
        print(f"skipped {problem.source}: {problem.reason}", file=sys.stderr)
    for dup in report.duplicates:
        print(f"duplicate {dup}: stored once", file=sys.stderr)
    print(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.duplicates)} duplicates, {len(report.removed)} removed, {len(report.problems)} skipped; "
        f"{report.chunks_embedded} chunks embedded → {settings.index_dir}"
    )
    return 0 if report.added or report.updated or report.unchanged or not report.problems else 1


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline import open_rag
    from .render import answer_to_text

    answer = open_rag(settings).ask(
        args.question, top_k=args.top_k, retrieval=args.retrieval, since=args.since, until=args.until, today=args.today
    )
    print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2) if args.json else answer_to_text(answer))
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline import RAG

    report = RAG(settings).remove(args.doc_ids)
    print(f"removed {len(report.removed)} article(s): {', '.join(report.removed)}")
    return 0


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline import RAG

    stats = RAG(settings).stats()
    if args.json:
        print(json.dumps(stats.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(f"{stats.path}: {stats.articles} articles, {stats.chunks} chunks")
    print(f"model {stats.model} (dim {stats.dimension}); chunks of {stats.chunk_tokens} tokens, overlap {stats.chunk_overlap}")
    if stats.sentence_vectors:
        print(f"{stats.sentence_vectors} sentence vectors stored")
    else:
        print("no sentence vectors stored (its model does not mean-pool): answers embed the candidate sentences")
    for doc_id, title in stats.documents:
        print(f"  {doc_id}  {title}")
    return 0


COMMANDS = {"index": cmd_index, "ask": cmd_ask, "remove": cmd_remove, "stats": cmd_stats}
