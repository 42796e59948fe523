"""Follow-up questions: which questions lean on the conversation, and the query variants they are searched
with (the question with its pronoun resolved, the last question with it, it with the last answer).

The query-rewriting seam is `Rewriter`: `FollowUps` (these heuristics) is the default; an answerer that
searches another way carries its own as `rewriter` (the language-model answerer's model-written query)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from ..schema import Turn
from ..text import strip_markers

_ANAPHORA = re.compile(
    r"\b(he|she|they|him|her|them|his|hers|their|theirs|it|its|this|that|these|those|there|then|"
    r"the same|the other|also|else|more|why|how come)\b",
    re.I,
)
_PRONOUN = re.compile(r"\b(he|she|they|him|her|them|it|this|that|these|those)\b", re.I)
_PERSONAL = {"he", "she", "they", "him", "her", "them"}
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][\w’'-]+(?: [A-Z][\w’'-]+)+")  # two or more capitalised words


def is_follow_up(question: str) -> bool:
    """Questions that lean on the conversation: pronouns, or too few words to stand alone.

    >>> is_follow_up("what did she say about China?"), is_follow_up("Who is Liu Xiaoming, China's envoy?")
    (True, False)
    """
    return bool(_ANAPHORA.search(question)) or len(re.findall(r"\w+", question)) < 4


def search_queries(question: str, history: Sequence[Turn]) -> list[str]:
    """The question, plus conversation-aware variants when it is a follow-up: the question with its pronoun
    resolved (`resolve_reference`; it replaces the question when a name was put in), the last question with
    this one, and this one with the last answer.

    >>> search_queries("and her?", [Turn("who is Hua Chunying?", "A spokeswoman [1].")])
    ['and Hua Chunying?', 'who is Hua Chunying? and her?', 'and her? A spokeswoman.']
    >>> search_queries("who said that?", [Turn("what was the crux?", "Trust was the crux [1].")])[:2]
    ['who said that?', 'who said Trust was the crux?']
    """
    if not history or not is_follow_up(question):
        return [question]
    last = history[-1]
    answer = strip_markers(last.answer)
    resolved, named = resolve_reference(question, answer, last.question)
    # A name stands in for the pronoun as the question would have said it; a whole sentence would make the
    # resolved question resemble the last answer more than any new one, so the bare question stays first.
    queries = [resolved] if named else [question] + ([resolved] if resolved != question else [])
    queries.append(f"{last.question} {question}")
    if answer:
        queries.append(f"{question} {answer[:300]}")
    return queries


def resolve_reference(question: str, answer: str, earlier: str = "") -> tuple[str, bool]:
    """The question with its first pronoun replaced: "he", "she", "they"... by the one multi-word name the
    `earlier` question asked about (unchanged when it names none or several); "that", "it"... by the
    answer's first sentence, so "who said that?" asks about what was said. Unchanged without a pronoun.
    Also says whether a name was put in.

    >>> resolve_reference("Who said that?", "Beijing insisted trust was the crux. Kim sent a message.")
    ('Who said Beijing insisted trust was the crux?', False)
    >>> resolve_reference("Who does she work for?", "A spokeswoman [1].", "Who is Hua Chunying?")
    ('Who does Hua Chunying work for?', True)
    """
    first = re.split(r"(?<=[.!?])\s+", answer.strip(), maxsplit=1)[0].rstrip(".!? ")[:300]
    names = set(_NAME.findall(earlier))
    match = _PRONOUN.search(question)
    if not match:
        return question, False
    if match.group(1).lower() in _PERSONAL:  # a person: only a name can stand in (a sentence would drown the
        if len(names) != 1:  # question); without exactly one, the conversation variants do the work
            return question, False
        return question[: match.start()] + names.pop() + question[match.end() :], True
    if not first:
        return question, False
    return question[: match.start()] + first + question[match.end() :], False


class Rewriter(Protocol):
    """The query-rewriting seam."""

    def queries(self, question: str, history: Sequence[Turn]) -> tuple[list[str], str]:
        """The search queries for a question in its conversation ([0] is the question), and a notice."""
        ...


class FollowUps:
    """The default rewriter: `search_queries`' variants, no notice."""

    def queries(self, question: str, history: Sequence[Turn]) -> tuple[list[str], str]:
        return search_queries(question, history), ""


def rewriter_of(answerer: object) -> Rewriter:
    """The answerer's own `rewriter`, else `FollowUps`."""
    own = getattr(answerer, "rewriter", None)
    return own if own is not None else FollowUps()
