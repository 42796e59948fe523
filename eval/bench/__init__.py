"""The speed benchmark, `python -m eval.bench`: usage and parts in `run.py`."""

from .run import main

__all__ = ["main"]
