"""The composing module: question → retrieve → answer, over a `Library` (load → clean → chunk → embed →
index).

`QA` answers questions over one `Library`; per-question options (how many passages, which retriever) are
arguments of `ask`, so one loaded index serves them all. `RAG` is the public handle: a `Library` and a `QA`
over it (`answering_with` gives another answerer over the same index). `open_rag()` gives the one `RAG` per
settings; `ask()`, `ask_stream()` and `index_articles()` use the default index (or the one `settings` names).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .answer.base import Answerer, AnswerRequest, pieces
from .answer.factory import make_answerer, reader_installed
from .answer.overview import TIMELINE_SEARCH, digest, overview_of, suggestions, timeline, timeline_candidates
from .answer.reader import Reader, ReaderModel
from .embed import Embedder, backend_label
from .errors import BadQuestion, IndexNotFound, RagError
from .generate import Generator
from .index.store import IndexData
from .ingest.library import Library, Progress
from .retrieve import preferred, resolve_dates, retrieve, without_phrase
from .retrieve.dates import Dates, check_date, date_phrase, question_dates
from .retrieve.followups import rewriter_of
from .schema import Answer, Article, Hit, IndexReport, IndexStats, Turn
from .settings import Retrieval, Settings

log = logging.getLogger(__name__)
History = Sequence[Any]  # Turns, (question, answer) pairs, [question, answer] lists or chat message dicts


def as_turns(history: History | None) -> tuple[Turn, ...]:
    """A conversation in any common shape → `Turn`s: `Turn`s, (question, answer) pairs or lists, and
    OpenAI / Gradio message dicts ({"role": "user" | "assistant", "content": ...}).

    >>> as_turns([("Who is Hua?", "A spokeswoman [1]."), {"role": "user", "content": "and Liu?"}])
    (Turn(question='Who is Hua?', answer='A spokeswoman [1].'), Turn(question='and Liu?', answer=''))
    """
    turns: list[Turn] = []
    for n, item in enumerate(history or ()):
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(x, (str, type(None))) for x in item):
            turns.append(Turn(item[0] or "", item[1] or ""))
        elif isinstance(item, dict) and item.get("role") in ("user", "assistant", "system"):
            text = _message_text(item.get("content"))
            if item["role"] == "user":
                turns.append(Turn(text))
            elif item["role"] == "assistant" and turns:
                turns[-1] = Turn(turns[-1].question, (turns[-1].answer + " " + text).strip())
        else:
            raise BadQuestion(
                f"history item {n} is a {type(item).__name__}; give Turn objects, (question, answer) pairs "
                'or {"role": ..., "content": ...} messages'
            )
    return tuple(_clean_turn(n, t) for n, t in enumerate(turns[-HISTORY_TURNS:]))


HISTORY_TURNS = 20  # only the last exchanges resolve a follow-up
HISTORY_CHARS = 4000  # per question or answer: a pasted megabyte is not read (the question has its own cap)


def _clean_turn(n: int, turn: Turn) -> Turn:
    """A turn as plain, printable text of bounded length; `BadQuestion` when it holds something else.

    >>> _clean_turn(0, Turn("who?", "x" * 5000)).answer == "x" * 4000, _clean_turn(0, Turn("who?" + chr(0xD800))).question
    (True, 'who?')
    """
    parts = []
    for name, value in (("question", turn.question), ("answer", turn.answer)):
        if not isinstance(value, str):
            raise BadQuestion(f"history item {n}'s {name} is a {type(value).__name__}; give text")
        parts.append(printable(value[: HISTORY_CHARS * 2])[:HISTORY_CHARS])
    return Turn(parts[0], parts[1])


def _message_text(content: Any) -> str:
    """A chat message's text: a string, or the text parts of an OpenAI / Gradio content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p for p in content if isinstance(p, (dict, str))]
        return " ".join(p.get("text", "") if isinstance(p, dict) else p for p in parts)
    return ""


def printable(text: str) -> str:
    """`text` on one line: control characters and lone surrogates become spaces, runs of space one.

    >>> printable(" what\\tnow?\\x1b ")
    'what now?'
    """
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def check_question(question: object, limit: int) -> tuple[str, str]:
    """The usable question and a notice; `BadQuestion` when there is nothing to ask.

    >>> check_question("  what\\tnow? ", 100)
    ('what now?', '')
    """
    if not isinstance(question, str):
        raise BadQuestion(f"the question must be text, got {type(question).__name__}")
    cleaned = printable(question)
    if not cleaned:
        raise BadQuestion("the question is empty; type a question about the articles")
    if len(cleaned) > limit:
        return cleaned[:limit], f"Your question was {len(cleaned):,} characters; only the first {limit:,} were used."
    return cleaned, ""


class QA:
    """Answers questions over one `Library`."""

    def __init__(
        self, library: Library, answerer: Answerer | None = None, generator: Generator | None = None,
        reader: ReaderModel | None = None,
    ) -> None:
        self.library = library
        self._answerer = answerer
        self._generator, self._reader = generator, reader

    @property
    def answerer(self) -> Answerer:
        if self._answerer is None:
            settings = self.library.settings
            self._answerer = make_answerer(settings, self.library.embedder, self._generator, self._reader)
        return self._answerer

    def _options(self, top_k: int | None, retrieval: str | None) -> Settings:
        """The settings for one question (`Settings` checks the values)."""
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)):
            raise RagError(f"top_k={top_k!r} must be a whole number of at least 1")
        return self.library.settings.replace(top_k=top_k, retrieval=retrieval)

    def search(
        self, question: str, history: History = (), *, top_k: int | None = None, retrieval: Retrieval | None = None,
        candidates: int | None = None, since: object = None, until: object = None, today: object = None,
    ) -> tuple[Hit, ...]:
        """Retrieval only: the top `top_k` passages for the question, best first."""
        options = self._options(top_k, retrieval).replace(candidates=candidates)
        question, _ = check_question(question, options.max_question_chars)
        data = self.library.data()
        dates, _ = resolve_dates(question, data, since, until, options, today)
        queries, _ = rewriter_of(self.answerer).queries(without_phrase(question, dates.phrase), as_turns(history))
        vectors = self.library.embedder.embed_texts(queries) if options.retrieval != "bm25" else None
        return retrieve(data, vectors, queries, options, dates)

    def ask(
        self, question: str, history: History = (), *, top_k: int | None = None, retrieval: Retrieval | None = None,
        since: object = None, until: object = None, today: object = None,
    ) -> Answer:
        *_, answer = self.ask_stream(
            question, history, top_k=top_k, retrieval=retrieval, since=since, until=until, today=today
        )
        return answer  # type: ignore[return-value]  # the stream always ends with the Answer

    def ask_stream(
        self, question: str, history: History = (), *, top_k: int | None = None, retrieval: Retrieval | None = None,
        since: object = None, until: object = None, today: object = None,
    ) -> Iterator[str | Answer]:
        """Yields the answer text in pieces as each is ready, then the complete `Answer`. `since` / `until`
        (dates, inclusive) limit the articles searched; without them the articles of a question's own "in
        2021" or "last week" rank higher. `today`: the date "last week" counts back from (default: the
        newest article's)."""
        options = self._options(top_k, retrieval)
        question, notice = check_question(question, options.max_question_chars)
        turns = as_turns(history)
        data: IndexData = self.library.data()  # once: the hits' rows and sentence vectors are of one generation
        overview = self._overview(question, data, options, since, until, today)
        if overview is not None:
            draft, hits, dates = overview
            yield from pieces(draft.text)
            yield _answer(question, draft, hits, question, dates, notice)
            return
        dates, dated = resolve_dates(question, data, since, until, options, today)
        topic = without_phrase(question, dates.phrase)  # "in 2021" became the filter; the words would only blur
        queries, note = rewriter_of(self.answerer).queries(topic, turns)
        vectors = self.library.embedder.embed_texts(queries)  # once: retrieval, then scoring answer sentences
        hits = retrieve(data, vectors, queries, options, dates)
        asked = self.library.embedder.embed_texts([question])[0] if topic != question else None
        request = AnswerRequest(topic, tuple(queries), vectors, preferred(hits, dates), data.sentences, turns,
                                data.article_by_id, asked)
        for event in self.answerer.answer(request):
            if isinstance(event, Answer):
                query = next((q for q in queries if q != topic), question)
                yield _answer(question, event, hits, query, dates, " ".join(x for x in (notice, dated, note) if x))
            else:
                yield event

    def _overview(
        self, question: str, data: IndexData, options: Settings, since: object, until: object, today: object
    ) -> tuple[Answer, tuple[Hit, ...], Dates] | None:
        """A digest ("what happened last week?") or a timeline ("the latest on X"), or None for a question."""
        newest = check_date("today", today) or data.newest_date
        given = Dates(check_date("since", since), check_date("until", until))
        read = question_dates(question, newest) if newest else Dates()
        kind = overview_of(without_phrase(question, read.phrase or date_phrase(question)))
        if kind is None:
            return None
        if kind.kind == "digest":
            dates = given if given.bounded else read
            return digest(data, dates, newest), (), dates
        if today and not given.until:  # the latest as of `today`: nothing published after it
            given = dataclasses.replace(given, until=newest)
        vectors = self.library.embedder.embed_texts([kind.topic])
        hits = retrieve(data, vectors, [kind.topic], options.replace(top_k=TIMELINE_SEARCH), given)
        found = timeline_candidates(kind.topic, vectors, hits, self.library.embedder, options, data.sentences)
        return timeline(found), hits, given


class RAG:
    """One index folder and questions over it: a `Library` (index lifecycle) plus a `QA` (answering)."""

    def __init__(
        self, settings: Settings | None = None, embedder: Embedder | None = None, generator: Generator | None = None,
        reader: ReaderModel | None = None,
    ) -> None:
        self.library = Library(settings, embedder)
        self.qa = QA(self.library, generator=generator, reader=reader)

    @property
    def settings(self) -> Settings:
        return self.library.settings

    @property
    def embedder(self) -> Embedder:
        return self.library.embedder

    def index(
        self, paths: Iterable[str | Path], rebuild: bool = False, progress: Progress | None = None, sync: bool = False
    ) -> IndexReport:
        return self.library.update(paths, rebuild, progress, sync)

    def remove(self, doc_ids: Sequence[str]) -> IndexReport:
        return self.library.remove(doc_ids)

    def stats(self) -> IndexStats:
        return self.library.stats()

    def article(self, doc_id: str) -> Article:
        return self.library.article(doc_id)

    def data(self) -> IndexData:
        return self.library.data()

    def exists(self) -> bool:
        return self.library.exists()

    def ask(self, question: str, history: History = (), **options: Any) -> Answer:
        return self.qa.ask(question, history, **options)

    def ask_stream(self, question: str, history: History = (), **options: Any) -> Iterator[str | Answer]:
        return self.qa.ask_stream(question, history, **options)

    def search(self, question: str, history: History = (), **options: Any) -> tuple[Hit, ...]:
        return self.qa.search(question, history, **options)

    @property
    def embedder_label(self) -> str:
        """The embedding backend these settings resolve to, with its int8 recipe ("torch", "onnx-int8-v3"):
        vectors of two labels differ."""
        return backend_label(self.settings.embed_backend, self.settings.model)

    @property
    def reader_installed(self) -> bool:
        """Whether `answerer="auto"` gets the reader here (xllamacpp and the named or a bundled model)."""
        return reader_installed(self.settings)

    def answering_with(self, **changes: Any) -> RAG:
        """The same index and embedder answering with other answer settings (`answerer`, `reader_model`,
        `reader_none_sure`, ...). A loaded reader model is shared when the model and threads stay the same.
        `settings` stays the index's."""
        settings = self.settings.replace(**changes)
        same = (settings.reader_model, settings.reader_threads) == (self.settings.reader_model, self.settings.reader_threads)
        reads = settings.answerer == "reader" or (settings.answerer == "auto" and reader_installed(settings))
        current = self.qa.answerer if same and reads else None  # its reader, loaded once for both
        reader = current.model if isinstance(current, Reader) else self.qa._reader if same else None
        other = copy.copy(self)
        other.qa = QA(self.library, make_answerer(settings, self.embedder, self.qa._generator, reader))
        return other


_OPEN: dict[Settings, RAG] = {}


def _handle(settings: Settings) -> RAG:
    """The one `RAG` per settings in this process (made on first use; opening an index is lazy)."""
    rag = _OPEN.get(settings)
    if rag is None:
        rag = _OPEN[settings] = RAG(settings)
    return rag


def _answer(question: str, draft: Answer, hits: tuple[Hit, ...], query: str, dates: Dates, notice: str) -> Answer:
    """The answerer's `Answer` completed: the question, the hits, the query searched, the dates, the notices,
    and suggestions of what to ask next when it answered."""
    return dataclasses.replace(
        draft, question=question, hits=hits, query=query, since=dates.since, until=dates.until,
        notice=" ".join(x for x in (notice, draft.notice) if x),
        suggestions=() if draft.refused else suggestions(question, draft.citations),
    )


def open_rag(settings: Settings | None = None) -> RAG:
    """The `RAG` for these settings (one per settings per process). A missing index is built from
    `settings.seed_corpus()` (the bundled articles, for the default index folder); elsewhere it is an error."""
    settings = settings or Settings.from_env()
    rag = _handle(settings)
    if not rag.exists():
        corpus = settings.seed_corpus()
        if corpus is None:
            raise IndexNotFound(
                f"no index at {settings.index_dir}; build one with "
                f"`python -m rag index --index-dir {settings.index_dir} <your article folders>`"
            )
        if not corpus.is_dir():
            raise IndexNotFound(
                f"no index at {settings.index_dir} and no articles at {corpus}; "
                "run `python -m rag index <your article folders>`"
            )
        log.info("building the index at %s from %s", settings.index_dir, corpus)
        rag.index([corpus])
    return rag


def ask(
    question: str,
    history: History = (),
    settings: Settings | None = None,
    *,
    top_k: int | None = None,
    retrieval: Retrieval | None = None,
    since: object = None,
    until: object = None,
    today: object = None,
) -> Answer:
    """Answer `question` from the default index (or the one `settings` names), with citations.

    `history`: earlier turns as `Turn`s, (question, answer) pairs or chat message dicts. `top_k` and
    `retrieval` override the settings for this question; `since` / `until` (dates, inclusive) limit the
    articles searched; `today` is the date a question's "last week" counts back from."""
    options = {"top_k": top_k, "retrieval": retrieval, "since": since, "until": until, "today": today}
    return open_rag(settings).ask(question, history, **options)


def ask_stream(
    question: str,
    history: History = (),
    settings: Settings | None = None,
    *,
    top_k: int | None = None,
    retrieval: Retrieval | None = None,
    since: object = None,
    until: object = None,
    today: object = None,
) -> Iterator[str | Answer]:
    """As `ask`, but yields the answer text in pieces as each is ready, then the complete `Answer`."""
    options = {"top_k": top_k, "retrieval": retrieval, "since": since, "until": until, "today": today}
    return open_rag(settings).ask_stream(question, history, **options)


def index_articles(
    paths: Iterable[str | Path], settings: Settings | None = None, *, rebuild: bool = False, sync: bool = False,
    progress: Progress | None = None,
) -> IndexReport:
    """Add or update the articles under `paths` (files, folders, .jsonl feeds, http(s) URLs) in the default
    index (or the one `settings` names), building it if there is none. `rebuild`: start from empty;
    `sync`: also drop articles whose files under these folders are gone."""
    return _handle(settings or Settings.from_env()).index(paths, rebuild=rebuild, progress=progress, sync=sync)
