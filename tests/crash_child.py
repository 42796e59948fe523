"""Child process for the crash test: rewrites the index in a loop until it is killed.

Uses a small deterministic embedder (the seam under test is the on-disk store, not the model), so it
starts in well under a second and spends its time writing generations.
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

import numpy as np

from rag import RAG, Settings


class HashEmbedder:
    name = "hash"
    dimension = 16

    def embed_texts(self, texts):  # type: ignore[no-untyped-def]
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], dtype=np.uint8).astype(np.float32) + 1 for t in texts]
        out = np.array(rows, dtype=np.float32).reshape(len(texts), self.dimension)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def fits(self, text: str) -> bool:
        return True


def main() -> None:
    index_dir, corpus = Path(sys.argv[1]), Path(sys.argv[2])
    rag = RAG(Settings(index_dir=index_dir, model="hash"), embedder=HashEmbedder())
    files = sorted(corpus.glob("*.txt"))
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        target = files[n % len(files)]
        target.write_text(target.read_text() + f"\nUpdate number {n} was filed by the wire service today.\n")
        started = time.perf_counter()
        rag.index([corpus])
        print(f"wrote {n} {time.perf_counter() - started:.3f}", flush=True)  # the parent kills after this


if __name__ == "__main__":
    main()
