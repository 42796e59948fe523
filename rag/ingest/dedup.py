"""Near-duplicate articles (the same wire story from several outlets), found by MinHash over word shingles.

Each article's text gets a MinHash signature (datasketch, 128 permutations) of its 3-word shingles. Two
articles whose signatures agree in at least `COPY_SIMILARITY` of their positions (an estimate of the
Jaccard similarity of their shingle sets) are copies: the index keeps the first and lists the others'
sources on it. Different headers, page clutter (removed by cleaning first) and small rewrites keep a copy
above the threshold; another article on the same story, written separately, falls far below it
(`python -m eval --dataset near-duplicates` measures both).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence

import numpy as np

from ..schema import Article

NUM_PERM = 128
SHINGLE_WORDS = 3
# Estimated Jaccard of 3-word shingle sets at which two articles are one story. Measured on the eval set
# (edited copies against other articles of the same weeks): see the README's near-duplicate section.
COPY_SIMILARITY = 0.5
_WORD = re.compile(r"\w+")


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """Lower-cased word n-grams.

    >>> sorted(shingles("Seoul said no, Seoul said", 3))
    ['no seoul said', 'said no seoul', 'seoul said no']
    """
    words = [w.lower() for w in _WORD.findall(text)]
    return {" ".join(words[i : i + size]) for i in range(max(1, len(words) - size + 1))} if words else set()


def fingerprint(text: str) -> str:
    """The text's MinHash signature, base64 (stored with the article)."""
    from datasketch import MinHash

    minhash = MinHash(num_perm=NUM_PERM, seed=1)
    minhash.update_batch([s.encode() for s in sorted(shingles(text))])
    return base64.b64encode(np.asarray(minhash.hashvalues, dtype=np.uint32).tobytes()).decode()


def signature(print_: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(print_), dtype=np.uint32)


def similarity(a: str, b: str) -> float:
    """Estimated Jaccard similarity of two fingerprints' shingle sets.

    >>> one = fingerprint("the minister said the talks ended on friday")
    >>> same = fingerprint("the minister said the talks ended on friday")
    >>> similarity(one, same), similarity(one, fingerprint("rain"))
    (1.0, 0.0)
    """
    return float(np.mean(signature(a) == signature(b)))


def find_copies(
    kept: Sequence[Article], incoming: Sequence[Article], threshold: float = COPY_SIMILARITY
) -> dict[str, str]:
    """doc id of each incoming article that copies a kept one (or an earlier incoming one) → that one's id."""
    ids = [a.doc_id for a in kept]
    table = np.zeros((len(kept) + len(incoming), NUM_PERM), dtype=np.uint32)  # kept, then incoming as stored
    for i, a in enumerate(kept):
        table[i] = signature(a.fingerprint or fingerprint(a.text))
    copies: dict[str, str] = {}
    for article in incoming:
        sig = signature(article.fingerprint or fingerprint(article.text))
        if ids:
            scores = (table[: len(ids)] == sig).mean(axis=1)
            best = int(np.argmax(scores))
            if scores[best] >= threshold:
                copies[article.doc_id] = ids[best]
                continue
        table[len(ids)] = sig
        ids.append(article.doc_id)
    return copies
