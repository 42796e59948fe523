"""Metrics as small pure functions, each with a hand-worked example.

SQuAD normalisation, exact match and token F1 follow the official v1.1 evaluation script; retrieval metrics
follow BEIR/pytrec_eval conventions (binary relevance, log2 discount, ideal DCG over the judged documents).
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower case, drop punctuation and the articles a/an/the, squeeze spaces (official SQuAD v1.1).

    >>> normalize_answer("The  Denver Broncos!")
    'denver broncos'
    """
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def exact_match(prediction: str, truth: str) -> float:
    """1.0 when the normalised strings are equal.

    >>> exact_match("the Broncos", "Broncos")
    1.0
    """
    return float(normalize_answer(prediction) == normalize_answer(truth))


def token_f1(prediction: str, truth: str) -> float:
    """Harmonic mean of token precision and recall after normalisation.

    >>> round(token_f1("Denver Broncos won", "Broncos"), 4)   # p=1/3, r=1
    0.5
    """
    pred, gold = normalize_answer(prediction).split(), normalize_answer(truth).split()
    common = Counter(pred) & Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def best_over(metric, prediction: str, truths: Sequence[str]) -> float:  # type: ignore[no-untyped-def]
    """The official max over the gold answers.

    >>> best_over(exact_match, "Broncos", ["Panthers", "broncos"])
    1.0
    """
    return max(metric(prediction, t) for t in truths)


def squad_scores(predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Official SQuAD v1.1 totals in percent; a question without a prediction scores 0.

    >>> squad_scores({"q1": "Broncos"}, {"q1": ["Denver Broncos"], "q2": ["x"]})
    {'exact_match': 0.0, 'f1': 33.33333333333333}
    """
    em = f1 = 0.0
    for qid, truths in golds.items():
        if qid in predictions:
            em += best_over(exact_match, predictions[qid], truths)
            f1 += best_over(token_f1, predictions[qid], truths)
    return {"exact_match": 100.0 * em / len(golds), "f1": 100.0 * f1 / len(golds)}


def loose_normalize(s: str) -> str:
    """`normalize_answer` after removing *all* Unicode punctuation (curly quotes too), for containment tests.

    >>> loose_normalize("“without preconditions”.")
    'without preconditions'
    """
    return normalize_answer("".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in s))


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """Answer recall test used for open-domain QA: a normalised gold answer occurs in the text, on word bounds.

    >>> contains_answer("The Buffalo Bills’ safety ...", ["buffalo bills"]), contains_answer("Billsville", ["bills"])
    (True, False)
    """
    hay = f" {loose_normalize(text)} "
    return any(f" {loose_normalize(a)} " in hay for a in answers if loose_normalize(a))


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Binary-relevance nDCG@k.

    >>> round(ndcg_at_k(["x", "a"], {"a"}, 10), 4)   # 1/log2(3) / 1
    0.6309
    """
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the relevant documents found in the top k.

    >>> recall_at_k(["a", "x", "b"], {"a", "b", "c"}, 2)
    0.3333333333333333
    """
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def mrr_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Reciprocal rank of the first relevant document in the top k.

    >>> mrr_at_k(["x", "y", "a"], {"a"}, 10)
    0.3333333333333333
    """
    for i, d in enumerate(ranked[:k]):
        if d in relevant:
            return 1.0 / (i + 1)
    return 0.0


def refusal_scores(refused: Sequence[bool], unanswerable: Sequence[bool]) -> dict[str, float]:
    """Precision and recall of refusals, with unanswerable questions as the positive class.

    >>> refusal_scores([True, True, False, False], [True, False, True, False])
    {'precision': 0.5, 'recall': 0.5, 'refused': 2, 'unanswerable': 2}
    """
    tp = sum(r and u for r, u in zip(refused, unanswerable))
    n_refused, n_unans = sum(refused), sum(unanswerable)
    return {
        "precision": tp / n_refused if n_refused else 0.0,
        "recall": tp / n_unans if n_unans else 0.0,
        "refused": n_refused,
        "unanswerable": n_unans,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100).

    >>> percentile([5, 1, 3, 2, 4], 50), percentile([5, 1, 3, 2, 4], 95)
    (3, 5)
    """
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")
