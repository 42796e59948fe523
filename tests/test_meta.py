"""Keeps the architecture honest: stage order of imports, a cheap `import rag`, the README's commands."""

from __future__ import annotations

import ast
import subprocess
import sys

from .conftest import ROOT

LEAVES = {"schema", "settings", "errors", "text"}
# Flow order; a module may import leaves and modules earlier in this list.
STAGES = ["fetch", "load", "clean", "chunk", "embed", "index", "ingest", "retrieve", "generate", "answer", "render", "pipeline",
          "cli"]


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
    test_cmd = next(line for line in readme.splitlines() if line.startswith("pip install -r requirements.txt && ruff check . && mypy && python -m pytest"))
    app_cmd = next(line for line in readme.splitlines() if line.startswith("pip install -r requirements.txt && python app.py"))
    assert test_cmd in ci and app_cmd
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            assert line.split("==")[0].split(">=")[0].strip().lower() in readme.lower(), f"README does not explain {line}"


def _absolute_rag_imports(path):
    """(module, names) of every `from rag... import` / `import rag...` in a file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "rag":
            yield node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "rag":
                    yield alias.name, []


# The speed benchmark measures the stages themselves (embedding backends, FAISS index types, synthetic
# indexes written in the on-disk format), so it alone may reach past the public names.
SHELLS = [ROOT / "app.py", *sorted(p for p in (ROOT / "eval").glob("*.py"))]


def test_app_and_eval_use_only_the_public_names():
    import rag
    import rag.render

    PUBLIC = {"rag": rag, "rag.render": rag.render}

    for path in SHELLS:
        for module, names in _absolute_rag_imports(path):
            where = path.relative_to(ROOT)
            assert module in PUBLIC, f"{where} imports the internal module {module}"
            public = PUBLIC[module].__all__
            assert set(names) <= set(public), f"{where} imports {set(names) - set(public)} from {module}"
    assert all(hasattr(module, name) for module in PUBLIC.values() for name in module.__all__)


def test_the_public_api_is_small():
    """The entry points, the result types, Settings, the error base and two choice lists: nothing a shell
    needs only to pass the test above."""
    import rag

    entry = {"ask", "ask_stream", "index_articles", "open_rag", "RAG"}
    results = {"Answer", "Article", "Chunk", "Citation", "Hit", "IndexReport", "IndexStats", "ShortAnswer", "Turn"}
    assert set(rag.__all__) == entry | results | {"Settings", "AppSettings", "RagError", "RETRIEVAL_MODES", "SUPPORTED_SUFFIXES"}
    answer = rag.Answer.__dataclass_fields__
    assert {"text", "citations", "refused", "short"} <= set(answer)


def test_editable_install_lets_scripts_outside_the_repo_import_rag(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(ROOT)]
    done = subprocess.run(install, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = subprocess.run([str(python), "-c", "import rag; print(rag.__file__)"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert out.stdout.strip() == str(ROOT / "rag" / "__init__.py"), out.stderr
    out = subprocess.run([str(venv / "bin" / "news-qa"), "ask", "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert out.returncode == 0 and "question" in out.stdout
    assert not list(ROOT.glob("*.egg-info"))  # the install leaves nothing in the checkout


def test_retrieval_modes_are_spelled_once_per_layer():
    """The settings' choices and the retrievers' modes name the same modes, and every mode's retrievers exist."""
    from rag.retrieve.retrievers import MODES, RETRIEVERS
    from rag.settings import RETRIEVAL_MODES

    assert set(MODES) == set(RETRIEVAL_MODES) and all(set(names) <= set(RETRIEVERS) for names in MODES.values())


def test_the_architecture_table_names_every_module_and_only_those():
    """docs/architecture.md's module table matches the tree: each folder and each top-level module has its
    row, each module inside a folder is named in that folder's row, and nothing named is missing."""
    import re

    rows = {}
    for line in (ROOT / "docs" / "architecture.md").read_text().splitlines():
        cells = line.split(" | ")
        if line.startswith("| `") and len(cells) >= 2:
            for name in re.findall(r"`([\w/]+(?:\.py)?)`", cells[0]):
                rows[name] = line
    leaves = next(line for line in (ROOT / "docs" / "architecture.md").read_text().splitlines() if line.startswith("| leaves |"))
    for path in sorted((ROOT / "rag").rglob("*.py")):
        rel = path.relative_to(ROOT / "rag")
        if len(rel.parts) == 1:
            assert rel.name in rows or f"`{rel.name}`" in leaves or rel.name == "__init__.py", f"no row for rag/{rel}"
        elif rel.name != "__init__.py":
            folder = f"{rel.parts[0]}/"
            assert folder in rows, f"no row for rag/{folder}"
            assert f"`{rel.name}`" in rows[folder], f"rag/{folder} row does not name {rel.name}"
    for name, line in rows.items():
        assert (ROOT / "rag" / name).exists(), f"the table names rag/{name}, which is not there"
        if name.endswith("/"):
            for module in re.findall(r"`(\w+\.py)`", line):
                assert (ROOT / "rag" / name / module).exists(), f"the {name} row names {module}, not in rag/{name}"


def test_the_readme_layout_table_names_every_top_level_module():
    import re

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| `rag/` | stage |") :].split("\n\n")[0]
    named = set(re.findall(r"`([\w]+/|[\w]+\.py)`", table)) - {"rag/"}
    tree = {p.name + ("/" if p.is_dir() else "") for p in (ROOT / "rag").iterdir()
            if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))}
    assert named == tree


def test_settings_are_four_frozen_groups_and_each_stage_names_its_own():
    """`Settings` is the four groups in one value: each field in exactly one group, every group frozen, and
    the stages' code typed with the group it reads (mypy then holds each stage to its fields)."""
    import dataclasses

    from rag.settings import AnswerSettings, IndexSettings, LLMSettings, RetrievalSettings, Settings

    groups = (IndexSettings, RetrievalSettings, AnswerSettings, LLMSettings)
    names = [f.name for g in groups for f in dataclasses.fields(g)]
    assert sorted(names) == sorted(f.name for f in dataclasses.fields(Settings)) and len(names) == len(set(names))
    assert all(g.__dataclass_params__.frozen for g in groups) and all(isinstance(Settings(), g) for g in groups)
    typed = {"retrieve/__init__.py": "RetrievalSettings", "retrieve/dates.py": "RetrievalSettings",
             "answer/extractive.py": "AnswerSettings", "answer/reader.py": "AnswerSettings",
             "answer/overview.py": "AnswerSettings", "index/vectors.py": "IndexSettings"}
    for path, group in typed.items():
        text = (ROOT / "rag" / path).read_text()
        assert f"settings: {group}" in text and "settings: Settings" not in text, path
