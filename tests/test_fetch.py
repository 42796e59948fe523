"""Feeds, web addresses (from a real HTTP server on loopback) and folder sync."""

from __future__ import annotations

import http.server
import shutil
import threading
from pathlib import Path

import pytest

from rag import RAG, Settings

from .test_cli import run

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Peninsula Wire</title><link>http://news.example/</link><description>test feed</description>
<item><title>Envoy visits Seoul</title><link>http://news.example/envoy</link>
<pubDate>Mon, 04 Mar 2024 08:00:00 GMT</pubDate>
<description>Short summary only.</description>
<content:encoded><![CDATA[<p>China's special envoy visited Seoul on Monday and met South Korean officials.</p>
<p>The envoy said dialogue was the only way to ease tensions on the peninsula.</p>]]></content:encoded></item>
<item><title>Port reopens</title><link>http://news.example/port</link>
<pubDate>Tue, 05 Mar 2024 08:00:00 GMT</pubDate>
<description>The port of Incheon reopened on Tuesday after a two-day strike by dock workers ended.</description></item>
</channel></rss>"""

PAGE = """<html><head><title>Ferry talks</title><meta property="article:published_time" content="2024-03-06"></head>
<body><nav>Home | World</nav><article><h1>Ferry talks resume</h1>
<p>Officials from both sides said on Wednesday that talks on a new ferry route between Incheon and Dalian had resumed.</p>
<p>The route was suspended three years ago, the transport ministry said.</p></article>
<footer>Copyright Example Media</footer></body></html>"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A real HTTP server on 127.0.0.1 serving a feed, a page and a missing page."""
    root = tmp_path_factory.mktemp("site")
    (root / "feed.xml").write_text(RSS)
    (root / "ferry.html").write_text(PAGE)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):  # type: ignore[no-untyped-def]
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_feed_file_gives_one_article_per_entry(tmp_path, embedder):
    (tmp_path / "wire.rss").write_text(RSS)
    rag = RAG(Settings(index_dir=tmp_path / "index"), embedder=embedder)
    report = rag.index([tmp_path / "wire.rss"])
    assert len(report.added) == 2 and not report.problems
    by_title = {a.title: a for a in rag.data().articles}
    envoy = by_title["Envoy visits Seoul"]
    assert (envoy.url, envoy.date, envoy.publisher) == ("http://news.example/envoy", "2024-03-04", "Peninsula Wire")
    assert "dialogue was the only way" in envoy.text and "Short summary" not in envoy.text  # full content kept
    assert "two-day strike" in by_title["Port reopens"].text  # summary when there is no content
    answer = rag.ask("Why did the port of Incheon reopen?")
    assert answer.citations[0].url == "http://news.example/port" and answer.citations[0].date == "2024-03-05"


def test_feed_and_page_urls_from_a_local_server(site, tmp_path, embedder):
    rag = RAG(Settings(index_dir=tmp_path / "index"), embedder=embedder)
    report = rag.index([f"{site}/feed.xml", f"{site}/ferry.html", f"{site}/missing.html", "http://127.0.0.1:9/x"])
    assert len(report.added) == 3
    reasons = {p.source: p.reason for p in report.problems}
    assert reasons[f"{site}/missing.html"] == "the server answered HTTP 404"
    assert reasons["http://127.0.0.1:9/x"] == "cannot fetch it (ConnectError)"
    page = next(a for a in rag.data().articles if a.url == f"{site}/ferry.html")
    assert (page.title, page.date) == ("Ferry talks resume", "2024-03-06") and "Copyright" not in page.text
    answer = rag.ask("What route did the ferry talks cover?")
    assert answer.citations[0].url == f"{site}/ferry.html"
    out = run("index", f"{site}/ferry.html", "--index-dir", str(tmp_path / "cli-index"))
    assert out.returncode == 0 and out.stdout.startswith("1 added")


def test_sync_removes_articles_whose_files_are_gone(tmp_path, embedder, corpus_copy):
    rag = RAG(Settings(index_dir=tmp_path / "index"), embedder=embedder)
    (corpus_copy / "wire.rss").write_text(RSS)
    rag.index([corpus_copy])
    assert rag.stats().articles == 4
    (corpus_copy / "scmp-2021-china-backs-north-korea-sanctions-revision.txt").unlink()
    (corpus_copy / "wire.rss").write_text(RSS.split("<item><title>Port reopens")[0] + "</channel></rss>")
    assert rag.index([corpus_copy]).removed == ()  # without --sync nothing goes
    assert rag.stats().articles == 4
    report = rag.index([corpus_copy], sync=True)
    assert len(report.removed) == 2 and rag.stats().articles == 2
    titles = sorted(a.title for a in rag.data().articles)
    assert titles == ["China and US agree to keep communication open over Korean peninsula", "Envoy visits Seoul"]
    # syncing one folder never touches articles from elsewhere, nor files that could not be read this time
    other = tmp_path / "other"
    shutil.copytree(corpus_copy, other)
    (other / "wire.rss").unlink()
    (corpus_copy / "wire.rss").write_bytes(b"\x00binary now")
    assert rag.index([other], sync=True).removed == ()
    out = run("index", "--sync", str(corpus_copy), env_extra={"RAG_INDEX_DIR": str(tmp_path / "index")})
    assert out.returncode == 0 and " 0 removed" in out.stdout and rag.stats().articles == 2


def test_a_bad_feed_is_reported_by_name(tmp_path):
    from rag.load import load_paths

    (tmp_path / "broken.rss").write_text("<rss><channel><title>x</title></channel>")
    loaded = load_paths([tmp_path / "broken.rss"])
    assert loaded.documents == () and loaded.problems[0].reason.startswith("not an RSS or Atom feed with entries")
    assert Path(loaded.problems[0].source).name == "broken.rss"
