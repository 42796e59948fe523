"""Web chat over the article index: `python app.py [--host 127.0.0.1] [--port 7860]`.

A thin shell: every answer comes from `rag`'s `ask_stream`, formatted by `rag.render`. Binds to
127.0.0.1 by default and never opens a share link. Set RAG_APP_PASSWORD (and optionally RAG_APP_USER)
to require a login, which you should do before binding to another address.
"""

from __future__ import annotations

import argparse
import datetime as dt
import filecmp
import hmac
import logging
import re
import shutil
import threading
import time
from pathlib import Path

import gradio as gr

from rag import RETRIEVAL_MODES, SUPPORTED_SUFFIXES, Answer, AppSettings, RagError, Settings, open_rag
from rag.render import answer_to_html, answer_to_markdown, article_to_html, markdown_escape, markdown_to_plain

log = logging.getLogger("app")
UPLOAD_DIR = AppSettings().upload_dir  # RAG_UPLOAD_DIR, read by `main`
MAX_UPLOAD = "20mb"
SINCE, UNTIL = "Published from", "Published until"  # the date boxes' labels, also used in their messages
IDLE_POLL_S = 0.02  # how often the idle request queue looks for work (see calm_queue)
EXAMPLES = [
    "what did China say was the crux?",
    "Who did Liu Xiaoming meet by video link?",
    "What did Hua Chunying say the US should revise?",
    "What missiles did Kim Jong-un oversee testing?",
]
CSS = """
/* the cited sentence: dark text on light yellow in the light theme, light text on dark amber in the dark one */
mark { background: #fff3a3; color: #1a1a1a; padding: 0 2px; }
.dark mark { background: #7a5a00; color: #fff8e1; }
.source { border: 1px solid #ddd; border-radius: 6px; padding: 6px 10px; margin: 6px 0; scroll-margin-top: 8px; }
.source p { margin: 2px 0; }
.source .where { opacity: 0.75; }
.passage { margin: 6px 0 0 0; font-size: 0.92em; white-space: normal; }
.answer.refused { color: #8a4b00; }
/* long sources and articles scroll inside their panels instead of stretching the page */
.panel-scroll { max-height: 520px; overflow-y: auto; }
"""
# A [n] in the chat jumps to its source card. Done here, not by the browser: the page's <base href="/"> would
# turn "#src-1" into "/#src-1", a reload whenever the address holds a query such as ?__theme=dark.
HEAD = """<script>
document.addEventListener('click', (event) => {
  const link = event.target.closest && event.target.closest('a[href^="#src-"]');
  if (!link) return;
  const card = document.getElementById(link.getAttribute('href').slice(1));
  if (!card) return;
  event.preventDefault();
  card.scrollIntoView({behavior: 'smooth', block: 'start'});
}, true);
</script>"""
# The opened article scrolls (inside its panel) to its first cited sentence.
SCROLL_TO_MARK = """() => { setTimeout(() => {
  const m = document.querySelector('#article mark'); if (m) m.scrollIntoView({block: 'center'}); }, 50); }"""


MAX_API_K = 50  # passages one /ask call may ask for


def api_k(k: object) -> int:
    """`k` of an /ask call as a whole number of passages, 1-50; `RagError` for anything else.

    >>> api_k("7"), api_k(3.0)
    (7, 3)
    >>> api_k("abc")
    Traceback (most recent call last):
    rag.errors.RagError: k='abc' is not a whole number of passages; give 1 to 50
    """
    bad = RagError(f"k={k!r} is not a whole number of passages; give 1 to {MAX_API_K}")
    if isinstance(k, bool) or not isinstance(k, (int, float, str)):
        raise bad
    try:
        number = float(k)
    except ValueError:
        raise bad from None
    if not number.is_integer() or not 1 <= number <= MAX_API_K:
        raise bad
    return int(number)


def api_text(name: str, value: object) -> str:
    """A text argument of an /ask call, stripped; "" for none; `RagError` when it is not text."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RagError(f"{name}={value!r} must be text")
    return value.strip()


class ChatApp:
    def __init__(self, settings: Settings) -> None:
        self.base = settings
        self.rag = open_rag(settings)  # builds the default index from the bundled articles on first run

    def stats_line(self) -> str:
        """The header: what is indexed now (run on every page load and after each upload)."""
        s = self.rag.stats()
        return f"**{s.articles} articles, {s.chunks} chunks indexed** · model `{s.model}`"

    # ---- chat ----------------------------------------------------------------------------------
    def respond(
        self, message: str, history: list[dict], k: int, mode: str, state: dict, since: str = "", until: str = ""
    ):
        history = list(history or [])
        if not (message or "").strip():  # nothing to ask: no empty bubble, the box keeps what was typed
            gr.Info("Type a question about the articles first.")
            yield history, gr.update(), gr.update(), state, message
            return
        # the conversation as plain text: the bubbles' Markdown (linked [n], escapes) is for the screen only
        earlier = [dict(m, content=markdown_to_plain(m["content"])) if isinstance(m.get("content"), str) else m
                   for m in history]
        history += [{"role": "user", "content": message}, {"role": "assistant", "content": "Searching the articles…"}]
        yield history, "", gr.update(), state, ""
        try:
            text = ""
            dates = {"since": box_date(SINCE, since), "until": box_date(UNTIL, until)}
            options = {"top_k": int(k), "retrieval": mode, **dates}
            for event in self.rag.ask_stream(message, earlier, **options):
                if isinstance(event, Answer):
                    history[-1]["content"] = answer_to_markdown(event)
                    state = {"citations": [c.to_dict() for c in event.citations], "suggestions": list(event.suggestions)}
                    choices = [(f"[{c.number}] {c.title}", str(c.number)) for c in event.citations]
                    yield history, scrolling(answer_to_html(event)), gr.update(choices=choices, value=None), state, ""
                else:
                    text += event
                    history[-1]["content"] = markdown_escape(text)
                    yield history, "", gr.update(), state, ""
        except RagError as e:
            history[-1]["content"] = f"⚠️ {e}"
            yield history, "", gr.update(choices=[], value=None), state, ""
        except Exception as e:  # never a traceback in the UI
            log.exception("answering failed")
            history[-1]["content"] = f"⚠️ Something went wrong ({type(e).__name__}); the index is unchanged."
            yield history, "", gr.update(choices=[], value=None), state, ""

    def suggest(self, state: dict):
        """The "Ask next" questions of the last answer (hidden when there are none)."""
        questions = list((state or {}).get("suggestions") or [])
        return gr.Dataset(samples=[[q] for q in questions], visible=bool(questions))

    def clear(self):
        """The chat was cleared: so are its sources, the article list and the opened article."""
        return "", gr.update(choices=[], value=None), "", {}

    def open_article(self, number: str | None, state: dict) -> str:
        if not number:
            return ""
        citation = next((c for c in state.get("citations", []) if str(c["number"]) == str(number)), None)
        if citation is None:
            return ""
        try:
            article = self.rag.article(citation["doc_id"])
        except RagError as e:
            return f"<p>⚠️ {e}</p>"
        spans = tuple(tuple(h) for h in citation["highlights"]) or ((citation["start"], citation["end"]),)
        return scrolling(article_to_html(article, spans))

    def ask_api(
        self, question: str, k: int = 5, mode: str = "hybrid", history: list | None = None, since: str = "",
        until: str = "",
    ) -> dict:
        """For programs (gradio_client, `/ask`): the full structured answer, as `ask --json` prints it.
        `history`: the earlier exchanges ([question, answer] pairs or chat messages); `since` / `until`:
        publication dates (YYYY-MM-DD, inclusive), empty for any."""
        try:
            dates = {"since": api_text("since", since) or None, "until": api_text("until", until) or None}
            top_k, how = api_k(k), api_text("mode", mode) or "hybrid"
            return self.rag.ask(question, history or (), top_k=top_k, retrieval=how, **dates).to_dict()
        except RagError as e:
            return {"error": str(e)}

    def stats_api(self) -> dict:
        """For programs (`/stats`): what is indexed, as plain data (the index folder as `index_dir`: Gradio's
        client would take a `path` key for a file to download)."""
        stats = self.rag.stats().to_dict()
        return {("index_dir" if k == "path" else k): v for k, v in stats.items()}

    # ---- uploads -------------------------------------------------------------------------------
    def upload(self, files: list[str] | None, progress=gr.Progress()):
        """Index the uploaded files; returns (report, header, file list), the list emptied once indexed."""
        if not files:
            return "Choose one or more files first.", self.stats_line(), gr.update()
        saved, rejected, renamed = [], [], []
        UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
        for temp in files:
            name = safe_name(Path(temp).name)
            if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                rejected.append(f"{Path(temp).name}: only {', '.join(SUPPORTED_SUFFIXES)} files are accepted")
                continue
            target = unique_target(UPLOAD_DIR, name, Path(temp))
            if target.name != name:
                renamed.append(f"- {Path(temp).name} stored as {target.name} (another upload has that name)")
            shutil.copyfile(temp, target)
            saved.append(target)
        lines = [f"- skipped {r}" for r in rejected] + renamed
        if saved:
            def report(stage: str, done: int, total: int) -> None:
                progress(done / max(total, 1), desc=f"{stage} {done}/{total}")

            try:
                result = self.rag.index(saved, progress=report)
            except RagError as e:
                return f"⚠️ {e}", self.stats_line(), gr.update()
            lines.insert(
                0,
                f"{len(result.added)} added, {len(result.updated)} updated, {len(result.unchanged)} unchanged, "
                f"{len(result.duplicates)} duplicates; {result.chunks_embedded} chunks embedded.",
            )
            lines += [f"- skipped {Path(p.source).name}: {p.reason}" for p in result.problems]
            lines += [f"- duplicate {d}" for d in result.duplicates]
        return "\n".join(lines), self.stats_line(), None


def box_date(label: str, value: str | None) -> str | None:
    """A date box's ISO date, None when empty; a one-line error naming the box when it holds no date.

    >>> box_date(SINCE, " 2024-02-23 "), box_date(UNTIL, "")
    ('2024-02-23', None)
    """
    text = (value or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise RagError(f"“{label}” holds {text!r}, which is not a date; pick one or type YYYY-MM-DD, e.g. 2024-02-23") from None


def scrolling(html: str) -> str:
    """HTML in a panel of bounded height that scrolls."""
    return f'<div class="panel-scroll">{html}</div>'


def unique_target(folder: Path, name: str, upload: Path) -> Path:
    """Where an upload is stored: `name`, unless another file holds that name ("a b.txt" and "a_b.txt" both
    sanitise to "a_b.txt"), then "a_b-2.txt", "a_b-3.txt", …; the same bytes again reuse their file."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, 10_000):
        target = folder / (name if n == 1 else f"{stem}-{n}{suffix}")
        if not target.exists() or filecmp.cmp(target, upload, shallow=False):
            return target
    raise RagError(f"too many uploads named {name}; rename the file")


def bracketed(host: str) -> str:
    """An IPv6 address in brackets, as Gradio (and a URL) needs it; other hosts as given.

    >>> bracketed("::1"), bracketed("[::1]"), bracketed("127.0.0.1")
    ('[::1]', '[::1]', '127.0.0.1')
    """
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def safe_name(name: str) -> str:
    """A plain file name: no folders, no traversal, no odd characters.

    >>> safe_name("../../etc/pass wd.txt")
    'pass_wd.txt'
    """
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name.replace("\\", "/")).name).lstrip(".")
    return base[:120] or "upload.txt"


def build_ui(chat: ChatApp) -> gr.Blocks:
    with gr.Blocks(title="News Q&A") as ui:
        gr.Markdown("## News Q&A\nAsk about the indexed articles. Every answer cites the passages it rests on.")
        stats = gr.Markdown(elem_id="stats")
        state = gr.State({})
        with gr.Row():
            with gr.Column(scale=3):
                bot = gr.Chatbot(label="Chat", height=380, elem_id="chat")
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a question and press Enter", show_label=False, scale=5, elem_id="question")
                    send = gr.Button("Ask", variant="primary", scale=1)
                ask_next = gr.Dataset(components=[box], samples=[], label="Ask next", visible=False, elem_id="ask-next")
                gr.Examples(EXAMPLES, inputs=box, label="Examples")
            with gr.Column(scale=2):
                sources = gr.HTML(label="Sources", elem_id="sources")
                pick = gr.Dropdown(label="Open the full article of source…", choices=[], elem_id="open-article")
                article = gr.HTML(elem_id="article")
        with gr.Accordion("Retrieval settings", open=False):
            k = gr.Slider(1, 20, value=chat.base.top_k, step=1, label="Passages to retrieve (k)")
            mode = gr.Radio(list(RETRIEVAL_MODES), value=chat.base.retrieval, label="Retrieval")
            with gr.Row():
                since = gr.DateTime(label=SINCE, include_time=False, type="string", elem_id="since")
                until = gr.DateTime(label=UNTIL, include_time=False, type="string", elem_id="until")
        with gr.Accordion("Add articles", open=False):
            files = gr.File(file_count="multiple", file_types=list(SUPPORTED_SUFFIXES), label="Upload articles")
            add = gr.Button("Index uploaded files")
            status = gr.Markdown()
        asking = ([box, bot, k, mode, state, since, until], [bot, sources, pick, state, box])
        for trigger in (box.submit, send.click):
            trigger(chat.respond, *asking, api_name=False).then(chat.suggest, state, ask_next, api_name=False)
        ask_next.click(lambda sample: sample[0], ask_next, box, api_name=False).then(
            chat.respond, *asking, api_name=False
        ).then(chat.suggest, state, ask_next, api_name=False)
        bot.clear(chat.clear, None, [sources, pick, article, state], api_name=False).then(
            chat.suggest, state, ask_next, api_name=False
        )
        pick.change(chat.open_article, [pick, state], article, api_name=False).then(
            None, None, None, js=SCROLL_TO_MARK, api_name=False
        )
        add.click(chat.upload, files, [status, stats, files], api_name=False)
        ui.load(chat.stats_line, None, stats, api_name=False)
        gr.api(chat.ask_api, api_name="ask")
        gr.api(chat.stats_api, api_name="stats")
    return ui


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="address to listen on (env RAG_APP_HOST; default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (env RAG_APP_PORT; default 7860)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    quiet_libraries()
    global UPLOAD_DIR
    try:
        options = AppSettings.from_env(host=args.host, port=args.port)
        UPLOAD_DIR = options.upload_dir
        chat = ChatApp(Settings.from_env())
    except RagError as e:
        raise SystemExit(f"error: {e}") from None
    auth = slow_login(options.user, options.password) if options.password else None
    host = bracketed(options.host)
    if host not in ("127.0.0.1", "localhost", "[::1]") and auth is None:
        log.warning("binding to %s without a password: set RAG_APP_PASSWORD to require a login", options.host)
    ui = calm_queue(build_ui(chat).queue(default_concurrency_limit=4))
    ui.launch(
        server_name=host, server_port=options.port, share=False, auth=auth, max_file_size=MAX_UPLOAD, css=CSS, head=HEAD,
        auth_message=LOGIN_MESSAGE if auth else None,
        footer_links=["api"], quiet=True, prevent_thread_lock=True,
    )
    log.info("News Q&A is running on %s (Ctrl+C to stop)", ui.local_url)
    try:
        ui.block_thread()
    except KeyboardInterrupt:
        pass


LOGIN_DELAY_S = 1.0  # per wrong password, one at a time: 30 guesses take 30 s, not 1.3 s
LOGIN_MESSAGE = "News Q&A. A wrong password waits 1 second before the next try."
_login_lock = threading.Lock()


def slow_login(user: str, password: str):  # type: ignore[no-untyped-def]
    """Gradio's login check: constant-time comparison, and every wrong try holds all others for
    `LOGIN_DELAY_S`, so guessing is slow whatever the number of parallel requests."""

    def check(given_user: str, given_password: str) -> bool:
        ok = hmac.compare_digest(given_user.encode(), user.encode()) & hmac.compare_digest(
            given_password.encode(), password.encode()
        )
        if not ok:
            with _login_lock:
                time.sleep(LOGIN_DELAY_S)
        return ok

    return check


def calm_queue(ui: gr.Blocks) -> gr.Blocks:
    """Gradio's queue checks for new work every 1 ms when idle (measured: 7.7% of a core with nobody
    using the app). Every 20 ms adds at most 20 ms to an answer (30 ms or more) and idles at 2.2% (measured)."""
    queue = ui._queue  # no public setting for the poll interval in Gradio 6
    queue.sleep_when_free = max(queue.sleep_when_free, IDLE_POLL_S)
    queue.progress_update_sleep_when_free = max(queue.progress_update_sleep_when_free, 5 * IDLE_POLL_S)
    return ui


def quiet_libraries() -> None:
    """Keep start-up and request logs to what a user needs: no per-request HTTP lines, no FAISS notes
    about optional CPU builds it did not find."""
    for name in ("httpx", "httpcore", "faiss.loader", "urllib3", "gradio_client", "trafilatura", "htmldate", "courlan"):
        logging.getLogger(name).setLevel(logging.WARNING)


if __name__ == "__main__":
    main()
