"""The refusal gates' small rules: what kind of answer a question asks for, whether a sentence shows it,
and how much of the question the passages cover."""

from __future__ import annotations

import re

from ..text import lexical_overlap

# What a question asks for, when its first words say so, and how an answer sentence shows it.
_ASKS_NUMBER = re.compile(r"^\W*(how (many|much)|what (number|percentage|proportion|share))\b", re.I)
_ASKS_DATE = re.compile(r"^\W*(when|(in )?what (year|date|month|day)|(in )?which (year|month))\b", re.I)
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
                     r"fifty|hundreds?|thousands?|millions?|billions?|dozens?|half|twice|several|few)\b", re.I)
_DATE = re.compile(r"\b(1\d{3}|20\d{2})s?\b|\b(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|"
                   r"sep(t|tember)?|oct(ober)?|nov(ember)?|dec(ember)?|monday|tuesday|wednesday|thursday|friday|"
                   r"saturday|sunday|yesterday|today|tonight|tomorrow|ago|decades?|centur(y|ies)|weeks?|weekends?|"
                   r"months?|years?|spring|summer|autumn|fall|winter|morning|afternoon|evening|night|noon|midnight|"
                   r"quarter)\b|\b\d{1,2}(:\d{2}|\s*[ap]\.?m\b)", re.I)


def asks_for(question: str) -> str:
    """What kind of answer the question's first words ask for: "number", "date" or "" (anything).

    >>> asks_for("How many warheads does it have?"), asks_for("When did the talks end?"), asks_for("Who is Liu?")
    ('number', 'date', '')
    """
    return "number" if _ASKS_NUMBER.search(question) else "date" if _ASKS_DATE.search(question) else ""


def shows(text: str, kind: str) -> bool:
    """Whether a sentence holds an answer of that kind (always, for "").

    >>> shows("It has about 50 warheads.", "number"), shows("Talks ended without a deal.", "date")
    (True, False)
    >>> shows("Talks would resume in the spring.", "date"), shows("They met at 10:15am.", "date")
    (True, True)
    """
    return not kind or bool((_NUMBER if kind == "number" else _DATE).search(text))


def question_coverage(question_terms: set[str], passage_terms: set[str]) -> float:
    """Share of the question's content words that occur in the passages; 1.0 for a question without any
    (a follow-up such as "who said that?" leans on the conversation instead).

    >>> question_coverage({"popul", "pyongyang"}, {"pyongyang", "missil"})
    0.5
    """
    return lexical_overlap(question_terms, passage_terms) if question_terms else 1.0
