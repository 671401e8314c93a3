"""Liberty files: locating them, reading their cells, and the activity copy the power measurement runs on.

- :func:`liberty_path` (default :data:`~mixlane.synth.tools.DEFAULT_LIBERTY`, one-line error naming the package)
  and :func:`cell_models_path` (the Verilog models of the liberty's cells, for gate-level simulation).
- :func:`liberty_cells` (one parse per file version), :func:`eval_liberty_function`, :func:`find_full_adder`
  and :func:`find_buffer`: the cells the synthesis flow maps full adders to and drives block inputs with.
- :func:`activity_liberty`: the rewritten liberty for ``synth/scripts/sta_power_activity.tcl`` (identity output
  functions, internal power on one documented model; see :mod:`mixlane.synth.power`).

Units are the liberty's own (the OSU 0.18 um library: area in um^2, energy tables in its energy unit); nothing
here converts them. ``.gz`` files are read directly.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import re
from pathlib import Path
from typing import Any

from .tools import DEFAULT_CELL_MODELS, DEFAULT_LIBERTY, LIBERTY_PACKAGE, SynthError

__all__ = [
    "liberty_path",
    "liberty_name",
    "eval_liberty_function",
    "liberty_cells",
    "find_full_adder",
    "find_buffer",
    "activity_liberty",
    "cell_models_path",
]


def liberty_path(liberty: str | Path | None) -> Path:
    """The liberty file to use (``None``: :data:`~mixlane.synth.tools.DEFAULT_LIBERTY`); one-line error if missing."""
    path = Path(liberty) if liberty is not None else DEFAULT_LIBERTY
    if not path.is_file():
        raise SynthError(f"liberty file {str(path)!r} not found; install the Debian package {LIBERTY_PACKAGE} "
                         f"(apt-get install {LIBERTY_PACKAGE}) or pass liberty=<existing .lib/.lib.gz>")
    return path


def liberty_name(path: Path) -> str:
    """The ``library (...)`` name of a liberty file (its file name if none is found)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", errors="replace") as fh:
        m = re.search(r"^\s*library\s*\(\s*\"?([\w.-]+)\"?\s*\)", fh.read(1 << 16), re.M)
    return m.group(1) if m else path.name


# ------------------------------------------------------------------------------------------ cells
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


# ---------------------------------------------------------------------------------------------- liberty
_LIB_TOKEN = re.compile(r'(\w+)\s*\(([^(){}]*)\)\s*\{|(\})|(\w+)\s*:\s*("[^"]*"|[^;{}"]+?)\s*;|\bvalues\s*\(')
_END_VALUES = re.compile(r"\)\s*;")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _liberty_tree(lines: list[str]) -> dict[str, Any]:
    """Group structure of a liberty file: kind, argument, attributes (value, line), children, values spans."""
    root = {"kind": "", "arg": "", "line": -1, "attrs": {}, "children": [], "values": []}
    stack = [root]
    in_values = None
    in_comment = False
    for i, line in enumerate(lines):
        code = line
        if in_comment:
            k = code.find("*/")
            if k < 0:
                continue
            code, in_comment = code[k + 2:], False
        code = re.sub(r"/\*.*?\*/", "", code)
        k = code.find("/*")
        if k >= 0:
            code, in_comment = code[:k], True
        pos = 0
        if in_values is not None:
            m = _END_VALUES.search(code)
            if not m:
                continue
            in_values["end"], in_values, pos = i, None, m.end()
        while True:
            m = _LIB_TOKEN.search(code, pos)
            if not m:
                break
            pos = m.end()
            if m.group(1):
                group = {"kind": m.group(1), "arg": m.group(2).strip().strip('"'), "line": i, "attrs": {},
                         "children": [], "values": []}
                stack[-1]["children"].append(group)
                stack.append(group)
            elif m.group(3):
                if len(stack) > 1:
                    stack.pop()
            elif m.group(4):
                stack[-1]["attrs"][m.group(4)] = (m.group(5).strip().strip('"'), i)
            else:
                span = {"start": i, "end": i}
                stack[-1]["values"].append(span)
                e = _END_VALUES.search(code, pos)
                if e:
                    pos = e.end()
                else:
                    in_values = span
                    break
    return root


def _groups(group: dict[str, Any], kind: str):
    for child in group["children"]:
        if child["kind"] == kind:
            yield child
        yield from _groups(child, kind)


def _table_lines(group: dict[str, Any]):
    for span in group["values"]:
        yield from range(span["start"], span["end"] + 1)
    for child in group["children"]:
        yield from _table_lines(child)


def activity_liberty(src: str | Path, dst: str | Path) -> dict[str, int]:
    """Write the liberty copy the activity script runs on (``.gz`` sources read too); returns counts.

    Two changes, nothing else (timing arcs, capacitances, leakage and table indices are untouched):

    1. Every output pin's ``function`` becomes the pin itself (added where missing), so that OpenSTA's
       activity propagation copies each output's annotated activity instead of recomputing it from the
       cell's inputs (this OpenSTA build overwrites annotations otherwise; see the module docstring).
    2. Internal-power tables are rescaled so that an output transition costs the mean of the rise and fall
       energies averaged over the pin's input arcs (weights summing to 1), and an input-pin (passive)
       transition the mean of its rise and fall energies: current OpenSTA's model with equal arc weights.
       This build sums rise and fall energies times a per-arc duty: with identity functions 0.5 per arc
       (1 for clock-related arcs and clock pins, the condition's probability for ``when`` groups), so an
       output arc is scaled by ``0.5 / duty / n`` (``n`` related-pin sets of the pin, per supply pin) and a
       passive input table by ``0.5 / duty``. (With the original functions this build infers the arc duties
       from the function's syntax tree, unnormalised: about twice the energy of current OpenSTA.)
    """
    src, dst = Path(src), Path(dst)
    opener = gzip.open if src.name.endswith(".gz") else open
    with opener(src, "rt", errors="replace") as fh:
        lines = fh.read().splitlines(keepends=True)
    root = _liberty_tree(lines)
    replace: dict[int, str] = {}
    insert: dict[int, str] = {}
    scale: dict[int, float] = {}
    counts = {"cells": 0, "functions": 0, "functions_added": 0, "tables_scaled": 0}
    for cell in _groups(root, "cell"):
        counts["cells"] += 1
        pins = list(_groups(cell, "pin"))
        clocks = {p["arg"] for p in pins if p["attrs"].get("clock", ("",))[0] == "true"}
        for pin in pins:
            name = pin["arg"]
            output = pin["attrs"].get("direction", ("",))[0] in ("output", "inout")
            if output:
                if "function" in pin["attrs"]:
                    k = pin["attrs"]["function"][1]
                    replace[k] = re.sub(r'(\bfunction\s*:\s*)"[^"]*"', lambda m, n=name: f'{m.group(1)}"{n}"',
                                        lines[k], count=1)
                    counts["functions"] += 1
                else:
                    insert[pin["line"]] = f'    function : "{name}";\n'
                    counts["functions_added"] += 1
            powers = [g for g in pin["children"] if g["kind"] == "internal_power"]
            factors = []
            if output:
                related = [g for g in powers if "related_pin" in g["attrs"]]
                sets: dict[str, set] = {}
                for g in related:
                    pg = g["attrs"].get("related_pg_pin", ("",))[0]
                    sets.setdefault(pg, set()).add(" ".join(sorted(g["attrs"]["related_pin"][0].split())))
                for g in related:
                    n = len(sets[g["attrs"].get("related_pg_pin", ("",))[0]])
                    rel = g["attrs"]["related_pin"][0].split()
                    if "when" in g["attrs"] or (rel and all(r in clocks for r in rel)):
                        factors.append((g, 0.5 / n))
                    else:
                        factors.append((g, 1.0 / n))
            else:
                for g in powers:
                    if "related_pin" in g["attrs"]:
                        continue
                    factors.append((g, 0.5 if ("when" in g["attrs"] or name in clocks) else 1.0))
            for g, f in factors:
                if f != 1.0:
                    counts["tables_scaled"] += 1
                    for k in _table_lines(g):
                        scale[k] = f
    out = []
    for k, line in enumerate(lines):
        line = replace.get(k, line)
        if k in scale:
            f = scale[k]
            line = re.sub(r'"([^"]*)"', lambda q, f=f: '"' + _NUMBER.sub(
                lambda n: f"{float(n.group()) * f:.6g}", q.group(1)) + '"', line)
        out.append(line)
        if k in insert:
            out.append(insert[k])
    dst.write_text("".join(out))
    return counts


# ------------------------------------------------------------------------------------------- cell models
def cell_models_path(liberty: str | Path | None, cell_models: str | Path | None) -> Path:
    """The Verilog cell models for ``liberty``: ``cell_models`` if given, the OSU models for the default liberty,
    else ``<liberty stem>.v`` beside it; one-line error if missing."""
    if cell_models is not None:
        path = Path(cell_models)
        if not path.is_file():
            raise SynthError(f"cell_models {str(path)!r} not found; pass the Verilog models of the liberty's cells")
        return path
    lib = Path(liberty) if liberty is not None else DEFAULT_LIBERTY
    if lib.resolve() == DEFAULT_LIBERTY.resolve() or liberty is None:
        if not DEFAULT_CELL_MODELS.is_file():
            raise SynthError(f"cell models {DEFAULT_CELL_MODELS} not found; install the Debian package "
                             f"qflow-tech-osu018 or pass cell_models=<models .v>")
        return DEFAULT_CELL_MODELS
    stem = lib.name[:-3] if lib.name.endswith(".gz") else lib.name
    guess = lib.with_name(Path(stem).stem + ".v")
    if guess.is_file():
        return guess
    raise SynthError(f"cell_models: no Verilog models known for liberty {lib.name}; pass cell_models=<models .v>")
