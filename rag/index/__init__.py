"""Stage 5, index: the dense (FAISS) and sparse (BM25) indexes and their on-disk store."""
