"""One system of the peers benchmark, run in its own process (and, for LangChain and LlamaIndex, its own venv):

    python eval/bench/peer_run.py SYSTEM WORK_DIR MODEL_PATH

SYSTEM is news-qa, langchain or llamaindex. WORK_DIR holds docs.jsonl ({"id", "title", "text"}) and
queries.jsonl ({"id", "text"}); the result is written to WORK_DIR/SYSTEM.json: ingest (documents, chunks,
CPU and wall seconds of building every index), peak RSS, bytes on disk, and per retrieval mode (bm25, dense,
hybrid) each query's ranked document ids (top 100) and its latency. Each framework is built the way its own
tutorial builds it, with the same model files. Only the standard library is imported here besides the
system under test, so the file runs in a venv that has no `rag`.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEPTH = 100  # documents ranked per query: recall@100 needs them all


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _docs_of(ids: list[str]) -> list[str]:
    """Document ids in first-seen order (a document's chunks count once)."""
    return list(dict.fromkeys(ids))[:DEPTH]


def news_qa(docs: list[dict], model: str, store: Path) -> tuple[int, dict[str, Callable[[str], list[str]]]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from rag import RAG, Settings

    folder = store / "articles.jsonl"
    folder.write_text("".join(json.dumps({"url": f"peer:{d['id']}", "title": d["title"], "text": d["text"]}) + "\n" for d in docs))
    rag = RAG(Settings.from_env().replace(index_dir=store / "index", answerer="extractive"))
    rag.index([folder])
    by_doc = {a.doc_id: a.url.removeprefix("peer:") for a in rag.data().articles}

    def search(mode: str) -> Callable[[str], list[str]]:
        return lambda q: _docs_of([by_doc[h.chunk.doc_id] for h in rag.search(q, top_k=DEPTH, retrieval=mode, candidates=DEPTH)])

    return rag.stats().chunks, {m: search(m) for m in ("bm25", "dense", "hybrid")}


def langchain(docs: list[dict], model: str, store: Path) -> tuple[int, dict[str, Callable[[str], list[str]]]]:
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    pages = [Document(page_content=f"{d['title']}\n{d['text']}", metadata={"id": d["id"]}) for d in docs]
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(pages)
    embeddings = HuggingFaceEmbeddings(model_name=model, encode_kwargs={"normalize_embeddings": True})
    vectors = FAISS.from_documents(chunks, embeddings)
    bm25 = BM25Retriever.from_documents(chunks, k=DEPTH)
    dense = vectors.as_retriever(search_kwargs={"k": DEPTH})
    hybrid = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])
    vectors.save_local(str(store / "faiss"))

    def ids(retriever: Any) -> Callable[[str], list[str]]:
        return lambda q: _docs_of([c.metadata["id"] for c in retriever.invoke(q)])

    return len(chunks), {"bm25": ids(bm25), "dense": ids(dense), "hybrid": ids(hybrid)}


def llamaindex(docs: list[dict], model: str, store: Path) -> tuple[int, dict[str, Callable[[str], list[str]]]]:
    import faiss
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core import Settings as LlamaSettings
    from llama_index.core.retrievers import QueryFusionRetriever
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.retrievers.bm25 import BM25Retriever
    from llama_index.vector_stores.faiss import FaissVectorStore

    LlamaSettings.llm = None
    LlamaSettings.embed_model = HuggingFaceEmbedding(model_name=model)
    pages = [Document(text=f"{d['title']}\n{d['text']}", metadata={"id": d["id"]}, excluded_embed_metadata_keys=["id"],
                      excluded_llm_metadata_keys=["id"]) for d in docs]  # the id is bookkeeping, not text
    context = StorageContext.from_defaults(vector_store=FaissVectorStore(faiss_index=faiss.IndexFlatIP(384)))
    index = VectorStoreIndex.from_documents(pages, storage_context=context)
    nodes = list(index.docstore.docs.values())
    bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=DEPTH)
    dense = index.as_retriever(similarity_top_k=DEPTH)
    hybrid = QueryFusionRetriever([dense, bm25], similarity_top_k=DEPTH, num_queries=1, mode="reciprocal_rerank",
                                  use_async=False)
    index.storage_context.persist(persist_dir=str(store / "storage"))
    bm25.persist(str(store / "bm25"))

    def ids(retriever: Any) -> Callable[[str], list[str]]:
        return lambda q: _docs_of([n.node.metadata["id"] for n in retriever.retrieve(q)])

    return len(nodes), {"bm25": ids(bm25), "dense": ids(dense), "hybrid": ids(hybrid)}


SYSTEMS = {"news-qa": news_qa, "langchain": langchain, "llamaindex": llamaindex}


def run(system: str, work: Path, model: str) -> dict[str, Any]:
    docs, queries = _jsonl(work / "docs.jsonl"), _jsonl(work / "queries.jsonl")
    with tempfile.TemporaryDirectory(dir=work) as keep:
        store = Path(keep)
        cpu, wall = time.process_time(), time.perf_counter()
        chunks, modes = SYSTEMS[system](docs, model, store)
        ingest = {"documents": len(docs), "chunks": chunks, "cpu_s": round(time.process_time() - cpu, 2),
                  "wall_s": round(time.perf_counter() - wall, 2)}
        disk = _size(store)
        out: dict[str, Any] = {"system": system, "ingest": ingest, "disk_bytes": disk, "modes": {}}
        for mode, search in modes.items():
            search(queries[0]["text"])  # warm
            ranked, seconds = {}, []
            for q in queries:
                started = time.perf_counter()
                ranked[q["id"]] = search(q["text"])
                seconds.append(time.perf_counter() - started)
            out["modes"][mode] = {"ranked": ranked, "seconds": seconds}
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


if __name__ == "__main__":
    name, folder, model_path = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    result = run(name, folder, model_path)
    (folder / f"{name}.json").write_text(json.dumps(result))
    print(json.dumps({k: v for k, v in result.items() if k != "modes"}))
