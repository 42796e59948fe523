"""Stage 5, index: the on-disk format and the stores (FAISS or Milvus vectors, bm25s BM25, sentence vectors). The
lifecycle that writes it (load → clean → chunk → embed, then publish) is `rag/ingest/`."""
