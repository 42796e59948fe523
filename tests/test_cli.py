"""The CLI as a user runs it: JSON output, one-line errors, --help everywhere. Commands run in this process
(`rag.cli.main`, with the environment and working folder set as a shell would), so the model loads once; what
only a process shows (a closed pipe, exit codes of a real interpreter, log lines) runs as a subprocess."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys

import pytest

from rag.cli import COMMANDS

from .conftest import ROOT


def run(*args, env_extra=None, cwd=ROOT, process=False):
    """`python -m rag ARGS` with `env_extra` added to the environment: its exit code, stdout and stderr."""
    if process:
        env = {**os.environ, **(env_extra or {})}
        return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    from rag import cli

    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update({k: str(v) for k, v in (env_extra or {}).items()})
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main([str(a) for a in args])
            except SystemExit as e:  # argparse: --help, a bad option
                code = e.code if isinstance(e.code, int) else int(e.code is not None)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


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
    assert out.returncode == 1 and out.stderr.startswith("error: no index at") and "Traceback" not in out.stderr


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command):
    out = run(command, "--help")
    assert out.returncode == 0 and "usage: python -m rag " + command in out.stdout


def test_a_missing_index_folder_is_reported_not_filled_with_samples(tmp_path):
    typo = tmp_path / "typo"
    out = run("ask", "--index-dir", str(typo), "what did China say was the crux?")
    assert out.returncode == 1 and out.stderr.strip() == (
        f"error: no index at {typo}; build one with `python -m rag index --index-dir {typo} <your article folders>`"
    )
    assert not typo.exists()
    out = run("remove", "--index-dir", str(typo), "some-doc")
    assert out.returncode == 1 and out.stderr.startswith("error: no index at") and not typo.exists()  # no .lock left


def test_an_index_dir_that_is_a_file_is_a_one_line_error(tmp_path):
    afile = tmp_path / "passwd"
    afile.write_text("root:x:0:0\n")
    for command in (["stats"], ["ask", "crux?"], ["index", str(tmp_path)], ["remove", "x"]):
        out = run(*command, "--index-dir", str(afile))
        assert out.returncode == 1, command
        assert out.stderr == f"error: the index folder {afile} is not a folder ({afile} is a file); choose another --index-dir\n"
    assert afile.read_text() == "root:x:0:0\n"


def test_output_into_a_closed_pipe_is_quiet(tmp_path, corpus_copy):
    env = {**os.environ, "RAG_INDEX_DIR": str(tmp_path / "idx")}
    assert run("index", str(corpus_copy), env_extra=env).returncode == 0
    for reader in ("head -1", "true"):  # `true` exits before reading: every write meets a closed pipe
        shell = f"{sys.executable} -m rag stats | {reader}"
        out = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
        assert out.stderr == "", reader
    assert out.stdout == "" and run("stats", env_extra=env).stdout.startswith(f"{tmp_path / 'idx'}: 2 articles")


def test_an_unknown_option_shows_its_commands_usage():
    out = run("ask", "--bogus", "crux?")
    assert out.returncode == 2
    assert out.stderr.startswith("usage: python -m rag ask ") and "unrecognized arguments: --bogus" in out.stderr


def test_ask_takes_k_and_the_retrieval_mode(tmp_path, corpus_copy):
    env = {"RAG_INDEX_DIR": str(tmp_path / "idx")}
    assert run("index", str(corpus_copy), env_extra=env).returncode == 0
    result = json.loads(run("ask", "--json", "-k", "2", "--retrieval", "bm25", "crux?", env_extra=env).stdout)
    assert len(result["hits"]) == 2 and all(h["dense_rank"] is None for h in result["hits"])
