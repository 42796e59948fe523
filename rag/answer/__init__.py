"""Stage 7, answer: from the retrieved passages to the answer text, its citations and its short answer.

- `base`: the seam (`Answerer`, `AnswerRequest`, `Draft`).
- `extractive`: the passages' best sentences, no model (the instant first answer and the fallback).
- `refusal`: the rules the refusal gates use.
- `reader`: a local model reads the best sentences and returns the exact words that answer, or NONE.
- `llm`: a chat model writes the answer; its citations are verified.
- `factory`: the answerer the settings name.
"""
