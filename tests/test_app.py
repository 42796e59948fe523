"""The real app: a Gradio server on loopback, driven by gradio_client and by headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from .conftest import ARTICLES, ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_app(tmp, extra_env=None, host="127.0.0.1"):
    port = _free_port()
    env = {
        **os.environ,
        "RAG_INDEX_DIR": str(tmp / "index"),
        "RAG_CORPUS_DIR": str(ARTICLES),
        "RAG_UPLOAD_DIR": str(tmp / "uploads"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        **(extra_env or {}),
    }
    log = (tmp / "app.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--host", host], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    address = host.strip("[]")
    url = f"http://[{address}]:{port}/" if ":" in address else f"http://{address}:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            socket.create_connection((address, port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((tmp / "app.log").read_text()) from None
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("app did not start in 180 s")
    return proc, url


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python app.py` as a user starts it, on its own index and upload folders."""
    tmp = tmp_path_factory.mktemp("app")
    proc, url = _start_app(tmp)
    yield url, tmp
    proc.terminate()
    proc.wait(timeout=20)


def test_password_from_the_environment_guards_the_app(tmp_path):
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    proc, url = _start_app(tmp_path, {"RAG_APP_PASSWORD": "s3cret-pass", "RAG_APP_USER": "editor"})
    try:
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(url, verbose=False).predict("crux?", 5, "hybrid", api_name="/ask")
        with pytest.raises(ValueError, match="Could not login"):  # a wrong password is refused too
            Client(url, auth=("editor", "wrong-pass"), verbose=False)
        result = Client(url, auth=("editor", "s3cret-pass"), verbose=False).predict(
            "what did China say was the crux?", 5, "hybrid", api_name="/ask"
        )
        assert result["refused"] is False
        assert "s3cret-pass" not in (tmp_path / "app.log").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_ipv6_loopback_address_serves(tmp_path):
    from gradio_client import Client

    proc, url = _start_app(tmp_path, host="::1")
    try:
        assert url.startswith("http://[::1]:")
        assert Client(url, verbose=False).predict(api_name="/stats")["articles"] == 2
        assert "binding to" not in (tmp_path / "app.log").read_text()  # a loopback address: no warning
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_api_returns_the_structured_answer(server):
    from gradio_client import Client

    url, _ = server
    client = Client(url, verbose=False)
    result = client.predict("what did China say was the crux?", 5, "hybrid", api_name="/ask")
    assert result["refused"] is False
    assert "lack of trust between Washington and Pyongyang" in result["citations"][0]["text"]
    refused = client.predict("What is the recipe for banana bread?", 5, "hybrid", api_name="/ask")
    assert refused["refused"] is True and refused["citations"] == []
    bad = client.predict("   ", 5, "hybrid", api_name="/ask")
    assert "empty" in bad["error"]
    # follow-ups and dates through the API: the conversation as [question, answer] pairs
    first = client.predict("What did Liu Xiaoming say about the Korean peninsula?", api_name="/ask")
    follow = client.predict("Who did he meet by video link?", 5, "hybrid", [[first["question"], first["text"]]], api_name="/ask")
    assert follow["query"] == "Who did Liu Xiaoming meet by video link?" and not follow["refused"], follow
    dated = client.predict("What did China say about the sanctions?", 5, "hybrid", [], "2024-01-01", "", api_name="/ask")
    assert dated["since"] == "2024-01-01" and {c["date"] for c in dated["citations"]} <= {"2024-02-23"}


def test_bad_api_values_get_a_one_line_error_not_an_exception(server):
    """`k`, the mode, the dates and the history as a program might send them wrong: each call returns
    {"error": ...} naming what was wrong (none raises in the client, which would mean a server traceback)."""
    from gradio_client import Client

    url, _ = server
    client = Client(url, verbose=False)
    ask = "what did China say was the crux?"
    cases = [((ask, "abc"), "k='abc'"), ((ask, None), "k=None"), ((ask, [5]), "k=[5]"), ((ask, "nan"), "k='nan'"),
             ((ask, 0), "k=0"), ((ask, 10**9), "k=1000000000"), ((ask, 5, 7), "mode=7"),
             ((ask, 5, "hybrid", "not a list"), "history item 0"), ((ask, 5, "hybrid", [], 5), "since=5"),
             ((ask, 5, "hybrid", [], "soon"), "since='soon'"), ((None,), "question must be text")]
    for args, expected in cases:
        result = client.predict(*args, api_name="/ask")
        assert expected in result.get("error", ""), (args, result)


def test_readme_api_example_runs_against_the_app(server):
    """The README's `/ask` client example, as written, against the running app (only the address differs)."""
    import contextlib
    import io

    from .test_readme import python_blocks

    url, _ = server
    (code,) = python_blocks(client=True)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code.replace("http://127.0.0.1:7860/", url), {})  # noqa: S102 - the README's own example
    assert "Liu Xiaoming" in printed.getvalue() and printed.getvalue().strip().endswith(" 2")  # the quote, 2 articles


def test_start_up_log_is_quiet_and_the_header_follows_the_index(server, embedder, tmp_path):
    from gradio_client import Client

    from rag import RAG, Settings

    url, tmp = server
    log = (tmp / "app.log").read_text()
    assert f"running on {url}" in log
    for noise in ("share=True", "AVX512", "HTTP Request", "Traceback"):
        assert noise not in log, noise
    # another process adds an article; the header a page load shows counts it
    story = tmp_path / "story.txt"
    story.write_text("Envoy visits Seoul\n\nThe Chinese envoy visited Seoul on Monday for talks, officials said.")
    RAG(Settings(index_dir=tmp / "index"), embedder=embedder).index([story])
    stats = Client(url, verbose=False).predict(api_name="/stats")  # plain data, not Markdown
    assert stats["articles"] == 3 and stats["chunks"] == RAG(Settings(index_dir=tmp / "index")).stats().chunks


def test_binds_to_loopback_only(server):
    url, _ = server
    port = int(url.rsplit(":", 1)[1].strip("/"))
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("ss not available")
    local = [line.split()[3] for line in out.stdout.splitlines()]  # the listening address column
    assert local and all(addr.startswith("127.0.0.1:") for addr in local)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
def test_browser_asks_the_crux_question(server, tmp_path):
    from playwright.sync_api import sync_playwright

    from rag import RAG, Settings

    url, tmp = server
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_selector("#question textarea", timeout=60_000)
        # the header is filled in by the page-load event, from the index as it is now
        page.wait_for_function("document.querySelector('#stats').innerText.includes('articles')", timeout=60_000)
        now = RAG(Settings(index_dir=tmp / "index")).stats()
        assert page.inner_text("#stats").startswith(f"{now.articles} articles, {now.chunks} chunks indexed")
        page.fill("#question textarea", "what did China say was the crux?")
        started = time.monotonic()
        page.press("#question textarea", "Enter")
        page.wait_for_function(
            "document.querySelector('#chat') && document.querySelector('#chat').innerText.includes('Searching')"
            " || document.querySelector('#chat').innerText.includes('Beijing')",
            timeout=60_000,
        )
        first_text = time.monotonic() - started
        page.wait_for_selector("#sources mark", timeout=60_000)
        full = time.monotonic() - started
        chat = page.inner_text("#chat")
        assert "lack of trust between Washington and Pyongyang" in chat and "[1]" in chat
        marked = page.inner_text("#sources mark")
        assert "lack of trust between Washington and Pyongyang" in marked
        assert page.is_visible("#src-1")
        # the full article opens inside its own scrolling panel, not as a page several screens long
        page.click("#open-article input")
        page.click("li[role=option] >> nth=0")
        page.wait_for_selector("#article mark", timeout=30_000)
        panels = [page.eval_on_selector(p, "e => e.getBoundingClientRect().height") for p in ("#article", "#sources")]
        height = page.evaluate("document.documentElement.scrollHeight")
        assert max(panels) <= 600 and height < 1600, (panels, height)  # before: 3,700 px
        # "Ask next" offers questions about what the answer cites; one click asks it
        page.wait_for_selector("#ask-next button", timeout=30_000)
        offered = page.inner_text("#ask-next")
        assert "What's the latest on" in offered
        page.click("#ask-next button >> nth=0")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('newest first')", timeout=60_000)
        assert page.inner_text("#chat").count("What's the latest on") >= 1
        # clearing the chat clears the sources and the opened article too
        page.click("#chat button[aria-label='Clear']")
        page.wait_for_function("!document.querySelector('#sources').innerText.includes('lack of trust')", timeout=30_000)
        page.wait_for_selector("#ask-next", state="hidden", timeout=30_000)
        assert "lack of trust" not in page.inner_text("#article")
        page.screenshot(path=str(tmp_path / "crux.png"), full_page=True)
        print(f"\nbrowser: first visible text {first_text * 1000:.0f} ms, full answer {full * 1000:.0f} ms")
        browser.close()
    assert (tmp_path / "crux.png").stat().st_size > 10_000


_CONTRAST = """e => {
  const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const lum = c => { const [r, g, b] = rgb(c); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const s = getComputedStyle(e), a = lum(s.color), b = lum(s.backgroundColor);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_phone_cards_links_and_highlights(server, theme):
    """On a 390 px phone, in both themes: the [1] in the bubble jumps to its source card, which leads with the
    outlet and date; the cited sentence is readable (WCAG contrast >= 4.5); the full article opens at it."""
    from playwright.sync_api import sync_playwright

    url, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 390, "height": 844}, color_scheme=theme)
        page.goto(f"{url}?__theme={theme}")
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.fill("#question textarea", "what did China say was the crux?")
        page.press("#question textarea", "Enter")
        page.wait_for_selector("#sources mark", timeout=90_000)
        card = page.inner_text("#src-1")
        assert card.startswith("[1] South China Morning Post · 2024-02-23")
        assert "China and US agree to keep communication open over Korean peninsula" in card
        assert page.evaluate("document.body.classList.contains('dark') || !!document.querySelector('.dark')") == (theme == "dark")
        assert page.eval_on_selector("#sources mark", _CONTRAST) >= 4.5
        page.wait_for_selector("#chat a[href='#src-1']", timeout=30_000)
        assert page.eval_on_selector("#src-1", "e => e.getBoundingClientRect().top") > 844  # below the fold at first
        page.click("#chat a[href='#src-1']")
        page.wait_for_function("(() => { const r = document.querySelector('#src-1').getBoundingClientRect();"
                               " return r.top >= 0 && r.top < 844; })()", timeout=10_000)
        page.click("#open-article input")
        page.click("li[role=option] >> nth=0")
        page.wait_for_selector("#article mark", timeout=30_000)
        assert page.eval_on_selector("#article mark", _CONTRAST) >= 4.5
        inside = """() => { const m = document.querySelector('#article mark').getBoundingClientRect();
            const box = document.querySelector('#article .panel-scroll').getBoundingClientRect();
            return m.top >= box.top && m.bottom <= box.bottom && box.top < 844 * 3; }"""
        page.wait_for_function(inside, timeout=10_000)  # scrolled to the cited sentence inside its panel
        browser.close()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
def test_date_pickers_and_a_filter_that_leaves_nothing(server):
    """The date boxes are pickers (a calendar button); a range with no article says so in the chat."""
    from playwright.sync_api import sync_playwright

    url, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(url)
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.click("text=Retrieval settings")
        page.wait_for_selector("#since button.calendar", timeout=30_000)
        assert page.locator("#until button.calendar").count() == 1
        page.fill("#since input", "2030-01-01")
        page.press("#since input", "Enter")
        page.fill("#question textarea", "what did China say was the crux?")
        page.press("#question textarea", "Enter")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('No article was published from 2030-01-01')",
                               timeout=60_000)
        from rag import RAG, Settings

        articles = RAG(Settings(index_dir=server[1] / "index")).data().articles  # other tests may add some
        undated = sum(not a.date for a in articles)
        assert f"({undated} of {len(articles)} articles have no date)" in page.inner_text("#chat")
        browser.close()


def test_twenty_concurrent_users(server):
    """20 gradio_client users on loopback, 2 questions each, bounded in count and time: no errors."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    url, _ = server
    questions = ["what did China say was the crux?", "Who is Hua Chunying?"]

    alone = {q: Client(url, verbose=False).predict(q, 5, "hybrid", api_name="/ask") for q in questions}

    def user(n: int) -> list[float]:
        client = Client(url, verbose=False)
        times = []
        for q in questions:
            started = time.monotonic()
            result = client.predict(q, 5, "hybrid", api_name="/ask")
            times.append(time.monotonic() - started)
            # under load each user gets the answer to their own question, as one user alone does
            assert result["question"] == q and result["text"] == alone[q]["text"], result
        return times

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        latencies = sorted(t for times in pool.map(user, range(20), timeout=300) for t in times)
    wall = time.monotonic() - started
    p95 = latencies[int(0.95 * len(latencies)) - 1]
    print(f"\nload: 20 users x 2 asks in {wall:.1f} s = {len(latencies) / wall:.1f} answers/s, p95 {p95 * 1000:.0f} ms")


def test_uploads_are_checked_and_stored_safely(tmp_path, monkeypatch, embedder):
    import app
    from rag import Settings

    monkeypatch.setattr(app, "UPLOAD_DIR", tmp_path / "uploads")
    chat = app.ChatApp(Settings(index_dir=tmp_path / "index", corpus_dir=ARTICLES))
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = incoming / "new story.txt"
    good.write_text("Envoy visits Seoul\n\nThe Chinese envoy visited Seoul on Monday for talks on the peninsula, officials said.")
    binary = incoming / "fake.txt"
    binary.write_bytes(b"\x00\x01\x02binary")
    exe = incoming / "tool.exe"
    exe.write_bytes(b"MZ")
    assert "2 articles" in chat.stats_line()
    message, stats, file_list = chat.upload([str(good), str(binary), str(exe)], progress=lambda *a, **k: None)
    assert message.startswith("1 added") and "fake.txt: binary file" in message and "tool.exe: only" in message
    assert "3 articles" in stats and "3 articles" in chat.stats_line()  # the header a page reload shows
    assert file_list is None  # the upload list is emptied once indexed
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == ["fake.txt", "new_story.txt"]
    assert app.safe_name("../../etc/passwd") == "passwd" and app.safe_name("..\\..\\x.txt") == "x.txt"
    assert app.safe_name(".hidden.json") == "hidden.json"
    before = chat.rag.stats()
    message, _, _ = chat.upload([str(binary)], progress=lambda *a, **k: None)
    assert "binary file" in message and chat.rag.stats() == before  # nothing indexed is lost


def test_chat_streams_then_opens_the_cited_article(tmp_path, embedder):
    import app
    from rag import Settings, Turn
    from rag.pipeline import as_turns

    chat = app.ChatApp(Settings(index_dir=tmp_path / "index", corpus_dir=ARTICLES))
    updates = list(chat.respond("what did China say was the crux?", [], 5, "hybrid", {}))
    assert len(updates) > 5  # a placeholder, then word-by-word text, then the final answer
    partial = [u[0][-1]["content"] for u in updates[1:-1]]
    assert all(len(a) <= len(b) for a, b in zip(partial, partial[1:]))
    history, sources, _, state, box = updates[-1]
    assert box == "" and r"[\[1\]](#src-1)" in history[-1]["content"] and "<mark>" in sources  # [1] links to its card
    page = chat.open_article("1", state)
    marked = page.split("<mark>")[1].split("</mark>")[0]
    assert "lack of trust between Washington and Pyongyang" in marked
    assert page.startswith('<div class="panel-scroll"><h3>China and US agree to keep communication open over Korean peninsula</h3>')
    # the chat's messages reach `ask_stream` as the conversation so far
    seen, real = [], chat.rag.ask_stream
    chat.rag.ask_stream = lambda q, h, **kw: seen.append((q, h)) or real(q, h, **kw)
    follow = list(chat.respond("Who did he meet by video link?", history, 5, "hybrid", state))[-1]
    assert [m["role"] for m in follow[0]] == ["user", "assistant"] * 2
    # ... as plain text: [1], not the bubble's link to the card
    said = as_turns(seen[0][1])[0].answer
    assert said.endswith("responsibility. [1]") and "#src-" not in said and "\\" not in said
    assert as_turns(seen[0][1]) == (Turn("what did China say was the crux?", said),)


def test_chat_options_clear_and_blank_questions(tmp_path, embedder):
    import app
    from rag import Settings

    chat = app.ChatApp(Settings(index_dir=tmp_path / "index", corpus_dir=ARTICLES))
    data = chat.rag.data()
    # k and the retrieval mode are per question: one loaded index serves every combination
    answer = chat.ask_api("what did China say was the crux?", 2, "bm25")
    assert len(answer["hits"]) == 2 and all(h["dense_rank"] is None and h["bm25_rank"] for h in answer["hits"])
    assert len(chat.ask_api("what did China say was the crux?", 7, "dense")["hits"]) == 7
    assert chat.rag.data() is data
    # a blank question adds no bubble and keeps the conversation as it was
    before = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    updates = list(chat.respond("   ", before, 5, "hybrid", {"citations": [1]}))
    assert len(updates) == 1 and updates[0][0] == before
    # clearing the chat empties the sources, the article list, the opened article and the citations
    sources, pick, article, state = chat.clear()
    assert sources == "" and article == "" and state == {} and pick["choices"] == [] and pick["value"] is None


def test_idle_queue_polls_calmly():
    import app

    ui = app.calm_queue(app.gr.Blocks().queue())
    assert ui._queue.sleep_when_free >= app.IDLE_POLL_S >= 0.01  # Gradio's own: 1 ms (7.7% of a core idle)


def _hostile_articles(folder, trap: str) -> None:
    """Articles whose text, title and url carry live HTML and script addresses. The text is plain for its
    first 5,000 characters, so it is read as text and its tags reach the answer as characters."""
    folder.mkdir()
    filler = "The harbour board met again on Monday to review the season, officials said. " * 70
    payload = (f'Zebra festival organisers posted a notice <form action="{trap}/steal"><input name="password">'
               f'<button>Sign in to read</button></form> <img src="{trap}/img.png"> <video autoplay src="{trap}/v.mp4">'
               f'</video> <audio autoplay src="{trap}/a.mp3"></audio> <iframe src="{trap}/frame"></iframe> '
               f'[click me](javascript:alert(1)) ![x]({trap}/md.png) on Friday.')
    (folder / "zebra.txt").write_text(f"Harbour season review\n\n{filler}\n\n{payload}\n")
    import json

    (folder / "links.json").write_text(json.dumps([
        {"title": "Zebra parade <img src=x onerror=alert(1)>", "url": "javascript:fetch('" + trap + "/js')",
         "text": "The zebra parade crossed the old bridge on Saturday, the festival said."},
        {"title": "Zebra prize", "url": " JaVaScRiPt:alert(1)", "text": "A zebra prize was given to a local school on Sunday."},
        {"title": "Zebra map", "url": f"data:text/html,<script>fetch('{trap}/data')</script>",
         "text": "The zebra festival map showed three stages near the harbour."},
    ]))


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
def test_hostile_articles_render_as_text_in_the_browser(tmp_path):
    """Forms, images, media, frames and script or data addresses inside articles: in the real browser nothing
    is fetched from their addresses, none becomes a control, and the only links are citations and http(s)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from playwright.sync_api import sync_playwright

    hits: list[str] = []

    class Trap(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args):
            pass

    trap = ThreadingHTTPServer(("127.0.0.1", 0), Trap)
    threading.Thread(target=trap.serve_forever, daemon=True).start()
    trap_url = f"http://127.0.0.1:{trap.server_address[1]}"
    _hostile_articles(tmp_path / "hostile", trap_url)
    proc, url = _start_app(tmp_path, {"RAG_CORPUS_DIR": str(tmp_path / "hostile")})
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            page.goto(url)
            page.wait_for_selector("#question textarea", timeout=120_000)
            for question in ("What notice did the zebra festival organisers post?", "Where did the zebra parade cross?",
                             "What did the zebra festival map show?"):
                page.fill("#question textarea", question)
                page.press("#question textarea", "Enter")
                page.wait_for_function("document.querySelector('#chat').innerText.split('Zebra').length > 1"
                                       " && document.querySelectorAll('#sources .card, #sources [id^=src-]').length > 0",
                                       timeout=90_000)
                page.wait_for_timeout(1500)  # time for any image, media or frame to load
            chat = page.inner_text("#chat")
            assert "<form" in chat and "<img" in chat  # shown as the characters the article holds
            controls = page.evaluate("""() => [...document.querySelectorAll('#chat, #sources')].flatMap(root =>
                [...root.querySelectorAll('form, input, textarea, select, video, audio, iframe, object, embed, img')]
                .map(e => e.outerHTML.slice(0, 80)))""")
            assert controls == [], controls
            assert "Sign in to read" not in page.evaluate(
                "[...document.querySelectorAll('#chat button, #sources button')].map(b => b.innerText).join(' ')")
            links = page.evaluate("""() => [...document.querySelectorAll('#chat a, #sources a')]
                .map(a => a.getAttribute('href') || '')""")
            assert links and all(h.startswith("#src-") or h.startswith(("http://", "https://")) for h in links), links
            assert not any(trap_url in h for h in links)
            browser.close()
        origin = url.rstrip("/")
        assert all(r.startswith(origin) or r.startswith(("data:image/svg", "blob:")) for r in requested), \
            [r for r in requested if not r.startswith(origin)]
        assert hits == [], hits  # nothing reached the addresses the articles named
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        trap.shutdown()
