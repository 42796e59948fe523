"""One error family. Every message names the offending value and the next step to take."""

from __future__ import annotations


class RagError(Exception):
    """Base class: the CLI and the UI show `str(error)` as one line, never a traceback."""


class IndexNotFound(RagError):
    """No index at the given directory."""


class IndexMismatch(RagError):
    """The index was built with another model, chunking or format version."""


class IndexCorrupt(RagError):
    """The index files are unreadable or disagree with each other."""


class IndexLocked(RagError):
    """Another process is writing the index."""


class IndexUnwritable(RagError):
    """The index folder could not be written (full disk, file-size limit, read-only, no permission)."""


class BadDocument(RagError):
    """A file or record could not be turned into an article."""


class BadQuestion(RagError):
    """The question is empty or unusable."""


class DocumentNotFound(RagError):
    """A doc id that is not in the index."""


class MissingDependency(RagError):
    """An optional package is not installed."""


class ModelUnavailable(RagError):
    """The embedding model could not be loaded."""


class LLMUnavailable(RagError):
    """The language model failed (server down, timeout, bad stream); callers fall back to the extractive answer."""
