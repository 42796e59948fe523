"""`index --sync`: which indexed articles came from files under the given folders that are gone.

An article knows the file (or URL) it was read from (`Article.origin`; indexes written before it existed
have only `source`, which is the file for plain files). Only local files under the folders being synced
are looked at: URLs, other folders and files that could not be read this time keep their articles.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

from ..fetch import is_url
from ..schema import Article


def source_file(source: str) -> Path | None:
    """The local file an article was read from (None for a URL).

    >>> source_file("feeds/wire.jsonl (record 3)"), source_file("https://x.example/a")
    (PosixPath('feeds/wire.jsonl'), None)
    """
    if is_url(source):
        return None
    return Path(re.sub(r" \((record|entry) \d+\)$", "", source))


def _under(file: Path, roots: Sequence[Path]) -> bool:
    return any(file == root or root in file.parents for root in roots)


def _roots(paths: Sequence[str | Path]) -> list[Path]:
    return [Path(p).resolve() for p in paths if not is_url(str(p))]


def missing_copies_dropped(articles: Sequence[Article], paths: Sequence[str | Path]) -> list[Article]:
    """The articles without the listed copies whose files under `paths` are gone."""
    roots, out = _roots(paths), []
    for a in articles:
        files = [source_file(c) for c in a.copies]
        keep = tuple(c for c, f in zip(a.copies, files) if f is None or not _under(f.resolve(), roots) or f.exists())
        out.append(dataclasses.replace(a, copies=keep) if keep != a.copies else a)
    return out


def vanished(
    existing: Sequence[Article], paths: Sequence[str | Path], loaded_origins: set[str], loaded_ids: set[str]
) -> frozenset[str]:
    """Ids of articles read from files under `paths` that are gone, or that were read again and no longer
    hold them (an entry taken out of a feed). A file that could not be read this time keeps its articles."""
    roots = _roots(paths)
    read_files = {f.resolve() for f in map(source_file, loaded_origins) if f is not None}
    gone = set()
    for article in existing:
        file = source_file(article.origin or article.source)  # indexes before `origin`: the source
        if file is None:
            continue
        file = file.resolve()
        if not _under(file, roots):
            continue
        if not file.exists() or (file in read_files and article.doc_id not in loaded_ids):
            gone.add(article.doc_id)
    return frozenset(gone)
