"""Report files: JSON (everything), Markdown (the comparison tables) and a PNG chart of recall@k."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .runner import MODES, RECALL_KS


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# Evaluation report\n\n{report['machine']} · model `{report['settings']['model']}` · {report['started']}\n"]
    for name, result in report["datasets"].items():
        if "skipped" in result:
            lines.append(f"## {name}\n\nSkipped: {result['skipped']}\n")
            continue
        idx = result["index"]
        lines.append(
            f"## {name}\n\n{result['questions']} questions · {idx['articles']} articles, {idx['chunks']} chunks "
            f"(indexed in {idx['seconds']} s) · run took {result['seconds']} s\n"
        )
        lines += _retrieval_table(result)
        lines += _answer_table(result)
        lines += _overview_table(result)
        if "near_duplicates" in result:
            d = result["near_duplicates"]
            lines.append("| originals | edited copies | reported as copies | precision | recall | stored |")
            lines.append("|---|---|---|---|---|---|")
            lines.append(f"| {d['originals']} | {d['copies']} | {d['reported']} | {_fmt(d['precision'])} | "
                         f"{_fmt(d['recall'])} | {d['stored_articles']} |")
            lines += [f"- not an edited copy: {w}" for w in d["wrong"]]
        for label, numbers in result.get("published", {}).items():
            lines.append(f"- published, {label}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in numbers.items()))
        if result.get("baselines"):
            lines.append("\nPublished predictions scored by our metric code:\n")
            lines.append("| system | split | exact match | F1 |\n|---|---|---|---|")
            for system, value in result["baselines"].items():
                splits = value if "exact_match" not in value else {"all": value}
                for split, s in splits.items():
                    lines.append(f"| {system} | {split} | {_fmt(s['exact_match'])} | {_fmt(s['f1'])} |")
        lines.append("")
    targets = target_lines(report)
    if targets:
        lines += ["## Targets", "", *targets, ""]
    return "\n".join(lines) + "\n"


def _overview_table(result: dict[str, Any]) -> list[str]:
    entry = result["modes"].get("overviews", {})
    out = []
    for split in ("digest", "timeline"):
        values = entry.get(f"overview[{split}]")
        if values:
            keys = [k for k in values if k != "n"]
            out += [f"| {split} (n={values['n']}) | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|",
                    "| | " + " | ".join(_fmt(values[k]) for k in keys) + " |", ""]
    return out


def _retrieval_table(result: dict[str, Any]) -> list[str]:
    keys = ["ndcg@10", "recall@100", "mrr@10", "recall@1", "recall@5", "recall@20"]
    keys += ["answer_recall@1", "answer_recall@5", "answer_recall@20"]
    rows = []
    for mode, entry in result["modes"].items():
        for section, values in entry.items():
            if section.startswith("retrieval["):
                present = [k for k in keys if k in values]
                rows.append((mode, section[10:-1], present, values, entry["retrieval_latency"]))
    if not rows:
        return []
    present = [k for k in keys if any(k in row[2] for row in rows)]  # a split without gold documents has none
    out = ["| retrieval | split | " + " | ".join(present) + " | p50 ms | p95 ms |", "|---" * (len(present) + 4) + "|"]
    for mode, split, _, values, lat in rows:
        cells = " | ".join(_fmt(values.get(k, "–")) for k in present)
        out.append(f"| {mode} | {split} | {cells} | {lat['p50_ms']} | {lat['p95_ms']} |")
    return out + [""]


def _answer_table(result: dict[str, Any]) -> list[str]:
    out = []
    for mode, entry in result["modes"].items():
        for section, values in entry.items():
            if not section.startswith("answers["):
                continue
            split = section[8:-1]
            refusal = entry.get(f"refusal[{split}]", {})
            if not out:
                out = ["| answers | split | n | contains gold | EM | F1 | cites gold [1] | refusal P | refusal R | ask p50 ms | ask p95 ms |",
                       "|---|---|---|---|---|---|---|---|---|---|---|"]
            lat = entry["ask_latency"]
            out.append(
                f"| {mode} | {split} | {values['n']} | {_fmt(values.get('contains_gold', ''))} | {_fmt(values.get('exact_match', ''))} | "
                f"{_fmt(values.get('f1', ''))} | {_fmt(values.get('cites_gold', '–'))} | {_fmt(refusal.get('precision', ''))} "
                f"({refusal.get('refused', '')}) | {_fmt(refusal.get('recall', ''))} ({refusal.get('unanswerable', '')}) | {lat['p50_ms']} | {lat['p95_ms']} |"
            )
    return out + [""] if out else []


def chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = {n: r for n, r in report["datasets"].items() if _recall_curves(r)}  # datasets with curves only
    if not results:
        return
    cols = min(3, len(results))
    rows = -(-len(results) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(results):]:
        ax.remove()  # no empty panels
    for ax, (name, result) in zip(axes.flat, results.items()):
        curves = _recall_curves(result)
        for mode, (_, ks, values) in curves.items():
            ax.plot(ks, values, marker="o", label=mode)
        prefixes = {prefix for prefix, _, _ in curves.values()}
        ax.set_xscale("log")
        ax.set_title(f"{name} ({'recall' if 'recall@' in prefixes else 'answer recall'}@k)")
        ax.set_xlabel("k")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _recall_curves(result: dict[str, Any]) -> dict[str, tuple[str, list[int], list[float]]]:
    """Per retrieval mode: which recall (of gold documents, else of the answer), its ks and its values."""
    curves = {}
    for mode in MODES:
        entry = result.get("modes", {}).get(mode, {})
        section = next((v for k, v in entry.items() if k.startswith("retrieval[")), {})
        prefix = "recall@" if "recall@1" in section else "answer_recall@"
        ks = [k for k in RECALL_KS if f"{prefix}{k}" in section]
        if ks:
            curves[mode] = (prefix, ks, [section[f"{prefix}{k}"] for k in ks])
    return curves


# The targets the issues set, each checked on the run that users get by default (a reader run: any reader).
TARGETS = [
    ("squad", "+ reader", "answers[all]", "f1", ">=", 0.6, "SQuAD F1 of the short answer >= 0.6 (#25)"),
    ("heldout-refusal", "+ reader", "refusal[off-topic]", "recall", ">=", 1.0, "off-topic refusal recall 1.0 (#25)"),
    ("heldout-refusal", "+ reader", "refusal[on-topic]", "recall", ">=", 0.6, "on-topic-absent refusal recall >= 0.6 (#25)"),
    ("heldout-refusal", "+ reader", "refusal[on-topic]", "precision", ">=", 0.9, "on-topic-absent refusal precision >= 0.9 (#25)"),
    ("realtimeqa", "+ reader", "answers[test]", "exact_match", ">=", 0.32, "RealTimeQA test EM >= GPT-3 + search's 0.32 (#25)"),
    ("overviews", "overviews", "overview[digest]", "answered", ">=", 1.0, "every week's digest answers (#21)"),
    ("overviews", "overviews", "overview[digest]", "distinct_stories", ">=", 0.9, "digest lines about distinct stories >= 0.9 (#21)"),
    ("overviews", "overviews", "overview[timeline]", "on_topic", ">=", 0.9, "timeline lines naming their topic >= 0.9 (#21)"),
]


def target_lines(report: dict[str, Any]) -> list[str]:
    """One line per target and run that measured it (each reader model its own line): met or not met."""
    out = []
    for dataset, run, section, key, op, goal, label in TARGETS:
        modes = report["datasets"].get(dataset, {}).get("modes", {})
        runs = [(name, entry[section][key]) for name, entry in modes.items() if run in name and key in entry.get(section, {})]
        for name, value in runs:
            met = value >= goal if op == ">=" else value <= goal
            which = f" ({name})" if len(runs) > 1 else ""
            out.append(f"- {'met' if met else 'NOT met'}: {label} — measured {_fmt(float(value))}{which}")
    return out


def write(report: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "recall_at_k.png"]
    paths[0].write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    paths[1].write_text(markdown(report))
    chart(report, paths[2])
    return paths
