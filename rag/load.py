"""Stage 1, load: files and folders → raw `Document`s, with every skipped file reported by name.

Formats: .txt/.md (plain text), .html/.htm (extracted later by trafilatura), .json (one record or a list of
records), .jsonl (one record per line), .rss/.atom/.xml (a feed: one document per entry); and http(s) URLs
of a page or a feed (`fetch.py`). Folders are walked recursively without following directory links,
so a symlink loop cannot trap the walk.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .fetch import FetchProblem, feed_documents, is_url, markup_of_text, url_documents
from .schema import Document, Loaded, Markup, Problem

MARKDOWN_SUFFIXES = (".md", ".markdown")
TEXT_SUFFIXES = (".txt", *MARKDOWN_SUFFIXES)
HTML_SUFFIXES = (".html", ".htm")
JSON_SUFFIXES = (".json", ".jsonl")
FEED_SUFFIXES = (".rss", ".atom", ".xml")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + JSON_SUFFIXES + FEED_SUFFIXES

# Record fields, first match wins. Covers common scraper and dataset layouts.
TEXT_FIELDS = ("text", "content", "body", "article", "maintext", "html")
TITLE_FIELDS = ("title", "headline")
URL_FIELDS = ("url", "link", "href")
DATE_FIELDS = ("date", "published", "publish_date", "published_at", "date_publish", "pubdate")
PUBLISHER_FIELDS = ("source", "publisher", "site", "outlet")

DEFAULT_MAX_BYTES = 20_000_000
# `story.txt.meta.json` beside `story.txt`: its title, url, date and publisher (the fields above), for text,
# Markdown and HTML files whose text lacks them; read with the file, never indexed as an article itself.
META_SUFFIX = ".meta.json"
META_MAX_BYTES = 100_000


def load_paths(paths: Iterable[str | Path], max_bytes: int = DEFAULT_MAX_BYTES) -> Loaded:
    """Load every supported file under `paths`; unreadable ones become `Problem`s, the rest still load."""
    documents: list[Document] = []
    problems: list[Problem] = []
    paths = list(paths)
    for url in [p for p in paths if is_url(p)]:
        try:
            documents.extend(dataclasses.replace(d, origin=str(url)) for d in url_documents(str(url), max_bytes))
        except FetchProblem as e:
            problems.append(Problem(source=str(url), reason=str(e)))
    for path in _walk([p for p in paths if not is_url(p)], problems):
        try:
            origin = str(_display_path(path))
            documents.extend(dataclasses.replace(d, origin=origin) for d in load_file(path, max_bytes, problems))
        except _Skip as skip:
            problems.append(Problem(source=str(path), reason=str(skip)))
    return Loaded(documents=tuple(documents), problems=tuple(problems))


class _Skip(Exception):
    """Internal: this file is skipped for the given reason."""


def _walk(paths: Iterable[str | Path], problems: list[Problem]) -> Iterator[Path]:
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False):
                for name in sorted(dirs):
                    if name.startswith("."):
                        problems.append(Problem(str(Path(root) / name), "hidden folder (its name starts with '.'), not read"))
                    elif (Path(root) / name).is_symlink():
                        problems.append(Problem(str(Path(root) / name), "a link to a folder, not followed; index its target"))
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (Path(root) / d).is_symlink())
                for name in sorted(files):
                    file = Path(root) / name
                    if name.lower().endswith(META_SUFFIX):
                        continue  # read with the file it describes
                    if name.startswith("."):
                        if file.suffix.lower() in SUPPORTED_SUFFIXES:
                            problems.append(Problem(str(file), "hidden file (its name starts with '.'); rename it to index it"))
                        continue  # .DS_Store and the like
                    if file.is_symlink() and not file.exists():
                        problems.append(Problem(str(file), "a broken link or a link loop"))
                    elif file.suffix.lower() in SUPPORTED_SUFFIXES:
                        yield file
                    else:
                        problems.append(Problem(str(file), f"unsupported file type '{file.suffix}'"))
        elif path.is_file():
            if path.name.lower().endswith(META_SUFFIX):
                problems.append(Problem(str(path), f"is the metadata of {path.name[: -len(META_SUFFIX)]}; index that file"))
            elif path.suffix.lower() in SUPPORTED_SUFFIXES:
                yield path
            else:
                problems.append(
                    Problem(str(path), f"unsupported file type '{path.suffix}'; use {', '.join(SUPPORTED_SUFFIXES)}")
                )
        else:
            problems.append(Problem(str(path), "no such file or folder"))


def load_file(path: Path, max_bytes: int, problems: list[Problem]) -> list[Document]:
    """One file → its documents. Bad JSON records are appended to `problems`; a bad file raises `_Skip`."""
    key = str(path.resolve())
    shown = _display_path(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":  # a feed: any size, read record by record, each record under the limit
        records = _read_jsonl_records(path, str(shown), max_bytes, problems)
        return _records_to_documents(records, key, str(shown), problems)
    text = read_text(path, max_bytes)
    path = shown
    if suffix in JSON_SUFFIXES:
        return _records_to_documents(_parse_records(text, suffix, str(path), problems), key, str(path), problems)
    if suffix in FEED_SUFFIXES:
        try:
            return feed_documents(text, key, str(path), problems)
        except FetchProblem as e:
            raise _Skip(str(e)) from e
    meta = sidecar(Path(key), problems)
    return [
        Document(
            key=key, source=str(path), raw=text, markup=markup_of(suffix), title=_field(meta, TITLE_FIELDS),
            url=_field(meta, URL_FIELDS), date=_field(meta, DATE_FIELDS), publisher=_field(meta, PUBLISHER_FIELDS),
        )
    ]


def sidecar(path: Path, problems: list[Problem]) -> dict[str, Any]:
    """The fields of `path`'s metadata file (`<name>.meta.json`), {} when there is none; a bad one is a
    `Problem` and the article loads without it."""
    meta = path.with_name(path.name + META_SUFFIX)
    if not meta.is_file():
        return {}
    try:
        if meta.stat().st_size > META_MAX_BYTES:
            raise ValueError(f"over {META_MAX_BYTES // 1000} KB")
        record = json.loads(meta.read_text(encoding="utf-8"))
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        problems.append(Problem(str(_display_path(meta)), f"metadata ignored ({e}); give a JSON object such as "
                                '{"date": "2024-02-23", "publisher": "…"}'))
        return {}
    return record


def markup_of(suffix: str) -> Markup:
    """How a file's text is marked up, by its suffix.

    >>> markup_of(".md"), markup_of(".htm"), markup_of(".txt")
    ('markdown', 'html', 'text')
    """
    if suffix in HTML_SUFFIXES:
        return "html"
    return "markdown" if suffix in MARKDOWN_SUFFIXES else "text"


def _display_path(path: Path) -> Path:
    """Relative to the current folder when inside it: shorter citations, same file."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def open_regular(path: Path) -> BinaryIO:
    """The file opened for reading when it is a regular file; a FIFO, device (a link to /dev/zero) or socket
    is refused. Opened without blocking, so a FIFO with no writer cannot hang the batch."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        raise _Skip("not a regular file (a pipe, device or socket); only files are read")
    return f


def read_capped(path: Path, max_bytes: int) -> bytes:
    """A regular file's bytes, at most `max_bytes`: one over the limit, or growing past it while it is read,
    is refused, never read to the end."""
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise _Skip(f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit; split it")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _Skip(f"file grew past the {max_bytes / 1e6:.0f} MB limit while it was read; split it")
    return data


def read_text(path: Path, max_bytes: int) -> str:
    """The file as UTF-8 text; raises `_Skip` saying why it cannot be used."""
    try:
        data = read_capped(path, max_bytes)
    except OSError as e:
        raise _Skip(f"cannot read file ({e.strerror or e})") from e
    if b"\x00" in data[:8192]:
        raise _Skip("binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _Skip(f"not valid UTF-8 (bad byte at offset {e.start}); re-save it as UTF-8") from e
    if not text.strip():
        raise _Skip("empty file")
    return text


def _read_jsonl_records(path: Path, source: str, max_bytes: int, problems: list[Problem]) -> list[tuple[str, Any]]:
    records: list[tuple[str, Any]] = []
    known = len(problems)  # the batch's problems so far: this file's own come after them
    try:
        with open_regular(path) as f:
            head = f.read(8192)
            if b"\x00" in head:
                raise _Skip("binary file, not text")
            f.seek(0)
            for number, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                where = f"{source}:{number}"
                if len(raw) > max_bytes:
                    problems.append(Problem(where, f"record is over the {max_bytes / 1e6:g} MB limit"))
                    continue
                try:
                    records.append((f"line {number}", json.loads(raw.decode("utf-8-sig"))))
                except UnicodeDecodeError:
                    problems.append(Problem(where, "not valid UTF-8 on this line; re-save the file as UTF-8"))
                except (ValueError, RecursionError):
                    problems.append(Problem(where, "invalid JSON on this line"))
    except OSError as e:
        raise _Skip(f"cannot read file ({e.strerror or e})") from e
    if not records and len(problems) == known:
        raise _Skip("empty file")
    return records


def _parse_records(text: str, suffix: str, source: str, problems: list[Problem]) -> list[tuple[str, Any]]:
    """(record label, parsed value) pairs of a .json file."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise _Skip(f"invalid JSON ({str(e).splitlines()[0][:80]})") from e
    if isinstance(value, list):
        if not value:
            raise _Skip("no records (the file holds an empty JSON list)")
        return [(f"record {i}", v) for i, v in enumerate(value)]
    return [("record 0", value)]


def _records_to_documents(
    records: list[tuple[str, Any]], key: str, source: str, problems: list[Problem]
) -> list[Document]:
    documents = []
    for label, record in records:
        where = f"{source} ({label})"
        if not isinstance(record, dict):
            problems.append(Problem(where, "record is not a JSON object"))
            continue
        text = _field(record, TEXT_FIELDS)
        if not text.strip():
            problems.append(Problem(where, f"record has no text (expected one of: {', '.join(TEXT_FIELDS)})"))
            continue
        url = _field(record, URL_FIELDS)
        documents.append(
            Document(
                key=url or f"{key}#{label}",
                source=url or where,
                raw=text,
                markup=markup_of_text(text),
                title=_field(record, TITLE_FIELDS),
                url=url,
                date=_field(record, DATE_FIELDS),
                publisher=_field(record, PUBLISHER_FIELDS),
            )
        )
    return documents


def _field(record: dict[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        value = record.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return " ".join(value).strip()
    return ""

