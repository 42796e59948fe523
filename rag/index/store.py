"""The on-disk index: a versioned contract of plain files, written atomically.

    index/
      CURRENT            name of the live generation folder (replaced atomically)
      gen-000007/
        manifest.json    format version, model, dimension, chunking settings, counts, file sizes
        articles.jsonl   one cleaned article per line (citations index into its `text`)
        chunks.jsonl     one chunk per line; line number = FAISS row id
        dense.faiss      FAISS index of the chunk vectors (or dense.milvus.json: the Milvus collection holding
                         them, with the chunk texts, dates and BM25)
        bm25/            bm25s files (JSON + numpy, no pickle); absent when BM25 lives in Milvus
        sentences.npy    int8 vectors of every chunk's sentences, and sentence_rows.npy: which are whose
                         (absent when written by an embedder that cannot pool sentences)
      .lock              held by a writer

A writer builds a new generation in a temporary folder, renames it into place and only then points
CURRENT at it, so a crash at any moment leaves the last good generation loadable. The previous
generation is kept so a reader that has just read CURRENT can still open it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorrupt, IndexLocked, IndexMismatch, IndexNotFound, IndexUnwritable
from ..schema import Article, Chunk
from .sentences import SentenceVectors
from .sparse import BM25Index
from .vectors import SparseSearch, VectorStore, discard_store, full_text_search, load_store

# 2: every manifest names its vector store, every chunk its sentence ends, every article its copies and
# origin, every Milvus record whether it keeps texts. Version 1 indexes are refused with the rebuild hint.
FORMAT_VERSION = 2
POINTER = "CURRENT"
LOCK = ".lock"


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model: str
    dimension: int
    encoding: str
    chunk_tokens: int
    chunk_overlap: int
    articles: int
    chunks: int
    updated_at: str
    file_sizes: tuple[tuple[str, int], ...] = ()
    vector_store: str = "faiss"  # which `VectorStore` holds the chunk vectors ("faiss", "milvus")
    bm25: str = "bm25s"  # where BM25 lives: "bm25s" (the bm25/ folder) or "milvus" (in the vector store)

    def build_settings(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "encoding": self.encoding,
            "chunk_tokens": self.chunk_tokens,
            "chunk_overlap": self.chunk_overlap,
        }


@dataclass(frozen=True)
class IndexData:
    manifest: Manifest
    articles: tuple[Article, ...]
    chunks: tuple[Chunk, ...]
    dense: VectorStore
    sparse: SparseSearch
    sentences: SentenceVectors | None = None  # None: answers embed the candidate sentences instead

    @property
    def fuses_in_store(self) -> bool:
        """BM25 runs in the vector store, so hybrid retrieval is fused there too (Milvus' hybrid_search)."""
        return self.sparse.NAME == self.dense.NAME

    @cached_property
    def chunk_dates(self) -> np.ndarray:
        """Each chunk's article date (ISO strings compare in date order; "" = undated), row-aligned."""
        return np.array([c.date for c in self.chunks], dtype="<U10")

    @cached_property
    def article_by_id(self) -> dict[str, Article]:
        return {a.doc_id: a for a in self.articles}

    @cached_property
    def newest_date(self) -> str:
        """The most recent article date ("" when no article is dated): what "last week" is counted from."""
        return max((a.date for a in self.articles), default="")


def rebuild_hint(folder: Path) -> str:
    return f"rebuild it with `python -m rag index --rebuild --index-dir {folder} <your article folders>`"


def live_generation(folder: Path) -> Path:
    pointer = folder / POINTER
    if not pointer.exists():
        raise IndexNotFound(f"no index at {folder}; build one with `python -m rag index <your article folders>`")
    name = pointer.read_text().strip()
    gen = folder / name
    if not name.startswith("gen-") or not gen.is_dir():
        raise IndexCorrupt(f"{pointer} points at missing generation {name!r}; {rebuild_hint(folder)}")
    return gen


def read_index(folder: Path, expect: dict[str, Any]) -> IndexData:
    """Load and cross-check every file; `expect` holds the build settings the caller will query with."""
    gen = live_generation(folder)
    manifest = _read_manifest(gen, folder)
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatch(
            f"{folder} has index format {manifest.format_version}, this version reads {FORMAT_VERSION}; "
            + rebuild_hint(folder)
        )
    wrong = {k: (v, expect[k]) for k, v in manifest.build_settings().items() if k in expect and expect[k] != v}
    if wrong:
        what = ", ".join(f"{k}={built!r} (you asked for {asked!r})" for k, (built, asked) in wrong.items())
        raise IndexMismatch(
            f"{folder} was built with {what}; use the same settings, or {rebuild_hint(folder)}"
        )
    for name, size in manifest.file_sizes:
        path = gen / name
        if not path.exists() or path.stat().st_size != size:
            raise IndexCorrupt(f"{path} is missing or has the wrong size; {rebuild_hint(folder)}")
    try:
        rows = _read_jsonl(gen / "articles.jsonl")
        articles = tuple(Article(**{**row, "copies": tuple(row["copies"])}) for row in rows)
        by_id = {a.doc_id: a for a in articles}
        chunks = tuple(_chunk(row, by_id[row["doc_id"]]) for row in _read_jsonl(gen / "chunks.jsonl"))
    except (ValueError, TypeError, KeyError) as e:
        raise IndexCorrupt(f"{gen} has malformed article or chunk records ({e}); {rebuild_hint(folder)}") from e
    dense = load_store(manifest.vector_store, gen)
    if len(articles) != manifest.articles or len(chunks) != manifest.chunks or dense.size != len(chunks):
        raise IndexCorrupt(
            f"{gen}: manifest says {manifest.articles} articles/{manifest.chunks} chunks, files hold "
            f"{len(articles)}/{len(chunks)} and {dense.size} vectors; {rebuild_hint(folder)}"
        )
    if dense.dimension != manifest.dimension:
        raise IndexCorrupt(f"{gen}: vectors have dimension {dense.dimension}, manifest says {manifest.dimension}")
    try:
        sentences = SentenceVectors.load(gen, len(chunks), manifest.dimension)
    except IndexCorrupt as e:
        raise IndexCorrupt(f"{e}; {rebuild_hint(folder)}") from e
    return IndexData(manifest, articles, chunks, dense, _sparse(manifest, gen, dense, folder), sentences)


def _sparse(manifest: Manifest, gen: Path, dense: VectorStore, folder: Path) -> SparseSearch:
    if manifest.bm25 == BM25Index.NAME:
        return BM25Index.load(gen, manifest.chunks)
    in_store = full_text_search(dense)
    if in_store is None or manifest.bm25 != in_store.NAME:
        raise IndexCorrupt(f"{gen}: BM25 is said to live in {manifest.bm25!r}, which has none; {rebuild_hint(folder)}")
    return in_store


def _chunk(row: dict[str, Any], article: Article) -> Chunk:
    sentences = tuple(int(end) for end in row.pop("sentences"))
    return Chunk(
        title=article.title, source=article.source, sentences=sentences, url=article.url, date=article.date,
        copies=article.copies, publisher=article.publisher, **row,
    )


def _read_manifest(gen: Path, folder: Path) -> Manifest:
    try:
        raw = json.loads((gen / "manifest.json").read_text())
        raw["file_sizes"] = tuple(tuple(x) for x in raw.get("file_sizes", ()))
        return Manifest(**raw)
    except (OSError, ValueError, TypeError) as e:
        raise IndexCorrupt(f"{gen / 'manifest.json'} is unreadable ({type(e).__name__}); {rebuild_hint(folder)}") from e


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


_ELSEWHERE = "give --index-dir (RAG_INDEX_DIR) a writable folder"
_WRITE_FAILURES = {
    errno.ENOSPC: ("the disk is full", "free some space"),
    errno.EDQUOT: ("the disk quota is used up", "free some space"),
    errno.EFBIG: ("a file grew past the file-size limit", "raise the limit (ulimit -f)"),
    errno.EROFS: ("the folder is on a read-only file system", _ELSEWHERE),
    errno.EACCES: ("there is no permission to write there", _ELSEWHERE),
    errno.EPERM: ("there is no permission to write there", _ELSEWHERE),
}


def write_failure(folder: Path, error: OSError) -> IndexUnwritable:
    """What a failed write means and what to do, in one line; the index it was writing is unchanged.

    >>> str(write_failure(Path("idx"), OSError(errno.ENOSPC, "No space left on device")))
    'could not write the index at idx: the disk is full; free some space, then run it again (the index is unchanged)'
    """
    what, fix = _WRITE_FAILURES.get(error.errno or 0, (error.strerror or str(error), "fix that"))
    return IndexUnwritable(f"could not write the index at {folder}: {what}; {fix}, then run it again (the index is unchanged)")


def write_index(folder: Path, data: IndexData) -> None:
    """Write a new generation and switch CURRENT to it (`IndexUnwritable` when the disk refuses)."""
    try:
        _write_index(folder, data)
    except OSError as e:
        raise write_failure(folder, e) from e


def _write_index(folder: Path, data: IndexData) -> None:
    """Write a new generation and switch CURRENT to it. Call while holding `writer_lock`. Kept afterwards: the
    new generation and the one CURRENT named before (readers may have it open); every other one goes, such
    as a generation a killed writer renamed into place but never pointed CURRENT at."""
    folder.mkdir(parents=True, exist_ok=True)
    before = _pointed(folder)
    tmp = folder / f".tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        _write_jsonl(tmp / "articles.jsonl", (a.to_dict() for a in data.articles))
        _write_jsonl(
            tmp / "chunks.jsonl",
            ({"doc_id": c.doc_id, "position": c.position, "start": c.start, "end": c.end, "text": c.text}
             | ({"sentences": list(c.sentences)} if c.sentences else {}) for c in data.chunks),
        )
        data.dense.save(tmp)
        data.sparse.save(tmp)
        files = ["articles.jsonl", "chunks.jsonl", data.dense.FILE]
        if data.sentences is not None:
            data.sentences.save(tmp)
            files += SentenceVectors.FILES
        sizes = tuple((name, (tmp / name).stat().st_size) for name in files)
        manifest = dataclasses.replace(
            data.manifest, file_sizes=sizes, vector_store=data.dense.NAME, bm25=data.sparse.NAME
        )
        (tmp / "manifest.json").write_text(json.dumps(dataclasses.asdict(manifest), indent=2) + "\n")
        _fsync_tree(tmp)
        gen = folder / _next_generation(folder)
        os.rename(tmp, gen)
        pointer_tmp = folder / f"{POINTER}.tmp"
        with pointer_tmp.open("w") as f:
            f.write(gen.name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(pointer_tmp, folder / POINTER)
        _fsync_dir(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _prune(folder, keep={gen.name, *([before] if before else [])})


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _generations(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("gen-*") if p.is_dir())


def _next_generation(folder: Path) -> str:
    gens = _generations(folder)
    last = int(gens[-1].split("-")[1]) if gens else 0
    return f"gen-{last + 1:06d}"


def _pointed(folder: Path) -> str | None:
    """The generation CURRENT names now, or None (no index yet, or a pointer to nothing)."""
    try:
        return live_generation(folder).name
    except (IndexNotFound, IndexCorrupt, OSError):
        return None


def _prune(folder: Path, keep: set[str]) -> None:
    for path in folder.iterdir():
        if (path.name.startswith("gen-") and path.name not in keep) or path.name.startswith(".tmp-"):
            if (path / "manifest.json").exists():
                try:
                    discard_store(_read_manifest(path, folder).vector_store, path)
                except IndexCorrupt:
                    pass  # an unreadable generation has nothing we could release
            shutil.rmtree(path, ignore_errors=True)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as f:
                os.fsync(f.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def writer_lock(folder: Path, wait_s: float = 0.0) -> Iterator[None]:
    """One writer at a time; a second one gets `IndexLocked` (after waiting up to `wait_s`)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = (folder / LOCK).open("a+")
    except OSError as e:
        raise write_failure(folder, e) from e
    with lock as f:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    waited = f" (waited {wait_s:.0f} s)" if wait_s >= 1 else ""
                    raise IndexLocked(
                        f"another process is updating the index at {folder}{waited}; wait for it to finish and try again"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
