"""Keeps the architecture honest: stage order of imports, a cheap `import rag`, the README's commands."""

from __future__ import annotations

import ast
import subprocess
import sys

from .conftest import ROOT

LEAVES = {"schema", "settings", "errors"}
# Flow order; a module may import leaves and modules earlier in this list.
STAGES = ["load", "clean", "chunk", "embed", "index", "retrieve", "answer", "generate", "render", "pipeline", "cli"]


def _stage(module: str) -> str:
    return module.split(".")[0]


def _rag_imports(path):
    tree = ast.parse(path.read_text())
    package = path.relative_to(ROOT / "rag").with_suffix("").parts
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = list(package[: len(package) - node.level])
            target = ".".join(base + ([node.module] if node.module else []))
            yield target or (node.names[0].name)


def test_modules_import_only_leaves_and_earlier_stages():
    for path in sorted((ROOT / "rag").rglob("*.py")):
        rel = path.relative_to(ROOT / "rag").with_suffix("")
        me = rel.parts[0]
        if me in ("__init__", "__main__"):
            continue
        for target in _rag_imports(path):
            stage = _stage(target)
            if me in LEAVES:
                assert stage in LEAVES and stage != me or stage == me, f"leaf {me} imports {target}"
                continue
            if stage in LEAVES or stage == me:
                continue
            assert STAGES.index(stage) < STAGES.index(me), f"{rel} imports later stage {target}"


def test_import_rag_is_cheap_and_silent():
    code = "import sys, rag; heavy = {'torch', 'faiss', 'sentence_transformers', 'bm25s', 'gradio', 'tiktoken', 'onnxruntime', 'pymilvus', 'tokenizers'}; print(sorted(heavy & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "[]" and out.stderr == ""


def test_readme_commands_are_the_ci_commands():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = next(line for line in readme.splitlines() if line.startswith("pip install -r requirements.txt && python -m pytest"))
    app_cmd = next(line for line in readme.splitlines() if line.startswith("pip install -r requirements.txt && python app.py"))
    assert test_cmd in ci and app_cmd
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            assert line.split("==")[0].split(">=")[0].strip().lower() in readme.lower(), f"README does not explain {line}"
