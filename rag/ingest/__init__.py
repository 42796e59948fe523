"""The ingest lifecycle: load → clean → chunk → embed new or changed articles, then publish a generation of
the index (`library.Library`). `plan.py` decides what one call changes (new, changed, unchanged articles and
copies stored once, with `dedup.py`'s MinHash check); `sync.py` finds articles whose files are gone. The
on-disk format and the stores it writes through are `rag/index/`.
"""
