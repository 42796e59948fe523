"""The CLI as a user runs it: real subprocesses, JSON output, one-line errors, --help everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.cli import COMMANDS

from .conftest import ROOT


def run(*args, env_extra=None, cwd=ROOT):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_index_ask_json_stats_remove(tmp_path, corpus_copy):
    env = {"RAG_INDEX_DIR": str(tmp_path / "idx")}
    out = run("index", str(corpus_copy), str(tmp_path / "missing.txt"), env_extra=env)
    assert out.returncode == 0, out.stderr
    assert "2 added" in out.stdout and "skipped" in out.stderr and "missing.txt" in out.stderr
    out = run("ask", "--json", "what did China say was the crux?", env_extra=env)
    result = json.loads(out.stdout)
    assert result["refused"] is False
    assert "lack of trust between Washington and Pyongyang" in result["citations"][0]["text"]
    assert {"number", "doc_id", "title", "source", "text", "start", "end", "score"} <= set(result["citations"][0])
    assert {"dense_rank", "bm25_rank", "score"} <= set(result["hits"][0])
    stats = json.loads(run("stats", "--json", env_extra=env).stdout)
    assert stats["articles"] == 2 and stats["sentence_vectors"] > stats["chunks"] > 0
    assert "sentence vectors stored" in run("stats", env_extra=env).stdout
    doc_id = stats["documents"][0][0]
    assert run("remove", doc_id, env_extra=env).returncode == 0
    assert json.loads(run("stats", "--json", env_extra=env).stdout)["articles"] == 1


def test_errors_are_one_line_without_traceback(tmp_path):
    out = run("stats", "--index-dir", str(tmp_path / "nowhere"))
    assert out.returncode == 1
    assert out.stderr.strip().startswith("error: no index at") and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    out = run("ask", "  ", "--index-dir", str(tmp_path / "nowhere"), env_extra={"RAG_CORPUS_DIR": str(tmp_path / "no")})
    assert out.returncode == 1 and "Traceback" not in out.stderr


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command):
    out = run(command, "--help")
    assert out.returncode == 0 and "usage: python -m rag " + command in out.stdout
