"""Hostile and careless input, generated here: files that are not files, names that collide, one enormous
paragraph, addresses that are scripts. Each case once broke something (issue #24)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading

import pytest

from rag import RAG, Settings
from rag.load import load_paths
from rag.render import answer_to_html

from .conftest import ARTICLES, ROOT
from .test_cli import run

STORY = "Envoy visits Seoul\n\nThe Chinese envoy visited Seoul on Monday for talks on the peninsula, officials said.\n"


def test_a_fifo_and_a_link_to_a_device_are_named_and_skipped(tmp_path):
    (tmp_path / "good.txt").write_text(STORY)
    os.mkfifo(tmp_path / "news.txt")  # no writer: opening it normally blocks forever
    (tmp_path / "zero.txt").symlink_to("/dev/zero")  # reading it normally never ends
    done: dict[str, object] = {}
    worker = threading.Thread(target=lambda: done.setdefault("loaded", load_paths([tmp_path])), daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "loading blocked on a FIFO or a device"
    loaded = done["loaded"]
    assert [d.source.rsplit("/", 1)[-1] for d in loaded.documents] == ["good.txt"]  # type: ignore[attr-defined]
    reasons = {p.source.rsplit("/", 1)[-1]: p.reason for p in loaded.problems}  # type: ignore[attr-defined]
    assert set(reasons) == {"news.txt", "zero.txt"} and all("not a regular file" in r for r in reasons.values())


def test_one_enormous_paragraph_is_split_in_pieces_pysbd_can_take(monkeypatch):
    """pysbd is quadratic in its input: no call may see more than `PIECE_CHARS`, and no text is lost."""
    from rag import chunk

    seen: list[int] = []
    real = chunk._segmenter()

    class Counting:
        def segment(self, text: str) -> list[str]:
            seen.append(len(text))
            return real.segment(text)

    monkeypatch.setattr(chunk, "_segmenter", lambda: Counting())
    text = "The committee met again on Tuesday to discuss the budget, officials said. " * 2700  # 200 KB, one paragraph
    spans = chunk.sentence_spans(text)
    assert max(seen) <= chunk.PIECE_CHARS and len(seen) >= len(text) // chunk.PIECE_CHARS
    assert len(spans) == 2700 and "".join(text[a:b] + " " for a, b in spans) == text


def test_uploads_with_colliding_names_never_overwrite_each_other(tmp_path, monkeypatch, embedder):
    import app

    monkeypatch.setattr(app, "UPLOAD_DIR", tmp_path / "uploads")
    chat = app.ChatApp(Settings(index_dir=tmp_path / "index", corpus_dir=ARTICLES))
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    (one / "a b.txt").write_text(STORY)
    (two / "a_b.txt").write_text("Storm hits coast\n\nA storm flooded coastal towns on Sunday, officials said.\n")
    message, _, _ = chat.upload([str(one / "a b.txt"), str(two / "a_b.txt")], progress=lambda *a, **k: None)
    assert message.startswith("2 added") and "a_b.txt stored as a_b-2.txt" in message
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == ["a_b-2.txt", "a_b.txt"]
    again, _, _ = chat.upload([str(one / "a b.txt")], progress=lambda *a, **k: None)  # the same file again
    assert again.startswith("0 added, 0 updated, 1 unchanged")
    assert len(list((tmp_path / "uploads").iterdir())) == 2


def test_script_addresses_never_become_links(tmp_path, embedder):
    records = [
        {"title": "Talks end", "url": " JaVaScRiPt:alert(document.cookie)", "text": "The talks in Seoul ended on Monday without a deal, officials said."},
        {"title": "Talks resume", "url": "data:text/html,<script>alert(1)</script>", "text": "The talks in Tokyo resumed on Friday after a week, officials said."},
    ]
    (tmp_path / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    rag = RAG(Settings(index_dir=tmp_path / "index", answerer="extractive"), embedder=embedder)
    rag.index([tmp_path / "feed.jsonl"])
    answer = rag.ask("What happened to the talks in Seoul?")
    assert answer.citations
    page = answer_to_html(answer)
    assert "href=" not in page.replace('href="#src-', "") and "<script" not in page


@pytest.mark.parametrize("noise", ["discarding data"])
def test_html_extraction_notes_stay_out_of_the_cli(tmp_path, noise):
    (tmp_path / "empty.html").write_text("<html><body><nav>menu</nav></body></html>")
    (tmp_path / "story.txt").write_text(STORY)
    out = run("index", "--index-dir", str(tmp_path / "index"), str(tmp_path), process=True)  # log lines: a process
    assert out.returncode == 0 and noise not in out.stderr and "empty.html" in out.stderr  # named once, by us


def test_wrong_passwords_are_slowed_down_one_at_a_time(monkeypatch):
    import app

    waits: list[float] = []
    monkeypatch.setattr(app.time, "sleep", waits.append)
    check = app.slow_login("editor", "s3cret-pass")
    assert check("editor", "s3cret-pass") and waits == []
    assert not any(check("editor", guess) for guess in ("a", "b", "s3cret-pas", "s3cret-pass "))
    assert not check("admin", "s3cret-pass")
    assert waits == [app.LOGIN_DELAY_S] * 5 and "1 second" in app.LOGIN_MESSAGE


def test_a_rebuild_names_the_articles_it_drops(tmp_path, embedder, corpus_copy):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "story.txt").write_text(STORY)
    rag = RAG(Settings(index_dir=tmp_path / "index"), embedder=embedder)
    rag.index([corpus_copy, uploads])
    assert rag.stats().articles == 3
    report = rag.index([corpus_copy], rebuild=True)  # the uploads folder is not given again
    assert rag.stats().articles == 2 and len(report.removed) == 1
    (named,) = [p for p in report.problems if "dropped by the rebuild" in p.reason]
    assert named.source.endswith("story.txt")
    assert run("index", "--index-dir", str(tmp_path / "cli"), str(corpus_copy), str(uploads)).returncode == 0
    out = run("index", "--rebuild", "--index-dir", str(tmp_path / "cli"), str(corpus_copy))
    assert out.returncode == 0 and "story.txt: dropped by the rebuild" in out.stderr and "1 removed" in out.stdout


@pytest.mark.parametrize("name, raw", [("RAG_LLM_TIMEOUT_S", "-1"), ("RAG_LLM_TIMEOUT_S", "nan"),
                                       ("RAG_READER_TIMEOUT_S", "0"), ("RAG_MAX_QUESTION_CHARS", "-5")])
def test_nonsense_limits_are_one_line_errors_naming_the_variable(name, raw):
    from rag.errors import RagError

    with pytest.raises(RagError, match=f"fix {name}$"):
        Settings.from_env({name: raw})


@pytest.mark.parametrize("name", ["retrieval", "embed_backend", "vector_store", "recency", "question_dates",
                                  "answer_kinds", "answerer"])
def test_a_choice_outside_its_list_names_the_list_and_the_variable(name):
    from rag.errors import RagError

    choices = Settings.choices(name)
    assert len(choices) >= 2 and getattr(Settings(), name) in choices
    with pytest.raises(RagError, match=rf"^{name}='nope' is not one of {', '.join(choices)}; fix RAG_{name.upper()}$"):
        Settings.from_env({f"RAG_{name.upper()}": "nope"})


def test_the_chat_settings_are_read_and_checked_in_one_place(tmp_path):
    from rag import AppSettings
    from rag.errors import RagError
    from rag.settings import secret

    env = {"RAG_APP_PORT": "8123", "RAG_APP_PASSWORD": "pw", "RAG_UPLOAD_DIR": str(tmp_path), "OPENAI_API_KEY": "k2"}
    app = AppSettings.from_env(env, host="::1")
    assert (app.host, app.port, app.password, app.upload_dir, app.user) == ("::1", 8123, "pw", tmp_path, "rag")
    assert "pw" not in repr(app)  # a password never reaches a log line
    assert secret("llm_api_key", env) == "k2" and secret("llm_api_key", env | {"RAG_LLM_API_KEY": "k1"}) == "k1"
    for raw, message in (("http", "RAG_APP_PORT='http' is not a whole number; fix or unset it"), ("0", "fix RAG_APP_PORT or --port")):
        with pytest.raises(RagError, match=re.escape(message)):
            AppSettings.from_env({"RAG_APP_PORT": raw})
    out = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env={**os.environ, "RAG_APP_PORT": "http"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stderr.strip().splitlines()[-1] == "error: RAG_APP_PORT='http' is not a whole number; fix or unset it"
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("kwargs, message", [
    ({"today": "0001-01-01"}, "not a date between 1000 and 9998"),
    ({"today": __import__("datetime").time(1, 2)}, "is not a date"),
    ({"history": [__import__("rag").Turn(None)]}, "history item 0's question is a NoneType"),
])
def test_odd_arguments_to_ask_are_one_line_errors(bundled_index, kwargs, message):
    from rag.errors import RagError

    with pytest.raises(RagError, match=message):
        bundled_index.ask("What happened last month?", **kwargs)


def test_history_is_cleaned_and_capped(bundled_index):
    """A lone surrogate and a megabyte-long answer in the history are read as bounded, printable text."""
    from rag import Turn

    history = [Turn("What did Hua Chunying say?" + chr(0xD800), "She said the talks matter. " * 40_000)]
    answer = bundled_index.ask("Who does she work for?", history)
    assert len(answer.query) < 10_000 and chr(0xD800) not in answer.query


def _hostile_folder(root):
    """A folder of entries that each once stopped a batch or vanished without a word, and two good articles."""
    root.mkdir()
    (root / "good.txt").write_text(STORY)
    (root / "sub").mkdir()
    (root / "sub" / "inner.txt").write_text("Bridge opens\n\nThe mayor opened the new bridge on Tuesday, officials said.\n")
    os.symlink(root / "loop1", root / "loop2")
    os.symlink(root / "loop2", root / "loop1")
    os.symlink(root / "sub", root / "folder-link")
    with open(os.path.join(os.fsencode(root), b"caf\xe9.txt"), "wb") as f:  # a name that is not UTF-8
        f.write(b"Cafe opens\n\nA cafe opened on Monday in Paris and served coffee to many guests.\n")
    (root / "surrogate.json").write_text(json.dumps({"title": "Bad \ud800 title", "url": "https://x.example/\ud800",
                                                     "text": "A thing happened on Friday. It was big news in town."}))
    (root / "long-title.json").write_text(json.dumps({"title": " ".join(f"word{i}" for i in range(300)),
                                                      "text": "The council met on Monday. It voted to build a school."}))
    (root / "heading.md").write_text("# " + "x " * 125_000 + "\n\nThe heading above is long. This body is short.\n")
    (root / "empty-list.json").write_text("[]")
    (root / "empty.jsonl").write_text("")
    (root / "..dots.txt").write_text(STORY)
    (root / "feed.rss").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Empty</title><link>https://feed.example/empty</link></item>"
        "<item><title>Full</title><link>https://feed.example/full</link>"
        "<description>The port reopened on Sunday after the storm, officials said.</description></item>"
        "</channel></rss>")


def test_one_bad_entry_never_stops_a_folder_and_every_skip_is_named(tmp_path, embedder):
    """Each entry is indexed or named with a reason: a link loop, a non-UTF-8 file name, a lone surrogate in a
    JSON title and url, a 300-word title, a 250 KB Markdown heading, an empty JSON list, an empty .jsonl in a
    batch, a dot-file, a link to a folder and a feed entry without text."""
    _hostile_folder(tmp_path / "news")
    rag = RAG(Settings(index_dir=tmp_path / "index"), embedder=embedder)
    report = rag.index([tmp_path / "news"])
    named = {os.path.basename(p.source.split(" (")[0]): p.reason for p in report.problems}
    assert set(named) >= {"loop1", "loop2", "folder-link", "empty-list.json", "empty.jsonl", "..dots.txt", "feed.rss"}, named
    assert "link loop" in named["loop1"] and "link to a folder" in named["folder-link"]
    assert "hidden" in named["..dots.txt"] and "empty JSON list" in named["empty-list.json"]
    assert named["feed.rss"] == "feed entry has no text"
    titles = sorted(a.title[:12] for a in rag.library.data().articles)
    assert len(titles) == 7, titles  # good, inner, café, surrogate, long title, heading, the feed's full entry
    assert all(len(a.title) <= 200 for a in rag.library.data().articles)
    assert rag.ask("What did the cafe in Paris serve?").citations
    # every entry of the folder is accounted for: indexed (an article names it as its origin) or named
    entries = {os.path.join(root, n) for root, dirs, files in os.walk(tmp_path / "news") for n in dirs + files}
    entries -= {str(tmp_path / "news" / "sub")}  # a real folder: its files are the entries
    origins = {a.origin or a.source for a in rag.library.data().articles}
    problems = {p.source.split(" (")[0] for p in report.problems}
    silent = {e for e in entries if not any(e.encode("utf-8", "backslashreplace").decode() in o for o in origins | problems)}
    assert silent == set(), silent
    print(f"\nhostile folder: {len(entries)} entries, {len(origins)} indexed from, {len(problems)} named, "
          f"{len(silent)} dropped silently")


def test_a_write_the_disk_refuses_is_one_line_and_leaves_the_index(tmp_path, embedder, corpus_copy):
    """A file-size limit stands in for a full disk (EFBIG and ENOSPC take the same path): the CLI says what
    happened and what to do in one line, exit 1, and the index answers as before."""
    import resource
    import subprocess
    import sys

    index = tmp_path / "index"
    rag = RAG(Settings(index_dir=index), embedder=embedder)
    rag.index([corpus_copy])
    before = rag.ask("what did China say was the crux?").text
    (tmp_path / "more.txt").write_text("Port reopens\n\n" + "The port reopened on Sunday after the storm. " * 200)

    def small_files() -> None:  # in the child only
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    out = subprocess.run([sys.executable, "-m", "rag", "index", str(tmp_path / "more.txt")], capture_output=True,
                         text=True, env={**os.environ, "RAG_INDEX_DIR": str(index)}, preexec_fn=small_files, timeout=300)
    assert out.returncode == 1, out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith(f"error: could not write the index at {index}: a file grew past")
    assert "Traceback" not in out.stderr and "the index is unchanged" in out.stderr
    again = RAG(Settings(index_dir=index), embedder=embedder)
    assert again.stats().articles == 2 and again.ask("what did China say was the crux?").text == before
