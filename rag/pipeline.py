"""The composing module: wires load → clean → chunk → embed → index → retrieve → answer.

`RAG` owns one index folder. Reads reload automatically when another process has written a newer
generation; writes hold the folder's lock and publish a new generation atomically.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from .answer import REFUSAL, extract_answer
from .chunk import chunk_article, embed_spans, token_counter
from .clean import clean_document
from .embed import Embedder, embed_all_with_spans, load_embedder, pools_spans
from .errors import BadDocument, BadQuestion, DocumentNotFound, IndexCorrupt, IndexMismatch, IndexNotFound, RagError
from .generate import Generator, LLMUnavailable, OpenAICompatible, build_messages, rewrite_messages, verify
from .index.dense import FaissIndex
from .index.milvus import MilvusIndex
from .index.sentences import SentenceVectors, quantize
from .index.sparse import BM25Index
from .index.store import FORMAT_VERSION, DenseIndex, IndexData, Manifest, live_generation, read_index, write_index, writer_lock
from .retrieve import retrieve, search_queries
from .schema import Answer, Article, Chunk, Hit, IndexReport, IndexStats, Problem, Turn
from .settings import Settings
from .load import load_paths

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]  # (stage, done, total)


Known = tuple[np.ndarray, "np.ndarray | None"]  # a chunk text's vector and its sentences' int8 codes


@dataclass(frozen=True)
class Embedded:
    chunks: tuple[Chunk, ...]
    vectors: np.ndarray  # row per chunk
    sentence_codes: list[np.ndarray] | None  # int8 codes per chunk; None when the embedder cannot pool sentences
    embedded: int  # how many chunk texts went through the model (the rest were known)


@dataclass(frozen=True)
class UpdatePlan:
    add: tuple[Article, ...]  # new or changed articles (to chunk and embed)
    drop: frozenset[str]  # doc ids whose old chunks go (changed or removed)
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    duplicates: tuple[str, ...]


def plan_update(existing: Sequence[Article], incoming: Sequence[Article]) -> UpdatePlan:
    """Decide what an index call changes: same id + same text → unchanged; same id + new text → updated;
    text already stored under another id (or earlier in this batch) → duplicate, stored once."""
    by_id = {a.doc_id: a for a in existing}
    owner = {a.content_hash: a.doc_id for a in existing}
    add, updated, unchanged, duplicates, drop = [], [], [], [], set()
    for article in incoming:
        old = by_id.get(article.doc_id)
        if old is not None and old.content_hash == article.content_hash:
            unchanged.append(article.doc_id)
            continue
        holder = owner.get(article.content_hash)
        if holder is not None and holder != article.doc_id:
            duplicates.append(f"{article.source} (same text as {holder})")
            continue
        if old is not None:
            updated.append(article.doc_id)
            drop.add(article.doc_id)
            owner.pop(old.content_hash, None)
        add.append(article)
        by_id[article.doc_id] = article
        owner[article.content_hash] = article.doc_id
    return UpdatePlan(tuple(add), frozenset(drop), tuple(updated), tuple(unchanged), tuple(duplicates))


class RAG:
    """Question answering over one index folder."""

    def __init__(
        self, settings: Settings | None = None, embedder: Embedder | None = None, generator: Generator | None = None
    ) -> None:
        self.settings = settings or Settings.from_env()
        self._embedder = embedder
        self._generator = generator
        self._data: IndexData | None = None
        self._generation: str = ""
        self._lock = threading.Lock()

    # ---- reading -------------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self.settings
            self._embedder = load_embedder(s.model, s.embed_backend, s.cache_dir)
        return self._embedder

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            s = self.settings
            self._generator = OpenAICompatible(s.llm_base_url, s.llm_model, s.llm_timeout_s)
        return self._generator

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
        )

    def article(self, doc_id: str) -> Article:
        for article in self.data().articles:
            if article.doc_id == doc_id:
                return article
        raise DocumentNotFound(f"no article {doc_id!r} in {self.settings.index_dir}; see `python -m rag stats`")

    # ---- asking --------------------------------------------------------------------------------
    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        *_, answer = self.ask_stream(question, history)  # the stream always ends with the Answer
        return answer  # type: ignore[return-value]

    def search(self, question: str, history: Sequence[Turn] = ()) -> tuple[Hit, ...]:
        """Retrieval only: the top `settings.top_k` passages for the question, best first."""
        question, _ = self.check_question(question)
        queries = search_queries(question, history)
        vectors = self.embedder.embed_texts(queries) if self.settings.retrieval != "bm25" else None
        return retrieve(self.data(), vectors, queries, self.settings)

    def ask_stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[str | Answer]:
        """Yields the answer text in pieces as each is ready, then the complete `Answer`."""
        question, notice = self.check_question(question)
        use_llm = self.settings.answerer == "llm"
        queries = search_queries(question, history)
        if use_llm and len(queries) > 1:
            queries, note = self._rewrite(question, history, queries)
            notice = " ".join(x for x in (notice, note) if x)
        query = queries[1] if len(queries) > 1 else question
        vectors = self.embedder.embed_texts(queries)  # once: for retrieval, then to score answer sentences
        data = self.data()  # once: the hits' rows and the sentence vectors are of the same generation
        hits = retrieve(data, vectors, queries, self.settings)
        text, citations, refused, confidence = (
            extract_answer(question, queries[:2], vectors[:2], hits, self.embedder, self.settings, data.sentences)
            if hits
            else (REFUSAL, (), True, 0.0)
        )
        backend, unsupported = "extractive", ()
        if use_llm and not refused:  # the extractive gate refuses before paying for a generation
            try:
                raw = ""
                messages = build_messages(question, hits, self.settings.llm_context_tokens, token_counter(self.settings.encoding))
                for delta in self.generator.stream(messages):
                    raw += delta
                    yield delta
                verified = verify(raw, hits, self.embedder)
                backend, unsupported = "llm", verified.unsupported
                if verified.refused:
                    text, citations, refused = REFUSAL, (), True
                else:
                    text, citations = verified.text, verified.citations
            except LLMUnavailable as e:
                notice = " ".join(x for x in (notice, f"{e}; showing the extractive answer instead.") if x)
                log.warning("%s", e)
        if backend == "extractive":
            yield from _pieces(text)
        yield Answer(
            question=question,
            text=text,
            citations=citations,
            refused=refused,
            hits=hits,
            query=query,
            notice=notice,
            confidence=round(confidence, 4),
            backend=backend,
            unsupported=unsupported,
        )

    def _rewrite(self, question: str, history: Sequence[Turn], queries: list[str]) -> tuple[list[str], str]:
        """A model-written standalone query for a follow-up; the heuristic variants if the model fails."""
        try:
            rewritten = "".join(self.generator.stream(rewrite_messages(question, history))).strip().strip('"')
        except LLMUnavailable as e:
            return queries, f"{e}; searched with the conversation instead."
        if not rewritten or len(rewritten) > 4 * len(question) + 200:
            return queries, ""
        return [question, rewritten], ""

    def check_question(self, question: str) -> tuple[str, str]:
        """The usable question and a notice; `BadQuestion` when there is nothing to ask."""
        if not isinstance(question, str):
            raise BadQuestion(f"the question must be text, got {type(question).__name__}")
        cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in question).split())
        if not cleaned:
            raise BadQuestion("the question is empty; type a question about the articles")
        limit = self.settings.max_question_chars
        if len(cleaned) > limit:
            return cleaned[:limit], f"Your question was {len(cleaned):,} characters; only the first {limit:,} were used."
        return cleaned, ""

    # ---- writing -------------------------------------------------------------------------------
    def index(self, paths: Iterable[str | Path], rebuild: bool = False, progress: Progress | None = None) -> IndexReport:
        """Add or update the articles under `paths`; unchanged ones are not embedded again."""
        loaded = load_paths(paths)
        problems = list(loaded.problems)
        articles = []
        for doc in loaded.documents:
            try:
                articles.append(clean_document(doc))
            except BadDocument as e:
                problems.append(Problem(doc.source, str(e).split(": ", 1)[-1]))
        with writer_lock(self.settings.index_dir):
            live = self._readable(for_rebuild=rebuild)
            existing = None if rebuild else live
            plan = plan_update(existing.articles if existing else (), articles)
            report = IndexReport(
                added=tuple(a.doc_id for a in plan.add if a.doc_id not in plan.updated),
                updated=plan.updated,
                unchanged=plan.unchanged,
                duplicates=plan.duplicates,
                problems=tuple(problems),
            )
            if not plan.add:  # nothing new: never publish (an empty first index would hide the default corpus)
                return report
            # Vectors already in the live index are reused by chunk text (a rebuild or an edited article
            # re-embeds only the chunks whose text changed, or that have no sentence vectors yet).
            stored = live.dense.vectors() if live else None  # read once: a Milvus read is a full query
            known = _vectors_by_text(live, stored) if live and stored is not None else {}
            new = self._chunk_and_embed(plan.add, known, progress)
            self._publish(existing, stored if existing else None, plan.drop, plan.add, new, progress)
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
        with writer_lock(self.settings.index_dir):
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
    ) -> None:
        if progress:
            progress("saving", 0, 1)
        articles = [a for a in (old.articles if old else ()) if a.doc_id not in drop] + list(add)
        keep_rows = [i for i, c in enumerate(old.chunks) if c.doc_id not in drop] if old else []
        chunks = [old.chunks[i] for i in keep_rows] + list(new.chunks) if old else list(new.chunks)
        empty = np.zeros((0, self.embedder.dimension), np.float32)
        old_vectors = stored[keep_rows] if old and stored is not None else empty
        vectors = np.vstack([old_vectors, new.vectors]) if len(new.vectors) else old_vectors
        sentences = _carried_sentences(old, keep_rows, new, self.embedder.dimension)
        s = self.settings
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            model=s.model,
            dimension=self.embedder.dimension,
            encoding=s.encoding,
            chunk_tokens=s.chunk_tokens,
            chunk_overlap=s.chunk_overlap,
            articles=len(articles),
            chunks=len(chunks),
            updated_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )
        data = IndexData(
            manifest,
            tuple(articles),
            tuple(chunks),
            self._build_dense(vectors),
            BM25Index.build([c.embed_text() for c in chunks]),
            sentences,
        )
        write_index(s.index_dir, data)
        if progress:
            progress("saving", 1, 1)

    def _build_dense(self, vectors: np.ndarray) -> DenseIndex:
        s, dimension = self.settings, self.embedder.dimension
        if s.vector_store == "milvus":
            uri = s.milvus_uri or str((s.index_dir / "milvus.db").resolve())
            return MilvusIndex.build(vectors, dimension, uri, s.milvus_collection, s.exact_search_below)
        return FaissIndex.build(vectors, dimension, s.exact_search_below)

    def _build_settings(self) -> dict[str, object]:
        s = self.settings
        return {"model": s.model, "encoding": s.encoding, "chunk_tokens": s.chunk_tokens, "chunk_overlap": s.chunk_overlap}


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


def _pieces(text: str) -> Iterator[str]:
    """The answer in word-sized pieces (spaces kept), for progressive display."""
    start = 0
    for i, ch in enumerate(text):
        if ch == " " and i > start:
            yield text[start : i + 1]
            start = i + 1
    if start < len(text):
        yield text[start:]


_DEFAULT: dict[Settings, RAG] = {}


def open_rag(settings: Settings | None = None) -> RAG:
    """The `RAG` for these settings (one per settings per process); the default index is built from the
    bundled articles on first use."""
    settings = settings or Settings.from_env()
    rag = _DEFAULT.get(settings)
    if rag is None:
        rag = _DEFAULT[settings] = RAG(settings)
    if not rag.exists():
        if not settings.corpus_dir.is_dir():
            raise IndexNotFound(
                f"no index at {settings.index_dir} and no articles at {settings.corpus_dir}; "
                "run `python -m rag index <your article folders>`"
            )
        log.info("building the index at %s from %s", settings.index_dir, settings.corpus_dir)
        rag.index([settings.corpus_dir])
    return rag


def ask(question: str, history: Sequence[Turn] = (), settings: Settings | None = None, stream: bool = False):  # type: ignore[no-untyped-def]
    """Answer `question` from the default index (or the one `settings` names), with citations.

    With `stream=True`, returns an iterator of text pieces ending with the `Answer`."""
    rag = open_rag(settings)
    return rag.ask_stream(question, history) if stream else rag.ask(question, history)
