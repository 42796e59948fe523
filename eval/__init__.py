"""Evaluation benchmark: `python -m eval`. Uses the same `rag` code users run."""
