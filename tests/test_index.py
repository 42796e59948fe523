"""Incremental indexing, the on-disk contract, and the clear errors for broken or mismatched indexes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rag import RAG, Settings, Turn
from rag.chunk import chunk_sentences
from rag.errors import DocumentNotFound, IndexCorrupt, IndexLocked, IndexMismatch, IndexNotFound
from rag.index.dense import IVF_PROBE, FaissIndex, ivf_lists
from rag.index.store import FORMAT_VERSION, live_generation, read_index, writer_lock
from rag.ingest.plan import plan_update
from rag.schema import Article

from .conftest import CRUX_ARTICLE, without_sentence_vectors, write_dated_articles


def _ids(rag):
    return sorted(a.doc_id for a in rag.data().articles)


@pytest.fixture(params=["faiss", "milvus"])
def fresh_rag(request, tmp_path, embedder) -> RAG:
    """Every index test runs against both vector stores (Milvus as embedded Milvus Lite)."""
    return RAG(Settings(index_dir=tmp_path / "index", vector_store=request.param), embedder=embedder)


def _dense_file(rag: RAG) -> str:
    return "dense.milvus.json" if rag.settings.vector_store == "milvus" else "dense.faiss"


def test_reindex_unchanged_embeds_nothing(fresh_rag, corpus_copy):
    first = fresh_rag.index([corpus_copy])
    assert len(first.added) == 2 and first.chunks_embedded == fresh_rag.stats().chunks > 0
    generation = live_generation(fresh_rag.settings.index_dir).name
    again = fresh_rag.index([corpus_copy])
    assert (again.added, again.updated, again.chunks_embedded, len(again.unchanged)) == ((), (), 0, 2)
    assert live_generation(fresh_rag.settings.index_dir).name == generation  # nothing rewritten


def test_changed_article_is_reembedded_alone(fresh_rag, corpus_copy):
    fresh_rag.index([corpus_copy])
    before = fresh_rag.data()
    path = corpus_copy / f"{CRUX_ARTICLE}.txt"
    path.write_text(path.read_text() + "\nThe envoy later said talks would resume in the spring, officials confirmed.\n")
    report = fresh_rag.index([corpus_copy])
    after = fresh_rag.data()
    (changed,) = report.updated
    assert report.added == () and len(report.unchanged) == 1
    # Only chunks whose text is new are embedded: the appended sentence changes the article's last chunk(s).
    old_texts = {c.embed_text() for c in before.chunks}
    new_texts = {c.embed_text() for c in after.chunks if c.doc_id == changed} - old_texts
    assert 1 <= report.chunks_embedded == len(new_texts) < sum(c.doc_id == changed for c in after.chunks)
    # A reused vector is the one stored for the same text, so search is unchanged for old chunks.
    old_vectors = dict(zip((c.embed_text() for c in before.chunks), before.dense.vectors()))
    for row, chunk in enumerate(after.chunks):
        if chunk.embed_text() in old_vectors:
            assert np.array_equal(after.dense.vectors()[row], old_vectors[chunk.embed_text()])
    other = [c for c in after.chunks if c.doc_id != changed]
    assert other == [c for c in before.chunks if c.doc_id != changed]  # untouched, same order
    answer = fresh_rag.ask("When will talks resume according to the envoy?")
    assert "spring" in answer.text


def test_rebuild_reuses_vectors_of_identical_chunks(fresh_rag, corpus_copy):
    first = fresh_rag.index([corpus_copy])
    rebuilt = fresh_rag.index([corpus_copy], rebuild=True)
    assert len(rebuilt.added) == 2 and rebuilt.chunks_embedded == 0 < first.chunks_embedded


def test_large_index_switches_to_ivf_with_high_recall(tmp_path):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(400, 32))
    vectors = centres[rng.integers(0, 400, 20_000)] + 0.3 * rng.normal(size=(20_000, 32))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    exact, ivf = FaissIndex.build(vectors, 32, exact_below=30_000), FaissIndex.build(vectors, 32, exact_below=10_000)
    assert (exact.kind, ivf.kind) == ("flat", "ivf")
    assert ivf_lists(len(vectors)) > 2 * IVF_PROBE  # a question scans under half of the lists
    assert np.allclose(ivf.vectors(), vectors)
    found = [len(set(exact.search(q, 10)[1]) & set(ivf.search(q, 10)[1])) / 10 for q in vectors[:200]]
    assert np.mean(found) >= 0.98
    ivf.save(tmp_path)
    again = FaissIndex.load(tmp_path)
    assert again.kind == "ivf" and np.array_equal(again.search(vectors[0], 10)[1], ivf.search(vectors[0], 10)[1])


def test_search_runs_faiss_on_one_thread_and_leaves_the_thread_setting_as_it_was():
    import faiss

    vectors = np.random.default_rng(2).normal(size=(2_000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = FaissIndex.build(vectors, 16)
    seen = []
    real_search = index._index.search
    index._index.search = lambda *a: (seen.append(faiss.omp_get_max_threads()), real_search(*a))[1]  # type: ignore[method-assign]
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(2)
    try:
        scores, ids = index.search(vectors[3], 5)
        assert seen == [1] and faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(before)
    exact = vectors @ vectors[3]
    assert list(ids) == list(np.argsort(-exact)[:5]) and np.allclose(scores, np.sort(exact)[::-1][:5], atol=1e-5)


def test_a_version_1_index_is_refused_with_the_rebuild_hint(fresh_rag, corpus_copy):
    """Format 2 reads no older layout by guessing: a version 1 manifest (and one that omits the vector store,
    as version 1 could) is refused with the command that rebuilds it, and the files are left as they were."""
    fresh_rag.index([corpus_copy])
    gen = live_generation(fresh_rag.settings.index_dir)
    manifest = json.loads((gen / "manifest.json").read_text())
    old = {k: v for k, v in manifest.items() if k != "vector_store"} | {"format_version": 1}
    (gen / "manifest.json").write_text(json.dumps(old))
    before = {p.name: p.read_bytes() for p in gen.iterdir() if p.is_file()}
    with pytest.raises(IndexMismatch, match=r"index format 1, this version reads 2; rebuild it with `python -m rag index --rebuild"):
        read_index(fresh_rag.settings.index_dir, {})
    assert {p.name: p.read_bytes() for p in gen.iterdir() if p.is_file()} == before


def test_remove_document(fresh_rag, corpus_copy):
    fresh_rag.index([corpus_copy])
    victim = next(a.doc_id for a in fresh_rag.data().articles if a.doc_id.startswith("scmp-2021"))
    fresh_rag.remove([victim])
    assert victim not in _ids(fresh_rag)
    assert all(c.doc_id != victim for c in fresh_rag.data().chunks)
    assert fresh_rag.data().dense.size == len(fresh_rag.data().chunks)
    with pytest.raises(DocumentNotFound, match="python -m rag stats"):
        fresh_rag.remove([victim])


def test_identical_article_stored_once(fresh_rag, corpus_copy, tmp_path):
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    shutil.copy(corpus_copy / f"{CRUX_ARTICLE}.txt", copy / "same-story.txt")
    report = fresh_rag.index([corpus_copy, copy])
    assert len(report.added) == 2 and len(report.duplicates) == 1 and "same-story.txt" in report.duplicates[0]
    assert fresh_rag.stats().articles == 2


def test_plan_update_rules():
    a = Article("a", "A", "x", "s", content_hash="h1")
    b = Article("b", "B", "y", "s", content_hash="h2")
    plan = plan_update([a], [a, Article("a2", "A", "x", "s2", content_hash="h1"), b, Article("b2", "B", "y", "t", content_hash="h2")])
    assert plan.unchanged == ("a",) and [x.doc_id for x in plan.add] == ["b"] and len(plan.duplicates) == 2
    plan = plan_update([a], [Article("a", "A", "z", "s", content_hash="h9")])
    assert plan.updated == ("a",) and plan.drop == {"a"}


def test_chunks_without_sentence_ends_are_refused_with_the_rebuild_hint(tmp_path, embedder, corpus_copy):
    settings = Settings(index_dir=tmp_path / "index")
    RAG(settings, embedder=embedder).index([corpus_copy])
    without_sentence_vectors(settings.index_dir, drop_sentence_ends=True)
    with pytest.raises(IndexCorrupt, match="malformed article or chunk records.*rebuild it with"):
        RAG(settings, embedder=embedder).data()


def test_an_index_without_sentence_vectors_still_answers_and_a_rebuild_adds_them(tmp_path, embedder, corpus_copy):
    settings = Settings(index_dir=tmp_path / "index")
    RAG(settings, embedder=embedder).index([corpus_copy])
    question = "what did China say was the crux?"
    now = RAG(settings, embedder=embedder).ask(question)
    without_sentence_vectors(settings.index_dir)
    old = RAG(settings, embedder=embedder)
    assert old.data().sentences is None and old.stats().sentence_vectors == 0
    then = old.ask(question)  # the candidate sentences are embedded instead
    assert not then.refused and "lack of trust" in then.citations[0].text
    # Adding to it keeps the old chunks as they are: still no sentence vectors, still answers.
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "note.txt").write_text("Envoy update\n\nThe envoy said talks would resume in the spring, officials confirmed.\n")
    old.index([extra])
    assert old.data().sentences is None and "spring" in old.ask("When will talks resume?").text
    # A rebuild embeds every chunk again (their vectors are known, their sentences' are not) and then
    # answers exactly as a fresh index does.
    report = old.index([corpus_copy], rebuild=True)
    assert report.chunks_embedded == old.stats().chunks and old.data().sentences is not None
    again = old.ask(question)
    assert (again.text, again.citations) == (now.text, now.citations)


def test_sentence_vectors_are_stored_for_every_sentence_of_every_chunk(bundled_index):
    """Each stored sentence vector is that sentence read inside its passage: it is closer to the
    sentence embedded on its own than to any other sentence of the passage embedded on its own (a
    misaligned span, e.g. one not shifted past the headline, fails this)."""
    data = bundled_index.data()
    stored = data.sentences
    assert stored is not None and stored.chunks == len(data.chunks) and stored.codes.dtype == np.int8
    own, total = 0, 0
    for row, chunk in enumerate(data.chunks):
        vectors = stored.of(row)
        texts = [chunk.text[a:b] for a, b in chunk_sentences(chunk)]
        assert len(vectors) == len(texts) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
        alone = bundled_index.embedder.embed_texts(texts)
        best = np.argmax(vectors @ alone.T, axis=1)
        own += int(np.sum(best == np.arange(len(texts))))
        total += len(texts)
    assert total > 40 and own / total >= 0.8  # 45 of 49 here; without the headline shift, 24


def test_updates_and_removals_keep_sentence_vectors_with_their_chunks(fresh_rag, corpus_copy):
    fresh_rag.index([corpus_copy])
    before = fresh_rag.data()
    codes = {c.embed_text(): np.array(before.sentences.codes_of(i)) for i, c in enumerate(before.chunks)}
    path = corpus_copy / f"{CRUX_ARTICLE}.txt"
    path.write_text(path.read_text() + "\nThe envoy later said talks would resume in the spring, officials confirmed.\n")
    fresh_rag.index([corpus_copy])
    fresh_rag.remove([a.doc_id for a in before.articles if a.doc_id != fresh_rag.data().articles[-1].doc_id])
    after = fresh_rag.data()
    assert after.sentences is not None and after.sentences.chunks == len(after.chunks) > 0
    reused = [i for i, c in enumerate(after.chunks) if c.embed_text() in codes]
    assert reused and all(np.array_equal(after.sentences.codes_of(i), codes[after.chunks[i].embed_text()]) for i in reused)
    assert all(len(after.sentences.of(i)) == len(chunk_sentences(c)) for i, c in enumerate(after.chunks))
    assert "spring" in fresh_rag.ask("When will talks resume according to the envoy?").text


def test_manifest_and_files_are_plain(fresh_rag, corpus_copy):
    fresh_rag.index([corpus_copy])
    gen = live_generation(fresh_rag.settings.index_dir)
    manifest = json.loads((gen / "manifest.json").read_text())
    assert manifest["model"] == "sentence-transformers/all-MiniLM-L6-v2" and manifest["dimension"] == 384
    assert (manifest["chunk_tokens"], manifest["chunk_overlap"], manifest["format_version"]) == (200, 40, FORMAT_VERSION)
    rows = (gen / "chunks.jsonl").read_text().splitlines()
    assert len(rows) == manifest["chunks"] == fresh_rag.data().dense.size
    files = ["articles.jsonl", "chunks.jsonl", _dense_file(fresh_rag), "manifest.json", "sentence_rows.npy", "sentences.npy"]
    bm25 = "milvus" if fresh_rag.settings.vector_store == "milvus" else "bm25s"  # Milvus keeps BM25 itself
    assert sorted(p.name for p in gen.iterdir()) == sorted(files + (["bm25"] if bm25 == "bm25s" else []))
    assert manifest["bm25"] == bm25
    assert {"sentences.npy", "sentence_rows.npy"} <= {name for name, _ in manifest["file_sizes"]}  # size-checked on load
    assert not list((gen / "bm25").glob("*.pkl"))


def test_mismatched_settings_give_a_rebuild_hint(fresh_rag, corpus_copy, embedder):
    fresh_rag.index([corpus_copy])
    other = RAG(fresh_rag.settings.replace(chunk_tokens=120), embedder=embedder)
    with pytest.raises(IndexMismatch, match=r"chunk_tokens=200 \(you asked for 120\).*--rebuild"):
        other.ask("anything?")
    other = RAG(fresh_rag.settings.replace(model="some/other-model"), embedder=embedder)
    with pytest.raises(IndexMismatch, match="model="):
        other.stats()
    rebuilt = other.settings.replace(model=fresh_rag.settings.model, chunk_tokens=120)
    assert RAG(rebuilt, embedder=embedder).index([corpus_copy], rebuild=True).chunks_embedded > 0


@pytest.mark.parametrize(
    "damage", ["truncate_chunks", "garble_manifest", "drop_vectors", "bad_pointer", "truncate_sentences", "shuffle_sentence_rows"]
)
def test_corrupted_index_gives_clear_error(fresh_rag, corpus_copy, embedder, damage):
    fresh_rag.index([corpus_copy])
    folder = fresh_rag.settings.index_dir
    gen = live_generation(folder)
    if damage == "truncate_chunks":
        lines = (gen / "chunks.jsonl").read_text().splitlines()
        (gen / "chunks.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    elif damage == "garble_manifest":
        (gen / "manifest.json").write_text("{not json")
    elif damage == "drop_vectors":
        (gen / _dense_file(fresh_rag)).unlink()
    elif damage == "truncate_sentences":
        with (gen / "sentences.npy").open("r+b") as f:
            f.truncate((gen / "sentences.npy").stat().st_size - 384)
    elif damage == "shuffle_sentence_rows":  # same size, so only the contents check can catch it
        rows = np.load(gen / "sentence_rows.npy")
        np.save(gen / "sentence_rows.npy", rows[::-1].copy())
    else:
        (folder / "CURRENT").write_text("gen-999999\n")
    with pytest.raises(IndexCorrupt, match="rebuild"):
        RAG(fresh_rag.settings, embedder=embedder).stats()


def test_missing_index_and_lock(tmp_path, embedder):
    rag = RAG(Settings(index_dir=tmp_path / "none", lock_wait_s=0.3), embedder=embedder)
    with pytest.raises(IndexNotFound, match="python -m rag index"):
        rag.stats()
    with writer_lock(tmp_path / "none"):
        with pytest.raises(IndexLocked, match="another process"):
            rag.index([tmp_path])


def test_a_second_writer_waits_for_the_first(tmp_path, embedder, corpus_copy):
    """An upload while another indexes queues behind it instead of being turned away."""
    import threading

    held, release = threading.Event(), threading.Event()

    def first_writer() -> None:
        with writer_lock(tmp_path / "queued"):
            held.set()
            release.wait(30)

    threading.Thread(target=first_writer, daemon=True).start()
    held.wait(30)
    threading.Timer(0.5, release.set).start()  # the first writer finishes while the second waits
    rag = RAG(Settings(index_dir=tmp_path / "queued", lock_wait_s=120), embedder=embedder)
    assert rag.index([corpus_copy]).added and release.is_set()


def test_crash_leftovers_are_ignored_and_cleaned(fresh_rag, corpus_copy):
    fresh_rag.index([corpus_copy])
    folder = fresh_rag.settings.index_dir
    (folder / ".tmp-deadbeef").mkdir()  # as a writer killed mid-save leaves it
    (folder / ".tmp-deadbeef" / "chunks.jsonl").write_text("partial")
    assert fresh_rag.stats().articles == 2
    fresh_rag.remove([fresh_rag.data().articles[0].doc_id])
    assert not (folder / ".tmp-deadbeef").exists()
    assert len(list(folder.glob("gen-*"))) == 2  # live + previous, for readers mid-open


def test_an_orphan_generation_never_costs_readers_theirs(fresh_rag, corpus_copy):
    """A writer killed between renaming its generation into place and switching CURRENT leaves an orphan with
    a higher number. The next write keeps the generation readers have open (the one CURRENT named), not the
    orphan."""
    import shutil

    fresh_rag.index([corpus_copy])
    folder = fresh_rag.settings.index_dir
    live = (folder / "CURRENT").read_text().strip()
    number = int(live.split("-")[1])
    shutil.copytree(folder / live, folder / f"gen-{number + 1:06d}")  # the killed writer's orphan
    fresh_rag.remove([fresh_rag.data().articles[0].doc_id])
    now = (folder / "CURRENT").read_text().strip()
    assert sorted(p.name for p in folder.glob("gen-*")) == sorted([live, now])  # the readers' one kept
    assert now == f"gen-{number + 2:06d}" and fresh_rag.stats().articles == 1


def test_indexing_nothing_creates_no_index(fresh_rag, tmp_path):
    report = fresh_rag.index([tmp_path / "typo"])
    assert report.problems and not fresh_rag.exists()
    with pytest.raises(IndexNotFound):
        fresh_rag.stats()


def test_milvus_store_ranks_like_faiss_and_drops_old_collections(tmp_path, embedder, corpus_copy):
    from rag.index.milvus import client

    stores = {s: RAG(Settings(index_dir=tmp_path / s, retrieval="dense", vector_store=s), embedder=embedder) for s in ("faiss", "milvus")}
    for rag in stores.values():
        rag.index([corpus_copy])
    question = "What did China say was the crux?"
    assert [h.chunk for h in stores["faiss"].search(question)] == [h.chunk for h in stores["milvus"].search(question)]
    path = corpus_copy / f"{CRUX_ARTICLE}.txt"
    for i in range(3):  # three more generations
        path.write_text(path.read_text() + f"\nUpdate {i}: officials met again on day {i}.\n")
        stores["milvus"].index([corpus_copy])
    milvus = client(str((tmp_path / "milvus" / "milvus.db").resolve()))
    live = {json.loads(p.read_text())["collection"] for p in (tmp_path / "milvus").glob("gen-*/dense.milvus.json")}
    assert set(milvus.list_collections()) == live and len(live) == 2  # the live generation and its predecessor
    assert any("met again on day 2" in h.chunk.text for h in stores["milvus"].search("When did officials meet again on day 2?"))


PARITY_QUESTIONS = (
    "What did China say was the crux?",
    "Who is Liu Xiaoming?",
    "What did the South Korean trade minister say about steel tariffs?",
    "What did the trade minister say in 2021?",
    "What did the trade minister say last month?",
    "What is the latest on the Seoul trade talks?",
    "zebra crossing",
)


def _concordant(a: list[int], b: list[int]) -> float:
    """Share of row pairs two rankings of the same rows put in the same order (1.0: identical)."""
    pos = {row: i for i, row in enumerate(b)}
    pairs = [(x, y) for i, x in enumerate(a) for y in a[i + 1 :]]
    return sum(pos[x] < pos[y] for x, y in pairs) / len(pairs) if pairs else 1.0


def test_milvus_runs_bm25_and_the_fusion_itself(tmp_path, embedder, corpus_copy):
    """BM25 over the chunk texts in Milvus ranks like bm25s; hybrid_search's RRF fuses exactly as `rrf_fuse`
    does; and dates, recency and follow-ups pick the same passages as with FAISS + bm25s."""
    from rag.index.milvus import MilvusBM25
    from rag.retrieve import rrf_fuse

    write_dated_articles(corpus_copy / "dated")
    stores = {s: RAG(Settings(index_dir=tmp_path / s, vector_store=s), embedder=embedder) for s in ("faiss", "milvus")}
    for rag in stores.values():
        rag.index([corpus_copy])
    local, milvus = stores["faiss"].data(), stores["milvus"].data()
    assert isinstance(milvus.sparse, MilvusBM25) and milvus.fuses_in_store and not local.fuses_in_store
    assert not (live_generation(tmp_path / "milvus") / "bm25").exists()
    for question in PARITY_QUESTIONS:
        want, got = local.sparse.search(question, 50), milvus.sparse.search(question, 50)
        assert set(want[1]) == set(got[1]), question  # the same chunks match
        # Milvus' BM25 keeps Lucene's (k1 + 1) factor, which bm25s' "lucene" variant drops, and stores document
        # lengths lossily (as Lucene does): scores agree up to that factor within 10%, and near-ties may swap.
        by_row = dict(zip(want[1].tolist(), want[0].tolist()))
        ratios = [score / (2.2 * by_row[row]) for score, row in zip(got[0].tolist(), got[1].tolist())]
        assert np.allclose(ratios, 1, atol=0.1), question
        assert _concordant([int(r) for r in want[1]], [int(r) for r in got[1]]) >= 0.9, question
        vectors = embedder.embed_texts([question])
        dense = [int(r) for r in milvus.dense.search(vectors[0], 50)[1]]
        expected = rrf_fuse([dense, [int(r) for r in got[1]]], 60)
        fused = milvus.dense.hybrid(vectors, [question], 50, 60)
        assert [(r, round(x, 6)) for r, x in fused] == [(r, round(x, 6)) for r, x in expected], question
        assert stores["faiss"].search(question, top_k=1)[0].row == stores["milvus"].search(question, top_k=1)[0].row
    follow_up = [Turn("Who is Hua Chunying?", "A spokeswoman for China's foreign ministry [1].")]
    for kwargs in ({"since": "2023-01-01"}, {"history": follow_up}):
        expect = stores["faiss"].search("What did she say about steel?", top_k=3, **kwargs)
        found = stores["milvus"].search("What did she say about steel?", top_k=3, **kwargs)
        assert found and [h.row for h in expect][:1] == [h.row for h in found][:1], kwargs
    dates = {h.chunk.date for h in stores["milvus"].search("steel", since="2023-01-01")}
    assert {"2023-06-05", "2024-02-20"} <= dates and min(dates) >= "2023-01-01"


def test_bm25_search_matches_bm25s_retrieve(bundled_index):
    """Our top-n over bm25s' scores returns what bm25s' own retrieve returns (scores and rows)."""
    from rag.index.sparse import tokenize

    sparse = bundled_index.data().sparse
    for query in ("crux of the issue", "North Korea sanctions relief", "Liu Xiaoming envoy Jung Pak", "zebra"):
        scores, rows = sparse.search(query, 5)
        tokens = tokenize([query])
        if not tokens[0]:
            continue
        ids, expected = sparse._retriever.retrieve(tokens, k=min(5, sparse.size), show_progress=False, n_threads=1)
        keep = expected[0] > 0
        assert np.allclose(scores, expected[0][keep]) and set(rows) == set(ids[0][keep])
    assert len(sparse.search("crux", 3)[1]) >= 1 and len(sparse.search("zebra", 3)[1]) == 0


def test_the_manifest_records_the_vector_store_and_reading_follows_it(fresh_rag, corpus_copy):
    from rag.index.vectors import STORES, VectorStore

    fresh_rag.index([corpus_copy])
    kind = fresh_rag.settings.vector_store
    gen = live_generation(fresh_rag.settings.index_dir)
    assert json.loads((gen / "manifest.json").read_text())["vector_store"] == kind
    assert fresh_rag.stats().vector_store == kind and isinstance(fresh_rag.data().dense, VectorStore)
    assert isinstance(fresh_rag.data().dense, STORES[kind])
    # a reader with other settings still opens the store the manifest names, never the one it would build
    other = "faiss" if kind == "milvus" else "milvus"
    reader = RAG(fresh_rag.settings.replace(vector_store=other), embedder=fresh_rag.embedder)
    assert isinstance(reader.data().dense, STORES[kind])
    # an unknown store is reported as such, with a rebuild hint
    manifest = json.loads((gen / "manifest.json").read_text())
    (gen / "manifest.json").write_text(json.dumps({**manifest, "vector_store": "qdrant"}))
    with pytest.raises(IndexCorrupt, match="qdrant"):
        RAG(fresh_rag.settings, embedder=fresh_rag.embedder).data()


def test_citations_link_to_the_article_url(tmp_path, embedder):
    record = {"title": "Envoy visits Seoul", "url": "https://news.example/envoy",
              "text": "The Chinese envoy visited Seoul on Monday for talks on the peninsula, officials said."}
    (tmp_path / "feed.jsonl").write_text(json.dumps(record) + "\n")
    rag = RAG(Settings(index_dir=tmp_path / "index"), embedder=embedder)
    rag.index([tmp_path / "feed.jsonl"])
    for reader in (rag, RAG(rag.settings, embedder=embedder)):  # as built, and as read back from disk
        answer = reader.ask("When did the Chinese envoy visit Seoul?")
        assert [c.url for c in answer.citations] == ["https://news.example/envoy"]


def test_a_syndicated_copy_is_stored_once_and_cited_with_every_source(fresh_rag, corpus_copy, tmp_path):
    from rag.render import answer_to_text

    fresh_rag.index([corpus_copy])
    original = (corpus_copy / f"{CRUX_ARTICLE}.txt").read_text()
    # another outlet's version: its own header and clutter, a sentence dropped, a few words changed
    body = original.replace("Liu said, according to a brief statement", "Liu said, according to a short statement")
    body = body.replace("It also came as tensions rose between the two Koreas.\n", "")
    wire = tmp_path / "wire"
    wire.mkdir()
    (wire / "wire-copy.txt").write_text("WORLD NEWS | The Example Times\nShare this article\n\n" + body)
    (wire / "other-story.txt").write_text(
        "Envoy visits Seoul for peninsula talks\n\nChina's special envoy for Korean peninsula affairs visited "
        "Seoul on Monday and met South Korean officials to discuss the missile tests, officials said.\n"
    )
    generation = live_generation(fresh_rag.settings.index_dir).name
    report = fresh_rag.index([wire])
    assert [source for source, _ in report.copies] == [str(wire / "wire-copy.txt")]
    assert report.copies[0][1].startswith("scmp-2024-china-us") and len(report.added) == 1  # the other story
    assert fresh_rag.stats().articles == 3
    answer = fresh_rag.ask("what did China say was the crux?")
    assert answer.citations[0].copies == (str(wire / "wire-copy.txt"),)
    assert f"(also: {wire / 'wire-copy.txt'})" in answer_to_text(answer)
    # indexing the copy again changes nothing, and the listing survives an edit of the original
    generation = live_generation(fresh_rag.settings.index_dir).name
    assert fresh_rag.index([wire / "wire-copy.txt"]).copies and live_generation(fresh_rag.settings.index_dir).name == generation
    (corpus_copy / f"{CRUX_ARTICLE}.txt").write_text(original + "\nUpdate: officials met again on Friday.\n")
    fresh_rag.index([corpus_copy])
    kept = next(a for a in fresh_rag.data().articles if a.doc_id.startswith("scmp-2024"))
    assert kept.copies == (str(wire / "wire-copy.txt"),)
    # once the copy's file is gone, a sync of its folder stops listing it (the other story stays)
    (wire / "wire-copy.txt").unlink()
    assert fresh_rag.index([wire], sync=True).removed == ()
    kept = next(a for a in fresh_rag.data().articles if a.doc_id.startswith("scmp-2024"))
    assert kept.copies == () and fresh_rag.stats().articles == 3
