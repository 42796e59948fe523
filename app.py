"""Web chat over the article index: `python app.py [--host 127.0.0.1] [--port 7860]`.

A thin shell: every answer comes from `rag`'s `ask_stream`, formatted by `rag.render`. Binds to
127.0.0.1 by default and never opens a share link. Set RAG_APP_PASSWORD (and optionally RAG_APP_USER)
to require a login, which you should do before binding to another address.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
from pathlib import Path

import gradio as gr

from rag import RAG, Answer, RagError, Settings, Turn, open_rag
from rag.load import SUPPORTED_SUFFIXES
from rag.render import answer_to_html, article_to_html
from rag.settings import RETRIEVAL_MODES

log = logging.getLogger("app")
UPLOAD_DIR = Path(os.environ.get("RAG_UPLOAD_DIR", Path(__file__).resolve().parent / "uploads"))
MAX_UPLOAD = "20mb"
EXAMPLES = [
    "what did China say was the crux?",
    "Who did Liu Xiaoming meet by video link?",
    "What did Hua Chunying say the US should revise?",
    "What missiles did Kim Jong-un oversee testing?",
]
CSS = """
mark { background: #fff3a3; padding: 0 2px; }
.source { border: 1px solid #ddd; border-radius: 6px; padding: 6px 10px; margin: 6px 0; }
.passage { margin: 6px 0 0 0; font-size: 0.92em; white-space: normal; }
.answer.refused { color: #8a4b00; }
"""


class ChatApp:
    def __init__(self, settings: Settings) -> None:
        self.base = settings
        self.rags: dict[tuple[int, str], RAG] = {}
        open_rag(settings)  # builds the default index from the bundled articles on first run

    def rag(self, k: int, mode: str) -> RAG:
        key = (int(k), mode)
        if key not in self.rags:
            base = open_rag(self.base)
            self.rags[key] = RAG(self.base.replace(top_k=int(k), retrieval=mode), embedder=base.embedder)
        return self.rags[key]

    def stats_line(self) -> str:
        s = self.rag(self.base.top_k, self.base.retrieval).stats()
        return f"**{s.articles} articles, {s.chunks} chunks indexed** · model `{s.model}`"

    # ---- chat ----------------------------------------------------------------------------------
    def respond(self, message: str, history: list[dict], k: int, mode: str, state: dict):
        history = list(history or [])
        turns = to_turns(history)
        history += [{"role": "user", "content": message}, {"role": "assistant", "content": "Searching the articles…"}]
        yield history, "", gr.update(), state, ""
        try:
            text = ""
            for event in self.rag(k, mode).ask_stream(message, turns):
                if isinstance(event, Answer):
                    history[-1]["content"] = (f"*{event.notice}*\n\n" if event.notice else "") + event.text
                    state = {"citations": [c.to_dict() for c in event.citations]}
                    choices = [(f"[{c.number}] {c.title}", str(c.number)) for c in event.citations]
                    yield history, answer_to_html(event), gr.update(choices=choices, value=None), state, ""
                else:
                    text += event
                    history[-1]["content"] = text
                    yield history, "", gr.update(), state, ""
        except RagError as e:
            history[-1]["content"] = f"⚠️ {e}"
            yield history, "", gr.update(choices=[], value=None), state, ""
        except Exception as e:  # never a traceback in the UI
            log.exception("answering failed")
            history[-1]["content"] = f"⚠️ Something went wrong ({type(e).__name__}); the index is unchanged."
            yield history, "", gr.update(choices=[], value=None), state, ""

    def open_article(self, number: str | None, state: dict) -> str:
        if not number:
            return ""
        citation = next((c for c in state.get("citations", []) if str(c["number"]) == str(number)), None)
        if citation is None:
            return ""
        try:
            article = self.rag(self.base.top_k, self.base.retrieval).article(citation["doc_id"])
        except RagError as e:
            return f"<p>⚠️ {e}</p>"
        spans = tuple(tuple(h) for h in citation["highlights"]) or ((citation["start"], citation["end"]),)
        return article_to_html(article, spans)

    def ask_api(self, question: str, k: int = 5, mode: str = "hybrid") -> dict:
        """For programs (gradio_client): the full structured answer, as `ask --json` prints it."""
        try:
            return self.rag(k, mode).ask(question).to_dict()
        except RagError as e:
            return {"error": str(e)}

    # ---- uploads -------------------------------------------------------------------------------
    def upload(self, files: list[str] | None, progress=gr.Progress()):
        if not files:
            return "Choose one or more files first.", self.stats_line()
        saved, rejected = [], []
        UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
        for temp in files:
            name = safe_name(Path(temp).name)
            if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                rejected.append(f"{Path(temp).name}: only {', '.join(SUPPORTED_SUFFIXES)} files are accepted")
                continue
            target = UPLOAD_DIR / name
            shutil.copyfile(temp, target)
            saved.append(target)
        lines = [f"- skipped {r}" for r in rejected]
        if saved:
            def report(stage: str, done: int, total: int) -> None:
                progress(done / max(total, 1), desc=f"{stage} {done}/{total}")

            try:
                result = self.rag(self.base.top_k, self.base.retrieval).index(saved, progress=report)
            except RagError as e:
                return f"⚠️ {e}", self.stats_line()
            lines.insert(
                0,
                f"{len(result.added)} added, {len(result.updated)} updated, {len(result.unchanged)} unchanged, "
                f"{len(result.duplicates)} duplicates; {result.chunks_embedded} chunks embedded.",
            )
            lines += [f"- skipped {Path(p.source).name}: {p.reason}" for p in result.problems]
            lines += [f"- duplicate {d}" for d in result.duplicates]
        return "\n".join(lines), self.stats_line()


def to_turns(history: list[dict]) -> list[Turn]:
    """Gradio messages → (question, answer) turns for follow-up questions."""
    turns: list[Turn] = []
    for message in history:
        content = message.get("content")
        text = content if isinstance(content, str) else ""
        if message.get("role") == "user":
            turns.append(Turn(question=text))
        elif turns and message.get("role") == "assistant":
            turns[-1] = Turn(turns[-1].question, text)
    return turns


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
        stats = gr.Markdown(chat.stats_line(), elem_id="stats")
        state = gr.State({})
        with gr.Row():
            with gr.Column(scale=3):
                bot = gr.Chatbot(label="Chat", height=380, elem_id="chat")
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a question and press Enter", show_label=False, scale=5, elem_id="question")
                    send = gr.Button("Ask", variant="primary", scale=1)
                gr.Examples(EXAMPLES, inputs=box, label="Examples")
            with gr.Column(scale=2):
                sources = gr.HTML(label="Sources", elem_id="sources")
                pick = gr.Dropdown(label="Open the full article of source…", choices=[], elem_id="open-article")
                article = gr.HTML(elem_id="article")
        with gr.Accordion("Retrieval settings", open=False):
            k = gr.Slider(1, 20, value=chat.base.top_k, step=1, label="Passages to retrieve (k)")
            mode = gr.Radio(list(RETRIEVAL_MODES), value=chat.base.retrieval, label="Retrieval")
        with gr.Accordion("Add articles", open=False):
            files = gr.File(file_count="multiple", file_types=list(SUPPORTED_SUFFIXES), label="Upload articles")
            add = gr.Button("Index uploaded files")
            status = gr.Markdown()
        for trigger in (box.submit, send.click):
            trigger(chat.respond, [box, bot, k, mode, state], [bot, sources, pick, state, box], api_name=False)
        pick.change(chat.open_article, [pick, state], article, api_name=False)
        add.click(chat.upload, files, [status, stats], api_name=False)
        api_in = gr.Textbox(visible=False)
        api_out = gr.JSON(visible=False)
        api_in.submit(chat.ask_api, [api_in, k, mode], api_out, api_name="ask")
    return ui


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("RAG_APP_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("RAG_APP_PORT", "7860")))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    password = os.environ.get("RAG_APP_PASSWORD")
    auth = (os.environ.get("RAG_APP_USER", "rag"), password) if password else None
    if args.host not in ("127.0.0.1", "localhost", "::1") and auth is None:
        log.warning("binding to %s without a password: set RAG_APP_PASSWORD to require a login", args.host)
    try:
        chat = ChatApp(Settings.from_env())
    except RagError as e:
        raise SystemExit(f"error: {e}") from None
    build_ui(chat).queue(default_concurrency_limit=4).launch(
        server_name=args.host, server_port=args.port, share=False, auth=auth, max_file_size=MAX_UPLOAD, css=CSS,
        footer_links=["api"],
    )


if __name__ == "__main__":
    main()
