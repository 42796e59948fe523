"""The index lifecycle: open, update, remove, stats. `Library` owns one index folder.

It wires load → clean → chunk → embed into the on-disk index. Reads reload automatically when another
process has published a newer generation; writes hold the folder's lock and publish a new generation
atomically. Answering questions is not its job (`pipeline.QA` does that over a `Library`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..chunk import chunk_article, embed_spans, token_counter
from ..clean import clean_document
from ..embed import Embedder, embed_all_with_spans, load_embedder, pools_spans
from ..errors import BadDocument, DocumentNotFound, IndexCorrupt, IndexMismatch, IndexNotFound, RagError
from ..index.sentences import SentenceVectors, quantize
from ..index.sparse import BM25Index
from ..index.store import FORMAT_VERSION, IndexData, Manifest, live_generation, read_index, write_index, writer_lock
from ..index.vectors import build_store, full_text_search
from ..load import load_paths
from ..schema import Article, Chunk, IndexReport, IndexStats, Problem
from ..settings import Settings
from .plan import fold_near_copies, keep_copies, plan_update, with_copies
from .sync import missing_copies_dropped, vanished

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]  # (stage, done, total)
Known = tuple[np.ndarray, "np.ndarray | None"]  # a chunk text's vector and its sentences' int8 codes


@dataclass(frozen=True)
class Embedded:
    chunks: tuple[Chunk, ...]
    vectors: np.ndarray  # row per chunk
    sentence_codes: list[np.ndarray] | None  # int8 codes per chunk; None when the embedder cannot pool sentences
    embedded: int  # how many chunk texts went through the model (the rest were known)


def check_index_dir(folder: Path) -> None:
    """`RagError` when the index folder cannot be one (a file, or under a file)."""
    for place in (folder, *folder.parents):
        if place.exists():
            if not place.is_dir():
                raise RagError(
                    f"the index folder {folder} is not a folder ({place} is a file); choose another --index-dir"
                )
            return


class Library:
    """The articles of one index folder: what is indexed, and adding, updating and removing them."""

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings or Settings.from_env()
        check_index_dir(self.settings.index_dir)
        self._embedder = embedder
        self._data: IndexData | None = None
        self._generation: str = ""
        self._lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                s = self.settings
                self._embedder = load_embedder(s.model, s.embed_backend, s.cache_dir)
            return self._embedder

    # ---- reading -------------------------------------------------------------------------------
    def data(self) -> IndexData:
        """The live index, reloaded if a newer generation was published since the last read."""
        folder = self.settings.index_dir
        with self._lock:
            generation = live_generation(folder).name
            if self._data is None or generation != self._generation:
                self._data = read_index(folder, self._build_settings())
                self._generation = generation
            return self._data

    def exists(self) -> bool:
        try:
            live_generation(self.settings.index_dir)
        except IndexNotFound:
            return False
        return True

    def stats(self) -> IndexStats:
        data = self.data()
        m = data.manifest
        return IndexStats(
            path=str(self.settings.index_dir),
            articles=m.articles,
            chunks=m.chunks,
            model=m.model,
            dimension=m.dimension,
            chunk_tokens=m.chunk_tokens,
            chunk_overlap=m.chunk_overlap,
            format_version=m.format_version,
            documents=tuple((a.doc_id, a.title) for a in data.articles),
            sentence_vectors=len(data.sentences.codes) if data.sentences is not None else 0,
            vector_store=m.vector_store,
        )

    def article(self, doc_id: str) -> Article:
        for article in self.data().articles:
            if article.doc_id == doc_id:
                return article
        raise DocumentNotFound(f"no article {doc_id!r} in {self.settings.index_dir}; see `python -m rag stats`")

    # ---- writing -------------------------------------------------------------------------------
    def update(
        self, paths: Iterable[str | Path], rebuild: bool = False, progress: Progress | None = None, sync: bool = False
    ) -> IndexReport:
        """Add or update the articles under `paths`; unchanged ones are not embedded again. With `sync`,
        articles indexed from files under `paths` that are gone (or no longer hold them) are removed."""
        paths = list(paths)
        loaded = load_paths(paths)
        problems = list(loaded.problems)
        articles = []
        for doc in loaded.documents:
            try:
                articles.append(clean_document(doc))
            except BadDocument as e:
                where = doc.source if doc.origin in ("", doc.source) else f"{doc.source} (in {doc.origin})"
                problems.append(Problem(where, str(e).split(": ", 1)[-1]))
        with writer_lock(self.settings.index_dir, self.settings.lock_wait_s):
            live = self._readable(for_rebuild=rebuild)
            existing = None if rebuild else live
            live_articles = old_articles = existing.articles if existing else ()
            if sync and existing is not None:  # copies whose files under `paths` are gone are no longer listed
                existing = dataclasses.replace(existing, articles=tuple(missing_copies_dropped(old_articles, paths)))
                old_articles = existing.articles
            plan = fold_near_copies(old_articles, plan_update(old_articles, keep_copies(old_articles, articles)))
            if sync:
                gone = vanished(old_articles, paths, {d.origin for d in loaded.documents}, {a.doc_id for a in articles})
                plan = dataclasses.replace(plan, drop=plan.drop | gone)
            left_out = rebuild_leaves_out(live.articles if rebuild and live else (), articles)
            report = IndexReport(
                added=tuple(a.doc_id for a in plan.add if a.doc_id not in plan.updated),
                updated=plan.updated,
                unchanged=plan.unchanged,
                duplicates=plan.duplicates,
                copies=plan.copy_of,
                removed=tuple(sorted((plan.drop - {a.doc_id for a in plan.add} - set(plan.updated)) | {a.doc_id for a in left_out})),
                problems=tuple(problems) + tuple(
                    Problem(a.source, "dropped by the rebuild: it was indexed from elsewhere; index it again to keep it")
                    for a in left_out
                ),
            )
            listed = with_copies(old_articles, plan.copy_of)
            if not plan.add and not plan.drop and listed == list(live_articles):
                return report  # nothing new: never publish (an empty first index would hide the default corpus)
            # Vectors already in the live index are reused by chunk text (a rebuild or an edited article
            # re-embeds only the chunks whose text changed, or that have no sentence vectors yet).
            stored = live.dense.vectors() if live else None  # read once: a Milvus read is a full query
            known = _vectors_by_text(live, stored) if live and stored is not None else {}
            new = self._chunk_and_embed(plan.add, known, progress)
            self._publish(existing, stored if existing else None, plan.drop, plan.add, new, progress, plan.copy_of)
        return dataclasses.replace(report, chunks_embedded=new.embedded)

    def _readable(self, for_rebuild: bool) -> IndexData | None:
        """The live index; None when there is none, or when a rebuild replaces one it cannot use."""
        if not self.exists():
            return None
        try:
            return self.data()
        except (IndexMismatch, IndexCorrupt):
            if for_rebuild:
                return None
            raise

    def remove(self, doc_ids: Sequence[str]) -> IndexReport:
        live_generation(self.settings.index_dir)  # no index: say so before creating a lock file
        with writer_lock(self.settings.index_dir, self.settings.lock_wait_s):
            data = self.data()
            known = {a.doc_id for a in data.articles}
            missing = [d for d in doc_ids if d not in known]
            if missing:
                raise DocumentNotFound(
                    f"no article {', '.join(map(repr, missing))} in {self.settings.index_dir}; "
                    "list ids with `python -m rag stats`"
                )
            empty = Embedded((), np.zeros((0, data.manifest.dimension), np.float32), [], 0)
            self._publish(data, data.dense.vectors(), frozenset(doc_ids), (), empty, None)
        return IndexReport(removed=tuple(doc_ids))

    def _chunk_and_embed(
        self, articles: Sequence[Article], known: dict[str, Known], progress: Progress | None
    ) -> Embedded:
        """Chunks of the articles with their vectors and sentence vectors; only chunks whose text is not
        `known` (with sentence vectors, when the embedder can pool them) are embedded."""
        s = self.settings
        count = token_counter(s.encoding)
        fits = getattr(self.embedder, "fits", None)
        chunks = [c for a in articles for c in chunk_article(a, s.chunk_tokens, s.chunk_overlap, count, fits)]
        texts = [c.embed_text() for c in chunks]
        pooling = pools_spans(self.embedder)
        spans = {t: embed_spans(c) for t, c in zip(texts, chunks)}
        missing = sorted({t for t in texts if t not in known or (pooling and known[t][1] is None)})
        report = (lambda done, total: progress("embedding", done, total)) if progress else None
        vectors, parts = embed_all_with_spans(self.embedder, missing, [spans[t] for t in missing], s.batch_size, report)
        codes = [quantize(p) for p in parts] if parts is not None else [None] * len(missing)
        fresh = dict(zip(missing, zip(vectors, codes)))
        got = [fresh[t] if t in fresh else known[t] for t in texts]
        sentence_codes = [c for _, c in got]
        complete = pooling and all(c is not None for c in sentence_codes)
        return Embedded(
            tuple(chunks),
            np.array([v for v, _ in got], dtype=np.float32).reshape(len(texts), self.embedder.dimension),
            sentence_codes if complete else None,  # type: ignore[arg-type]
            len(missing),
        )

    def _publish(
        self,
        old: IndexData | None,
        stored: np.ndarray | None,  # old's vectors, row-aligned with old.chunks
        drop: frozenset[str],
        add: Sequence[Article],
        new: Embedded,
        progress: Progress | None,
        copy_of: Sequence[tuple[str, str]] = (),
    ) -> None:
        if progress:
            progress("saving", 0, 1)
        articles = with_copies([a for a in (old.articles if old else ()) if a.doc_id not in drop] + list(add), copy_of)
        keep_rows = [i for i, c in enumerate(old.chunks) if c.doc_id not in drop] if old else []
        chunks = [old.chunks[i] for i in keep_rows] + list(new.chunks) if old else list(new.chunks)
        dimension = self.embedder.dimension
        old_vectors = stored[keep_rows] if old and stored is not None else np.zeros((0, dimension), np.float32)
        vectors = np.vstack([old_vectors, new.vectors]) if len(new.vectors) else old_vectors
        sentences = _carried_sentences(old, keep_rows, new, dimension)
        s = self.settings
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            model=s.model,
            dimension=dimension,
            encoding=s.encoding,
            chunk_tokens=s.chunk_tokens,
            chunk_overlap=s.chunk_overlap,
            articles=len(articles),
            chunks=len(chunks),
            updated_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            vector_store=s.vector_store,
        )
        store = build_store(s.vector_store, vectors, dimension, s, chunks)
        sparse = full_text_search(store) or BM25Index.build([c.embed_text() for c in chunks])
        data = IndexData(manifest, tuple(articles), tuple(chunks), store, sparse, sentences)
        write_index(s.index_dir, data)
        if progress:
            progress("saving", 1, 1)

    def _build_settings(self) -> dict[str, object]:
        s = self.settings
        return {
            "model": s.model, "encoding": s.encoding, "chunk_tokens": s.chunk_tokens, "chunk_overlap": s.chunk_overlap
        }


def _vectors_by_text(data: IndexData, vectors: np.ndarray) -> dict[str, Known]:
    """Stored vector and sentence codes per chunk text (the embedded text is the content key: same text,
    same vectors)."""
    sentences = data.sentences
    return {
        c.embed_text(): (vectors[i], sentences.codes_of(i) if sentences is not None else None)  # views: read if reused
        for i, c in enumerate(data.chunks)
    }


def _carried_sentences(
    old: IndexData | None, keep_rows: Sequence[int], new: Embedded, dimension: int
) -> SentenceVectors | None:
    """Sentence vectors of the kept old chunks then the new ones; None unless every chunk has them."""
    if new.sentence_codes is None and new.chunks:
        return None
    kept: list[np.ndarray] = []
    if keep_rows:
        if old is None or old.sentences is None:
            return None
        kept = [old.sentences.codes_of(i) for i in keep_rows]
    return SentenceVectors.build(kept + list(new.sentence_codes or ()), dimension)


def rebuild_leaves_out(live: Sequence[Article], rebuilt: Sequence[Article]) -> list[Article]:
    """The live articles a rebuild from other paths does not bring back (uploads, feeds): each is named.

    >>> a, b = Article("a", "t", "x", "up/a.txt"), Article("b", "t", "y", "data/b.txt")
    >>> [x.doc_id for x in rebuild_leaves_out([a, b], [b])]
    ['a']
    """
    kept = {a.doc_id for a in rebuilt}
    return [a for a in live if a.doc_id not in kept]
