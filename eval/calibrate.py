"""`python -m eval.calibrate`: the refusal thresholds, set on development questions the benchmark never reports.

Development set: SQuAD dev questions after the first 1,000 (the benchmark answers the first 1,000), asked
twice through the ordinary `ask()`:
- answerable: over the whole SQuAD corpus;
- on topic, answer absent: over the corpus without the questions' own paragraphs. Their article's other
  paragraphs stay, so the search still finds the topic. A question counts as absent only if no passage it
  is shown contains a gold answer.

For each coverage threshold it reports the refusal recall on the absent questions, the share of answerable
ones refused, and the precision of refusals on a set with as many absent as answerable questions; then the
threshold with the best recall at a precision of at least `--precision`. The held-out unanswerable set
(`--dataset heldout-refusal`) and RealTimeQA are not used here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag import RAG, Settings

from . import metrics as m
from .__main__ import DEFAULT_DATASETS_DIR
from .datasets import ROOT, Dataset, DatasetMissing, squad
from .runner import RunConfig, latency, open_index, said

BENCHMARK_QUESTIONS = 1000  # the benchmark's SQuAD answer sample: never calibrated on
COVERAGE_GRID = tuple(round(0.05 * i, 2) for i in range(0, 21))
CONFIDENCE_GRID = tuple(round(0.30 + 0.02 * i, 2) for i in range(0, 11))


def features(rag: RAG, checked: RAG, questions: list[Any]) -> list[dict[str, Any]]:
    """Confidence and coverage of each question's answer (refusal thresholds off), whether the answer-kind
    check (`checked`: the same index with answer_kinds="check") lets it through, and whether the passages it
    was shown hold a gold answer."""
    rows = []
    for q in questions:
        answer = rag.ask(q.question)
        shown = " ".join(h.chunk.text for h in answer.hits)
        rows.append({"id": q.id, "confidence": answer.confidence, "coverage": answer.coverage,
                     "kind_ok": not checked.ask(q.question).refused, "gold_shown": m.contains_answer(shown, q.answers)})
    return rows


READER_GRID = tuple(round(0.1 * i, 1) for i in range(0, 10))
FLOOR_GRID = (0.0, 0.2, 0.25, 0.3, 0.35, 0.42)
NONE_SURE_GRID = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.01)  # 0: every NONE refuses; 1.01: none does
GUESS_GRID = (0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)  # refuse a reply whose first token is less sure


def reader_features(rag: RAG, retry: RAG, questions: list[Any]) -> list[dict[str, Any]]:
    """Each question answered by the reader with the similarity and coverage gates off (so it is always
    asked): the extractive confidence and coverage, the reader's score and sureness, whether it refused
    (NONE, or a "how many" / "when" span without a number / date and no extractive answer), and its short
    answer's F1. A refused question is asked again through `retry` (every NONE read again with NONE barred):
    whether that refuses too, its sureness and its F1."""
    rows = []
    for q in questions:
        answer = rag.ask(q.question)
        shown = " ".join(h.chunk.text for h in answer.hits)
        row = {"id": q.id, "confidence": answer.confidence, "coverage": answer.coverage,
               "reader_score": answer.reader_score, "reader_sureness": answer.reader_sureness,
               "reader_refused": answer.refused, "f1": _f1(answer, q.answers),
               "gold_shown": m.contains_answer(shown, q.answers)}
        if answer.refused:
            again = retry.ask(q.question)
            row |= {"retry_refused": again.refused, "retry_f1": _f1(again, q.answers),
                    "retry_sureness": again.reader_sureness}
        rows.append(row)
    return rows


def _f1(answer: Any, answers: Sequence[str]) -> float:
    return m.best_over(m.token_f1, said(answer), answers) if not answer.refused else 0.0


def reader_sweep(answerable: list[dict], absent: list[dict], coverage_below: float) -> list[dict[str, Any]]:
    """Refusals for each (similarity floor, reader threshold, NONE certainty, guess threshold) at the chosen
    coverage threshold: refuse when the sentence similarity is under the floor, the coverage under its
    threshold, the reader's score under the threshold, the reply's first token less sure than the guess
    threshold, or the reader refused and either was at least that sure of NONE or refused again when NONE
    was barred (or its second reply was a guess). The answerable F1 counts the retried answer where used."""
    n = min(len(answerable), len(absent))
    out = []
    for floor in FLOOR_GRID:
        for r in READER_GRID:
            for sure in NONE_SURE_GRID:
                for guess in GUESS_GRID:
                    def outcome(row: dict, floor: float = floor, r: float = r, sure: float = sure,
                                guess: float = guess) -> tuple[bool, float]:
                        score = row["reader_score"] if row["reader_score"] is not None else 1.0
                        if row["confidence"] < floor or row["coverage"] < coverage_below or score < r:
                            return True, 0.0
                        if not row["reader_refused"]:
                            return (True, 0.0) if _guess(row.get("reader_sureness"), guess) else (False, row["f1"])
                        if 1.0 - score >= sure or row["retry_refused"] or _guess(row.get("retry_sureness"), guess):
                            return True, 0.0
                        return False, row["retry_f1"]

                    tp = sum(outcome(x)[0] for x in absent[:n])
                    fp = sum(outcome(x)[0] for x in answerable[:n])
                    out.append({"reader_floor": floor, "reader_refuse_below": r, "reader_none_sure": sure,
                                "reader_guess_below": guess, "coverage_below": coverage_below,
                                "absent_refused": round(tp / n, 3), "answerable_refused": round(fp / n, 3),
                                "precision": round(tp / (tp + fp), 3) if tp + fp else 1.0,
                                "answerable_f1": round(sum(outcome(x)[1] for x in answerable[:n]) / n, 3)})
    return out


def _guess(sureness: float | None, below: float) -> bool:
    return sureness is not None and sureness < below


def sentences_sweep(data: Dataset, dev: list[Any], config: RunConfig, model: str, counts: list[int]) -> list[dict[str, Any]]:
    """How many of the best sentences the reader should read: for each count, the short answers' mean F1
    and exact match on the answerable development questions (gates off, so every question is read) and the
    ask latency. More sentences hold the answer more often but cost prompt tokens and distract a small model."""
    base = Settings.from_env().replace(refuse_coverage_below=0.0, answerer="reader", reader_floor=0.0,
                                      reader_refuse_below=0.0, reader_model=model)
    out = []
    for count in counts:
        rag, _ = open_index(data, base.replace(reader_sentences=count), config)
        f1, em, seconds = [], [], []
        for q in dev:
            started = time.perf_counter()
            answer = rag.ask(q.question)
            seconds.append(time.perf_counter() - started)
            f1.append(_f1(answer, q.answers))
            em.append(m.best_over(m.exact_match, said(answer), q.answers) if not answer.refused else 0.0)
        out.append({"reader_sentences": count, "questions": len(dev), "f1": round(m.mean(f1), 3),
                    "exact_match": round(m.mean(em), 3), "ask": latency(seconds)})
        print(out[-1], flush=True)
    return out


def calibrate_reader(args: argparse.Namespace, data: Dataset, dev: list[Any], config: RunConfig) -> int:
    base = Settings.from_env()
    settings = base.replace(refuse_coverage_below=0.0, answer_kinds="check", answerer="reader", reader_floor=0.0,
                            reader_refuse_below=0.0, reader_none_sure=0.0, reader_model=args.reader)
    whole, _ = open_index(data, settings, config)
    removed = {d for q in dev for d in q.gold_docs}
    holed, _ = open_index(Dataset("squad-without-dev-paragraphs", data.questions,
                                  tuple(r for r in data.records if r["url"] not in removed)), settings, config)

    def retrying(rag: RAG) -> RAG:  # the same index and model, every NONE read again
        return rag.answering_with(reader_none_sure=1.01)

    answerable = [r for r in reader_features(whole, retrying(whole), dev) if r["gold_shown"]]
    absent = [r for r in reader_features(holed, retrying(holed), dev) if not r["gold_shown"]]
    table = reader_sweep(answerable, absent, base.refuse_coverage_below)
    ok = [row for row in table if row["precision"] >= args.precision and row["answerable_refused"] <= args.max_wrong]
    best = max(ok, key=lambda row: (row["absent_refused"], row["answerable_f1"])) if ok else None
    # No setting meets both targets: the most precise refusals, then the best F1, then the mildest settings.
    fallback = None if ok else max(table, key=lambda row: (row["precision"], row["answerable_f1"],
                                                          -row["reader_none_sure"], -row["reader_refuse_below"],
                                                          -row["reader_guess_below"]))
    report = {"reader": args.reader, "questions": len(dev), "answerable": len(answerable), "absent": len(absent),
              "sweep": table, "chosen": best, "fallback": fallback, "features": {"answerable": answerable, "absent": absent}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{len(dev)} questions: {len(answerable)} answerable with gold shown, {len(absent)} absent")
    print("reader_floor  reader_refuse_below  reader_none_sure  reader_guess_below  absent refused  answerable refused  "
          "precision  answerable F1")
    for row in table:  # the whole table is in the report
        if row["reader_refuse_below"] in (0.0, 0.5) and row["reader_floor"] in (0.0, 0.42):
            print(f"{row['reader_floor']:>12}  {row['reader_refuse_below']:>19}  {row['reader_none_sure']:>16}  "
                  f"{row['reader_guess_below']:>18}  {row['absent_refused']:>14}  {row['answerable_refused']:>18}  "
                  f"{row['precision']:>9}  {row['answerable_f1']:>13}")
    print(f"chosen (best recall at precision >= {args.precision}, answerable refused <= {args.max_wrong}): {best}")
    if fallback:
        print(f"none meets both; the most precise (then best F1): {fallback}")
    return 0


def sweep(answerable: list[dict], absent: list[dict]) -> list[dict[str, Any]]:
    """Refusals for each (confidence, coverage) threshold pair, with the answer-kind check off and on, on as
    many absent as answerable questions."""
    n = min(len(answerable), len(absent))
    out = []
    for kinds in ("off", "check"):
        for below in CONFIDENCE_GRID:
            for t in COVERAGE_GRID:
                def refused(r: dict, below: float = below, t: float = t, kinds: str = kinds) -> bool:
                    return r["confidence"] < below or r["coverage"] < t or (kinds == "check" and not r["kind_ok"])

                tp = sum(refused(r) for r in absent[:n])
                fp = sum(refused(r) for r in answerable[:n])
                out.append({"answer_kinds": kinds, "refuse_below": below, "coverage_below": t,
                            "absent_refused": round(tp / n, 3), "answerable_refused": round(fp / n, 3),
                            "precision": round(tp / (tp + fp), 3) if tp + fp else 1.0})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.calibrate", description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=400, help="development questions (after the first 1,000)")
    parser.add_argument("--precision", type=float, default=0.9, help="lowest refusal precision to accept")
    parser.add_argument("--datasets-dir", type=Path, default=DEFAULT_DATASETS_DIR)
    parser.add_argument("--cache-dir", type=Path, default=RunConfig.cache_dir)
    parser.add_argument("--out", type=Path, default=None, help="default eval/out/calibration[-reader[-sentences]].json")
    parser.add_argument("--reader", default=None, metavar="MODEL",
                        help="calibrate the reader's refusal (with this reader model: auto, qwen2.5-0.5b, ...)")
    parser.add_argument("--sentences", default=None, metavar="N,N,...",
                        help="with --reader: compare how many sentences the reader reads (F1, latency) instead")
    parser.add_argument("--max-wrong", type=float, default=0.03, help="with --reader: most answerable refused")
    args = parser.parse_args(argv)
    name = "calibration-reader-sentences" if args.reader and args.sentences else "calibration-reader" if args.reader else "calibration"
    args.out = args.out or ROOT / "eval" / "out" / f"{name}.json"
    try:
        data = squad(args.datasets_dir)
    except DatasetMissing as e:
        print(f"skipping: {e}", file=sys.stderr)
        return 0
    settings = Settings.from_env().replace(refuse_below=0.0, refuse_coverage_below=0.0, answer_kinds="off")
    # every 7th question from the development range: many articles, not the first few
    dev = list(data.questions[BENCHMARK_QUESTIONS::7][: args.questions])
    config = RunConfig(cache_dir=args.cache_dir)
    if args.reader and args.sentences:
        table = sentences_sweep(data, dev, config, args.reader, [int(n) for n in args.sentences.split(",")])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(table, indent=2) + "\n")
        return 0
    if args.reader:
        return calibrate_reader(args, data, dev, config)
    whole, _ = open_index(data, settings, config)
    removed = {d for q in dev for d in q.gold_docs}
    kept = tuple(r for r in data.records if r["url"] not in removed)
    without = Dataset("squad-without-dev-paragraphs", data.questions, kept)
    holed, _ = open_index(without, settings, config)
    def checking(rag: RAG) -> RAG:
        return rag.answering_with(answer_kinds="check")

    answerable = [r for r in features(whole, checking(whole), dev) if r["gold_shown"]]
    absent = [r for r in features(holed, checking(holed), dev) if not r["gold_shown"]]
    table = sweep(answerable, absent)
    ok = [row for row in table if row["precision"] >= args.precision]
    best = max(ok, key=lambda row: (row["absent_refused"], -row["answerable_refused"])) if ok else None
    report = {"questions": len(dev), "answerable": len(answerable), "absent": len(absent), "sweep": table,
              "chosen": best, "features": {"answerable": answerable, "absent": absent}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{len(dev)} questions: {len(answerable)} answerable with gold shown, {len(absent)} absent")
    print("answer_kinds  refuse_below  coverage_below  absent refused  answerable refused  precision")
    for row in table:
        if row["precision"] >= args.precision - 0.05:
            print(f"{row['answer_kinds']:>12}  {row['refuse_below']:>12}  {row['coverage_below']:>14}  "
                  f"{row['absent_refused']:>14}  {row['answerable_refused']:>18}  {row['precision']:>9}")
    print(f"chosen (best recall at precision >= {args.precision}): {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
