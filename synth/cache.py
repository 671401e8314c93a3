"""The baseline cache: reuse an INT8 baseline's synthesis, timing and power from an identical earlier run.

A baseline depends only on its inputs, so ``mixlane synth`` keys it by :func:`baseline_cache_key` (SHA-256 over
the generated Verilog, the liberty and cell models, clock, tool versions, power workload, report schema and the
code and scripts of :mod:`mixlane.synth` itself, every file of the package: :func:`code_digests`) and keeps it
under :func:`default_cache_dir` ``/baselines/<key>/``: the work folder (without VCDs and simulator images) and
the results with their paths made relative. Storing is atomic and best effort.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from .metrics import SCHEMA

__all__ = [
    "default_cache_dir",
    "code_digests",
    "baseline_cache_key",
    "load_cached_baseline",
    "store_cached_baseline",
]


_CACHE_SKIP = (".vcd", ".vvp")     # large and re-creatable; everything else of the work folder is kept
_CACHE_ROOT = "@BASELINE_DIR@"


def _file_digest(path: str | Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_cache_dir() -> Path:
    """``$MIXLANE_CACHE``, else ``$XDG_CACHE_HOME/mixlane``, else ``~/.cache/mixlane``."""
    if os.environ.get("MIXLANE_CACHE"):
        return Path(os.environ["MIXLANE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mixlane"


def code_digests() -> dict[str, str]:
    """SHA-256 of every code and script file of :mod:`mixlane.synth` (this module's folder and below: every
    ``.py`` module, new ones included, and the ``synth/scripts/`` templates), by path relative to the folder."""
    here = Path(__file__).parent
    return {str(p.relative_to(here)): _file_digest(p)
            for p in sorted(here.rglob("*")) if p.is_file() and p.suffix in (".py", ".ys", ".tcl", ".v", ".constr")}


def baseline_cache_key(verilog: str | Path, *, liberty: Path, cell_models: Path, clock_ns: float,
                       tools: dict[str, str], transistors: bool, workload: dict[str, Any],
                       adder_cells: bool = True) -> str:
    """SHA-256 over everything a baseline measurement depends on: the generated Verilog, the liberty and
    cell-model files, clock, tool versions, power workload, and the measuring code and scripts themselves
    (``mixlane.synth``), so that a change in any of them measures again."""
    import hashlib

    code = code_digests()
    blob = json.dumps({"verilog": _file_digest(verilog), "liberty": _file_digest(liberty),
                       "cell_models": _file_digest(cell_models), "clock_ns": float(clock_ns), "tools": tools,
                       "transistors": bool(transistors), "adder_cells": bool(adder_cells), "workload": workload,
                       "code": code,
                       "schema": SCHEMA}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def load_cached_baseline(cache_dir: Path, key: str, work: Path) -> dict[str, Any] | None:
    """Copy a cached baseline work folder to ``work``; its results with paths pointing there, or ``None``."""
    entry = cache_dir / "baselines" / key
    try:
        text = (entry / "results.json").read_text()
    except OSError:
        return None
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(entry / "work", work)
    res = json.loads(text.replace(_CACHE_ROOT, json.dumps(str(work))[1:-1]))
    res["power"] = {int(p): v for p, v in res["power"].items()}     # JSON keys are strings
    return res


def store_cached_baseline(cache_dir: Path, key: str, work: Path, results: dict[str, Any]) -> None:
    """Store ``work`` (without VCDs and simulator images) and ``results`` under ``key``; atomic, best effort:
    a cache that cannot be written never fails the run."""
    entry = cache_dir / "baselines" / key
    tmp = cache_dir / "baselines" / f".{key}.{os.getpid()}.tmp"
    try:
        if entry.exists():
            return
        tmp.mkdir(parents=True, exist_ok=True)
        shutil.copytree(work, tmp / "work", ignore=lambda d, names: [n for n in names if n.endswith(_CACHE_SKIP)])
        text = json.dumps(results, default=str, sort_keys=True)
        (tmp / "results.json").write_text(text.replace(json.dumps(str(work))[1:-1], _CACHE_ROOT))
        tmp.rename(entry)
    except OSError:
        pass
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
