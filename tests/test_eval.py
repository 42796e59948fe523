"""The benchmark: metrics against hand-worked examples and the official SQuAD scorer, and a fast run of the runner."""

from __future__ import annotations

import dataclasses
import json

import pytest

from eval import metrics as m
from eval.__main__ import DEFAULT_DATASETS_DIR, main
from rag import Settings
from tests.conftest import needs_reader_model

SQUAD = DEFAULT_DATASETS_DIR / "squad-v1.1-dev"
needs_shared = pytest.mark.skipif(not DEFAULT_DATASETS_DIR.is_dir(), reason=f"{DEFAULT_DATASETS_DIR} not present")


def test_retrieval_metrics_hand_worked():
    ranked = ["d3", "d1", "d7", "d2"]
    relevant = {"d1", "d2"}
    # DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068; IDCG = 1 + 1/log2(3) = 1.63093
    assert m.ndcg_at_k(ranked, relevant, 10) == pytest.approx((0.630930 + 0.430677) / 1.630930, abs=1e-6)
    assert m.ndcg_at_k(ranked, relevant, 1) == 0.0
    assert m.recall_at_k(ranked, relevant, 2) == 0.5 and m.recall_at_k(ranked, relevant, 4) == 1.0
    assert m.mrr_at_k(ranked, relevant, 10) == 0.5 and m.mrr_at_k(ranked, relevant, 1) == 0.0


def test_squad_metrics_hand_worked():
    assert m.normalize_answer("  The Eiffel-Tower, an icon! ") == "eiffeltower icon"
    assert m.exact_match("an apple", "Apple.") == 1.0
    # prediction "the big red fox" → [big, red, fox]; gold "red fox jumps" → [red, fox, jumps]; p=r=2/3
    assert m.token_f1("the big red fox", "red fox jumps") == pytest.approx(2 / 3)
    assert m.token_f1("", "x") == 0.0
    assert m.squad_scores({"a": "x", "b": "no"}, {"a": ["x"], "b": ["yes"], "c": ["z"]}) == {
        "exact_match": 100 / 3,
        "f1": 100 / 3,
    }


def test_refusal_and_percentiles():
    assert m.refusal_scores([True, False, True], [True, True, False]) == {
        "precision": 0.5, "recall": 0.5, "refused": 2, "unanswerable": 2
    }
    assert m.percentile(list(range(1, 101)), 95) == 95 and m.percentile([7.0], 50) == 7.0


@needs_shared
@pytest.mark.parametrize("system", ["bert-ensemble-google", "logreg-baseline-stanford", "match-lstm-ensemble-smu"])
def test_squad_scores_reproduce_the_official_scorer(system):
    """Our EM/F1 equal the official SQuAD v1.1 scorer's (as ported in torchmetrics) on published predictions,
    question by question; totals are then summed in float64 (torchmetrics' own sum is float32)."""
    from torchmetrics.functional.text.squad import _compute_exact_match_score, _compute_f1_score

    data = json.loads((SQUAD / "dev-v1.1.json").read_text())["data"]
    golds = {qa["id"]: [a["text"] for a in qa["answers"]] for art in data for p in art["paragraphs"] for qa in p["qas"]}
    preds = json.loads((SQUAD / "reference-predictions" / f"{system}.json").read_text())
    covered = {q: golds[q] for q in preds if q in golds}  # the official script ignores unknown ids
    ref_em = ref_f1 = 0.0
    for qid, truths in covered.items():
        em = max(float(_compute_exact_match_score(preds[qid], t)) for t in truths)
        f1 = max(float(_compute_f1_score(preds[qid], t)) for t in truths)
        assert m.best_over(m.exact_match, preds[qid], truths) == em, qid
        assert m.best_over(m.token_f1, preds[qid], truths) == pytest.approx(f1, abs=1e-6), qid
        ref_em, ref_f1 = ref_em + em, ref_f1 + f1
    ours = m.squad_scores(preds, covered)
    assert ours["exact_match"] == pytest.approx(100 * ref_em / len(covered), abs=1e-9)
    assert ours["f1"] == pytest.approx(100 * ref_f1 / len(covered), abs=1e-4)  # torchmetrics' per-question f1 is float32
    # questions without a prediction count as 0 over all 10,570, as the official script does
    total = m.squad_scores(preds, golds)
    assert total["exact_match"] == pytest.approx(ours["exact_match"] * len(covered) / len(golds))


def test_fast_benchmark_run(tmp_path, capsys):
    datasets = ["bundled", "heldout-refusal", "near-duplicates"]
    datasets += ["scifact", "squad", "realtimeqa", "multihop-rag"] if DEFAULT_DATASETS_DIR.is_dir() else []
    args = [a for d in datasets for a in ("--dataset", d)]
    out, cache = ["--out", str(tmp_path / "out")], ["--cache-dir", str(tmp_path / "cache")]
    code = main(args + ["--limit", "2", "--answer-limit", "4", "--reader", "none"] + out + cache)  # the reader: below
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (tmp_path / "out" / "recall_at_k.png").stat().st_size > 5_000
    markdown = (tmp_path / "out" / "report.md").read_text()
    bundled = report["datasets"]["bundled"]
    hybrid = bundled["modes"]["hybrid"]
    assert set(bundled["modes"]) == {"bm25", "dense", "hybrid"}
    assert hybrid["refusal[all]"]["unanswerable"] == 2
    # the summary is the mean of the per-question verdicts (recomputed here, not trusted)
    rows = [r for r in bundled["per_question"] if r["mode"] == "hybrid" and "contains_gold" in r]
    assert len(rows) == hybrid["answers[all]"]["n"] > 0
    assert hybrid["answers[all]"]["contains_gold"] == round(sum(r["contains_gold"] for r in rows) / len(rows), 4)
    assert hybrid["retrieval[all]"]["recall@5"] >= 0.9  # three easy questions, two short articles
    assert hybrid["ask_latency"]["p50_ms"] > 0 and "| hybrid | all |" in markdown
    heldout = report["datasets"]["heldout-refusal"]["modes"]["hybrid"]
    for kind in ("on-topic", "off-topic"):  # 2 held-out unanswerable questions of each kind, beside answerable ones
        rows = [r for r in report["datasets"]["heldout-refusal"]["per_question"] if r.get("split") == kind and "refused" in r]
        assert heldout[f"refusal[{kind}]"]["unanswerable"] == sum(r["unanswerable"] for r in rows) == 2
        assert heldout[f"refusal[{kind}]"]["refused"] == sum(r["refused"] for r in rows)
    copies = report["datasets"]["near-duplicates"]["near_duplicates"]
    # every edited copy is found and stored once (10 RealTimeQA articles, or the 2 bundled ones without ../shared)
    assert copies["recall"] == copies["precision"] == 1.0 and copies["reported"] == copies["copies"] == copies["stored_articles"]
    assert "| originals | edited copies |" in markdown
    for name in datasets[3:]:
        result = report["datasets"][name]
        assert result["questions"] > 0 and result["index"]["chunks"] > 0, name
        label, section = next((k, v) for k, v in result["modes"]["hybrid"].items() if k.startswith("retrieval["))
        key = "recall@1" if "recall@1" in section else "answer_recall@1"
        rows = [r for r in result["per_question"] if r["mode"] == "hybrid" and r["split"] == label[10:-1] and key in r]
        assert rows and section[key] == round(sum(r[key] for r in rows) / len(rows), 4), name
    if "realtimeqa" in datasets:
        rtqa = report["datasets"]["realtimeqa"]
        assert {"dev", "test"} <= {k[10:-1] for k in rtqa["modes"]["hybrid"] if k.startswith("retrieval[")}
        assert "open_gpt3_gcs_gen" in rtqa["baselines"]
    if "multihop-rag" in datasets:
        multihop = report["datasets"]["multihop-rag"]
        assert {"comparison", "inference", "temporal", "null"} <= {k[10:-1] for k in multihop["modes"]["hybrid"]}
        assert multihop["published"] and "| hybrid | null |" in markdown
    if "squad" in datasets:
        assert report["datasets"]["squad"]["baselines"]["bert-ensemble-google"]["f1"] > 0


@needs_reader_model
def test_a_reader_run_is_scored_on_its_short_answers(tmp_path):
    """A reader run (`--reader MODEL`) with the real reader, on 4 bundled questions (3 answerable, 1 not):
    its EM/F1 score the short answer the user reads first, its rows are told apart from the extractive run's."""
    from eval.datasets import bundled
    from eval.report import markdown
    from eval.runner import RunConfig, answer_text
    from eval.suite import evaluate
    from rag import Settings

    full = bundled(DEFAULT_DATASETS_DIR)
    picked = [q for q in full.questions if q.answers and not q.history][:3] + [q for q in full.questions if not q.answers][:1]
    dataset = dataclasses.replace(full, questions=tuple(picked))
    result = evaluate(dataset, Settings.from_env(), RunConfig(readers=("qwen2.5-0.5b",), cache_dir=tmp_path / "cache"), lambda items, desc: items)
    name = "hybrid + reader qwen2.5-0.5b"
    gold = {q.id: q.answers for q in picked}
    rows = [r for r in result["per_question"] if r.get("run") == name]
    assert len(rows) == 4 and {r["run"] for r in result["per_question"] if "run" in r} == {"bm25", "dense", "hybrid", name}
    answered = [r for r in rows if gold[r["id"]]]
    assert any(r["short"] for r in answered)
    for row in answered:
        if row["short"]:
            assert row["short"] in row["answer"] and 0.0 <= row["reader_score"] <= 1.0
            assert row["f1"] == m.best_over(m.token_f1, row["short"], gold[row["id"]])
        else:
            assert row["f1"] == (0.0 if row["refused"] else m.best_over(m.token_f1, answer_text(row["answer"]), gold[row["id"]]))
    summary = result["modes"][name]["answers[all]"]
    assert summary["n"] == 3 and summary["f1"] == round(sum(r["f1"] for r in answered) / 3, 4)
    assert result["modes"][name]["refusal[all]"]["unanswerable"] == 1
    report = {"machine": "test", "settings": {"model": "m"}, "started": "now", "datasets": {"bundled": result | {"seconds": 1.0}}}
    assert f"| {name} | all | 3 |" in markdown(report)


def test_missing_datasets_are_skipped_with_a_message(tmp_path, capsys):
    code = main(["--dataset", "scifact", "--datasets-dir", str(tmp_path / "absent"), "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")])
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert "not found" in report["datasets"]["scifact"]["skipped"]
    assert "skipping scifact" in capsys.readouterr().err


def test_speed_benchmark_runs_small(tmp_path, model_cache):
    """`python -m eval.bench` at toy size (bundled articles, 3,000 synthetic chunks): every figure is there and
    sane. Its timings are not checked here; they belong to the full run."""
    from eval.bench import main as bench

    out = tmp_path / "bench"
    args = ["--part", "ingest", "--part", "scale", "--sizes", "3000", "--ingest-chunks", "8", "--repeats", "1"]
    assert bench(args + ["--out", str(out), "--datasets-dir", str(tmp_path / "absent")]) == 0
    report = json.loads((out / "bench.json").read_text())
    assert report["sample"].endswith("the bundled articles")
    ingest = report["parts"]["ingest"]
    assert ingest["onnx"]["cosine_to_torch_min"] >= 0.9999 and ingest["onnx-int8"]["cosine_to_torch_mean"] >= 0.99
    assert ingest["end_to_end"]["chunks"] == 10 and ingest["end_to_end"]["rebuild_chunks_embedded"] == 0
    scale = report["parts"]["scale"]["3,000 chunks"]
    assert scale["index_type"] == "flat" and scale["ivf_recall@10_vs_exact"] >= 0.95
    assert scale["retrieval"]["n"] == scale["ask"]["n"] == 1 and scale["ask"]["p50_ms"] > scale["embed_query"]["p50_ms"] > 0
    assert 1_000 < scale["disk_bytes_per_chunk"] < 20_000 and scale["ram_bytes_per_chunk"] > 0
    assert "| 3,000 chunks ask p50_ms |" in (out / "bench.md").read_text()


def test_refusal_calibration_sweep_counts_by_hand():
    """eval.calibrate's sweep on a hand-worked case: 2 answerable and 2 absent questions."""
    from eval.calibrate import sweep

    answerable = [{"confidence": 0.60, "coverage": 1.0, "kind_ok": True}, {"confidence": 0.41, "coverage": 0.5, "kind_ok": True}]
    absent = [{"confidence": 0.50, "coverage": 0.4, "kind_ok": False}, {"confidence": 0.35, "coverage": 1.0, "kind_ok": True}]
    rows = {(r["answer_kinds"], r["refuse_below"], r["coverage_below"]): r for r in sweep(answerable, absent)}
    # cosine 0.36 refuses only the second absent one; coverage 0.45, or the answer-kind check, adds the first
    assert rows[("off", 0.36, 0.0)] == {"answer_kinds": "off", "refuse_below": 0.36, "coverage_below": 0.0,
                                        "absent_refused": 0.5, "answerable_refused": 0.0, "precision": 1.0}
    assert rows[("off", 0.36, 0.45)]["absent_refused"] == rows[("check", 0.36, 0.0)]["absent_refused"] == 1.0
    # cosine 0.42 also refuses the answerable one at 0.41; coverage 0.55 refuses it again (counted once)
    assert rows[("off", 0.42, 0.55)] == {"answer_kinds": "off", "refuse_below": 0.42, "coverage_below": 0.55,
                                         "absent_refused": 1.0, "answerable_refused": 0.5, "precision": 0.667}


def test_reader_calibration_sweep_counts_by_hand():
    """The reader's sweep: a doubtful NONE (P 0.3) is answered on retry when the certainty bar is above 0.3."""
    from eval.calibrate import reader_sweep

    base = {"confidence": 0.6, "coverage": 1.0, "reader_refused": False, "f1": 1.0, "reader_score": 0.9}
    answerable = [base, base | {"reader_refused": True, "reader_score": 0.7, "f1": 0.0, "retry_refused": False, "retry_f1": 0.5}]
    absent = [base | {"reader_refused": True, "reader_score": 0.1, "f1": 0.0, "retry_refused": False, "retry_f1": 0.0},
              base | {"reader_score": 0.2, "f1": 0.0}]
    table = reader_sweep(answerable, absent, 0.55)
    rows = {(r["reader_floor"], r["reader_refuse_below"], r["reader_none_sure"]): r for r in table if r["reader_guess_below"] == 0}
    # every NONE refuses: both refusals of the reader count, one right and one wrong
    assert rows[(0.0, 0.0, 0.0)] == {"reader_floor": 0.0, "reader_refuse_below": 0.0, "reader_none_sure": 0.0,
                                     "reader_guess_below": 0.0, "coverage_below": 0.55, "absent_refused": 0.5,
                                     "answerable_refused": 0.5, "precision": 0.5, "answerable_f1": 0.5}
    # NONE refuses only at P >= 0.4: the answerable one (P 0.3) is retried (F1 0.5), the absent one (P 0.9) refused
    assert rows[(0.0, 0.0, 0.4)]["answerable_refused"] == 0.0 and rows[(0.0, 0.0, 0.4)]["answerable_f1"] == 0.75
    assert rows[(0.0, 0.0, 0.4)]["absent_refused"] == 0.5 and rows[(0.0, 0.0, 0.4)]["precision"] == 1.0
    # a reader score bar of 0.3 also refuses the second absent one (score 0.2); with no NONE refusing, neither is
    assert rows[(0.0, 0.3, 0.4)]["absent_refused"] == 1.0 and rows[(0.0, 0.3, 0.4)]["precision"] == 1.0
    assert rows[(0.0, 0.0, 1.01)]["absent_refused"] == 0.0



def test_reader_calibration_sweep_refuses_guesses():
    """A reply whose first token the reader was unsure of is refused from the guess bar on, whether it came
    on the first read or on the retry with NONE barred; sureness None (a model without probabilities) never is."""
    from eval.calibrate import reader_sweep

    base = {"confidence": 0.6, "coverage": 1.0, "reader_refused": False, "f1": 1.0, "reader_score": 0.9, "reader_sureness": 0.9}
    answerable = [base, base | {"reader_sureness": None}]
    absent = [base | {"f1": 0.0, "reader_sureness": 0.3},
              base | {"reader_refused": True, "reader_score": 0.8, "f1": 0.0, "retry_refused": False, "retry_f1": 0.0,
                      "retry_sureness": 0.2}]
    rows = {r["reader_guess_below"]: r for r in reader_sweep(answerable, absent, 0.55)
            if (r["reader_floor"], r["reader_refuse_below"], r["reader_none_sure"]) == (0.0, 0.0, 0.4)}
    assert rows[0.0]["absent_refused"] == 0.0  # neither NONE (P 0.2 < 0.4) nor the 0.3-sure reply refuses
    assert rows[0.25]["absent_refused"] == 0.5 and rows[0.35]["absent_refused"] == 1.0
    assert all(r["answerable_refused"] == 0.0 and r["answerable_f1"] == 1.0 for r in rows.values())


def test_overview_benchmark_counts_by_hand(tmp_path, embedder):
    """`evaluate_overviews` on a tiny archive: one week's digest and one timeline, scored from the answers."""
    from eval.datasets import Dataset, Question
    from eval.overview import evaluate_overviews
    from eval.report import markdown, target_lines
    from eval.runner import RunConfig

    from .test_overview import WEEK

    records = [{"url": f"https://news.example/{name}", "title": title, "text": text, "date": date}
               for name, (date, title, text) in WEEK.items()]
    stories = {r["url"]: {"q-title42" if "title42" in r["url"] else f"q-{r['url'][-12:]}"} for r in records}
    questions = (
        Question("digest-1", "What happened last week?", split="digest", asked="2023-05-23"),
        Question("timeline-1", "What's the latest on Title 42?", answers=("Title 42",), split="timeline", asked="2023-05-23"),
    )
    dataset = Dataset("overviews", questions, tuple(records), kind="overview",
                      extra={"weeks": ["2023-05-23"], "stories": stories, "week_of": {q: "2023-05-23" for s in stories.values() for q in s}})
    config = RunConfig(cache_dir=tmp_path / "cache")
    result = evaluate_overviews(dataset, Settings(), config, lambda items, desc: items)
    digest, timeline = result["per_question"]
    assert digest["lines"] == 3 and digest["distinct_stories"] == 1.0 and digest["in_period"] == 1.0  # 3 Title 42 articles, one line
    assert timeline["lines"] == 3 and timeline["newest_first"] == 1.0 and timeline["on_topic"] == 1.0
    report = {"datasets": {"overviews": {**result, "seconds": 1.0}}, "machine": "m", "settings": {"model": "x"}, "started": "now"}
    assert "| digest (n=1) |" in markdown(report)
    assert target_lines(report) == [
        "- met: every week's digest answers (#21) — measured 1.000",
        "- met: digest lines about distinct stories >= 0.9 (#21) — measured 1.000",
        "- met: timeline lines naming their topic >= 0.9 (#21) — measured 1.000",
    ]


def test_a_cached_eval_index_is_not_read_again(tmp_path, monkeypatch):
    from eval.datasets import bundled
    from eval.runner import RunConfig, open_index
    from rag import RAG

    records = [{"url": "x:1", "title": "Talks end", "text": "The talks in Seoul ended on Monday, officials said."}]
    dataset = dataclasses.replace(bundled(tmp_path), name="tiny", records=tuple(records), corpus_dir=None)
    config = RunConfig(cache_dir=tmp_path / "cache")
    first, _ = open_index(dataset, Settings(), config)
    assert first.stats().articles == 1
    monkeypatch.setattr(RAG, "index", lambda *a, **k: (_ for _ in ()).throw(AssertionError("indexed again")))
    again, _ = open_index(dataset, Settings(), config)
    assert again.stats().articles == 1
    monkeypatch.undo()
    # A cache written in an older index format is rebuilt, not an error.
    folder = again.settings.index_dir
    gen = folder / (folder / "CURRENT").read_text().strip()
    manifest = json.loads((gen / "manifest.json").read_text())
    (gen / "manifest.json").write_text(json.dumps(manifest | {"format_version": 1}))
    rebuilt, _ = open_index(dataset, Settings(), config)
    assert rebuilt.stats().articles == 1


def test_the_chart_is_a_grid_without_empty_panels(tmp_path):
    import struct

    from eval.report import chart

    curve = {"retrieval[all]": {"recall@1": 0.5, "recall@5": 0.8, "recall@20": 0.9}}
    report = {"datasets": {f"d{i}": {"modes": {"hybrid": curve, "bm25": curve}} for i in range(4)}}
    report["datasets"]["no-curves"] = {"modes": {"overviews": {"ask_latency": {}}}}
    chart(report, tmp_path / "c.png")
    width, height = struct.unpack(">II", (tmp_path / "c.png").read_bytes()[16:24])
    assert (width, height) == (round(4.4 * 3 * 110), round(3.6 * 2 * 110))  # 3 columns, 2 rows for 4 panels


def test_indexing_shows_progress_on_a_terminal_only(tmp_path):
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    from .conftest import ARTICLES, ROOT

    env = {**os.environ, "RAG_INDEX_DIR": str(tmp_path / "tty-index"), "PYTHONPATH": str(ROOT)}
    main_fd, child_fd = pty.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 columns wide
    proc = subprocess.Popen([sys.executable, "-m", "rag", "index", str(ARTICLES)], stdout=child_fd, stderr=child_fd, env=env, cwd=tmp_path)
    os.close(child_fd)
    seen = b""
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=300) == 0
    assert b"embedding" in seen and b"|" in seen  # a bar on the terminal
    piped = subprocess.run([sys.executable, "-m", "rag", "index", "--index-dir", str(tmp_path / "pipe-index"), str(ARTICLES)],
                           capture_output=True, env=env, cwd=tmp_path, timeout=300)
    assert piped.returncode == 0 and b"embedding" not in piped.stderr  # quiet in a pipe


@pytest.mark.skipif(not (DEFAULT_DATASETS_DIR / "scifact").is_dir(), reason="../shared/datasets/scifact is absent")
def test_the_peers_benchmark_measures_this_project_and_names_a_peer_it_cannot_build(tmp_path, monkeypatch):
    """`--part peers` on a tiny SciFact sample: this project's figures come from its own process; a framework
    whose environment cannot be made is skipped with the reason, and no ratio is made up for it."""
    import subprocess

    from eval.bench import peers

    def no_index(name, cache):
        raise subprocess.CalledProcessError(1, "pip")

    monkeypatch.setattr(peers, "environment", no_index)
    result = peers.bench_peers(DEFAULT_DATASETS_DIR, tmp_path / "cache", tmp_path / "work", docs=40, queries=5,
                               peers=("langchain",))
    ours = result["systems"]["news-qa"]
    assert ours["documents"] >= 5 and ours["chunks"] >= ours["documents"] and ours["ingest_chunks_per_cpu_s"] > 0
    assert all(0 <= ours[mode]["ndcg@10"] <= 1 and 0 < ours[mode]["p50_ms"] <= ours[mode]["p95_ms"] for mode in ("bm25", "dense", "hybrid"))
    assert ours["dense"]["recall@100"] == 1.0  # 40 documents: every relevant one is among the first 100
    assert "pip install -r eval/bench/peers-langchain.txt" in result["systems"]["langchain"]["skipped"]
    assert "news-qa vs langchain" not in result and "| dense nDCG@10 / recall@100 |" in peers.table(result)


def test_peer_ratios_by_hand():
    from eval.bench.peers import ratios

    ours = {"ingest_chunks_per_cpu_s": 30.0, "ingest_docs_per_cpu_s": 3.0, "peak_rss_mb": 500.0, "disk_mb": 2.0,
            **{m: {"p50_ms": 10.0} for m in ("bm25", "dense", "hybrid")}}
    peer = {"ingest_chunks_per_cpu_s": 10.0, "ingest_docs_per_cpu_s": 2.0, "peak_rss_mb": 1000.0, "disk_mb": 1.0,
            **{m: {"p50_ms": 40.0} for m in ("bm25", "dense", "hybrid")}}
    assert ratios(ours, peer) == {"ingest_chunks_per_cpu_s": 3.0, "ingest_docs_per_cpu_s": 1.5, "peak_rss": 0.5, "disk": 2.0,
                                  "bm25_p50": 0.25, "dense_p50": 0.25, "hybrid_p50": 0.25}
