"""The numbers of a report: the INT8 baseline, MACs per cycle, design entries, comparison rows, validation.

:func:`baseline_config` is the INT8 baseline of a configuration (a conventional INT8 SIMD datapath of the
same register width, the registry's baseline architecture ``mixlane.architectures.BASELINE``, precisions [8]); :func:`design_entry`, :func:`comparison_rows`
and :func:`mix_entry` turn the synthesis, timing and power results into the report's entries, and
:func:`validate_report` refuses a report with a missing or non-positive number (:data:`SCHEMA` names the
format).

Definitions (every report states them):

- **MACs/cycle** at precision ``p``: element products of one register pair whose metadata selects ``p``
  (:func:`mixlane.sim_tb.stimulus.meta_for_precision`; e.g. ``width / p`` in uniform mode), the peak rate at
  one operation per cycle.
- **MACs/cycle/mm^2**: MACs/cycle over the total mapped cell area (no wiring, no placement utilisation).
- **pJ/MAC**: total power x clock period / MACs per cycle actually done in the measured window (the workload
  puts a READ_LOAD, which does no MAC, every 16 operations), i.e. :func:`~mixlane.synth.power.measure_power`'s
  ``pj_per_mac``.
- **Ratios** are ``value / baseline value`` with the baseline at 8 bits: above 1 is better for MACs/cycle
  and MACs/cycle/mm^2, below 1 is better for energy per MAC and area.

Units: area in um^2 (``area_mm2`` in mm^2), power in W, energy in pJ, time in ns, frequency in MHz.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from .flow import BLOCK_GROUPS
from .tools import SynthError
from .workload import mix_label

__all__ = [
    "SCHEMA",
    "baseline_config",
    "macs_per_cycle",
    "elements_per_register",
    "same_config",
    "rel_path",
    "mix_entry",
    "design_entry",
    "comparison_rows",
    "validate_report",
]

SCHEMA = "mixlane-synth-report/1"


# ------------------------------------------------------------------------------------------- definitions
def baseline_config(cfg: Any) -> tuple[Any, list[str]]:
    """The INT8 baseline of ``cfg``: conventional 8x8 lanes at the same width (and its notes).

    Same ``width``, ``acc_width``, ``outputs``, ``overflow`` and operand signedness; ``precisions = [8]``,
    ``mac`` = :data:`mixlane.architectures.BASELINE`. When ``acc_width`` is too narrow for an 8-bit register
    sum it is raised to the minimum and a note says so.
    """
    from mixlane.architectures import BASELINE
    from mixlane.config import Config, ConfigError

    kw = dict(width=cfg.width, precisions=(8,), mac=BASELINE, acc_width=cfg.acc_width, outputs=cfg.outputs,
              overflow=cfg.overflow, activation_signed=cfg.activation_signed, weight_signed=cfg.weight_signed)
    try:
        return Config(**kw), []
    except ConfigError:
        need = Config(**{**kw, "acc_width": 64}).register_sum_width
        if need <= cfg.acc_width:
            raise
        base = Config(**{**kw, "acc_width": need})
        return base, [f"baseline acc_width raised from {cfg.acc_width} to {need}: an 8-bit register sum at width "
                      f"{cfg.width} needs {need} signed bits"]


def macs_per_cycle(cfg: Any, precision: int) -> int | float:
    """Sustained MACs per cycle of back-to-back ACCs at ``precision``: the element products of one register
    pair divided by the cycles the architecture takes for it (:func:`mixlane.golden.peak_macs_per_cycle`)."""
    from mixlane.golden import peak_macs_per_cycle

    if precision not in cfg.mode_precisions:
        raise SynthError(f"precision {precision} is not supported by this configuration "
                         f"({list(cfg.mode_precisions)})")
    rate = peak_macs_per_cycle(cfg, precision)
    return int(rate) if float(rate).is_integer() else rate


def elements_per_register(cfg: Any, precision: int) -> int:
    """Element products of one register pair whose metadata selects ``precision``."""
    from mixlane.golden import elements_at

    return elements_at(cfg, precision)


def same_config(a: Any, b: Any) -> bool:
    """Whether two configurations describe the same datapath (equal ``to_dict()``)."""
    return a.to_dict() == b.to_dict()


def rel_path(path: str | Path, root: Path) -> str:
    """``path`` relative to ``root`` as the report shows it (unchanged where no relative path exists)."""
    try:
        return os.path.relpath(Path(path).resolve(), root)
    except ValueError:
        return str(path)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def mix_entry(pw: dict[str, Any], cfg: dict[str, Any], base: dict[str, Any], out: Path) -> dict[str, Any]:
    """The precision-mix measurement: MACs per ACC (the mix's mean), per mm^2, pJ/MAC, ratios to INT8."""
    b8 = base["precisions"]["8"]
    rate = pw["macs_per_acc_cycle"]
    per_mm2 = rate / cfg["area_mm2"]
    return {
        "mix": pw["mix"], "label": mix_label(pw["mix"]), "macs_per_cycle": rate,
        "macs_per_cycle_per_mm2": per_mm2, "measured_macs_per_cycle": pw["macs_per_cycle"],
        "power_w": pw["total_w"], "internal_w": pw["internal_w"], "switching_w": pw["switching_w"],
        "leakage_w": pw["leakage_w"], "energy_per_cycle_pj": pw["energy_per_cycle_pj"],
        "pj_per_mac": pw["pj_per_mac"], "results_checked": pw["results_checked"],
        "ratio_macs_per_cycle": rate / b8["macs_per_cycle"],
        "ratio_macs_per_cycle_per_mm2": per_mm2 / b8["macs_per_cycle_per_mm2"],
        "ratio_energy_per_mac": pw["pj_per_mac"] / b8["pj_per_mac"],
        "work_dir": rel_path(Path(pw["files"]["sta_log"]).parent, out),
    }


def design_entry(role: str, c: Any, syn: dict[str, Any], tim: dict[str, Any], pows: dict[int, Any],
                  gate: dict[str, Any] | None, out: Path) -> dict[str, Any]:
    """``report["designs"][role]``: area, blocks, timing, per-precision power and MAC figures, files."""
    area_mm2 = syn["area_um2"] / 1e6
    precisions = {}
    for p, pw in sorted(pows.items()):
        peak = macs_per_cycle(c, p)
        if pw["elements_per_register"] != elements_per_register(c, p):
            raise SynthError(f"{role}: the power workload at {p} bit has {pw['elements_per_register']} elements "
                             f"per register, the configuration {elements_per_register(c, p)}")
        precisions[str(p)] = {
            "precision": p, "macs_per_cycle": peak, "macs_per_cycle_per_mm2": peak / area_mm2,
            "measured_macs_per_cycle": pw["macs_per_cycle"], "power_w": pw["total_w"],
            "internal_w": pw["internal_w"], "switching_w": pw["switching_w"], "leakage_w": pw["leakage_w"],
            "energy_per_cycle_pj": pw["energy_per_cycle_pj"], "pj_per_mac": pw["pj_per_mac"],
            "mean_activity": pw["mean_activity"], "annotated_fraction": pw["annotated_fraction"],
            "results_checked": pw["results_checked"], "zeros_applied": pw["zeros_applied"],
            "gated_lane_fraction": pw.get("gated_lane_fraction"),
            "vectorless_w": pw["vectorless"]["total_w"], "vectorless_activity": pw["vectorless"]["activity"],
            "seconds": pw["seconds"]["total"], "work_dir": rel_path(Path(pw["files"]["sta_log"]).parent, out),
        }
    return {
        "role": role, "name": c.name, "config_hash": c.content_hash, "config": c.to_dict(),
        "summary": c.architecture.describe(c),
        "area_um2": syn["area_um2"], "area_mm2": area_mm2, "sequential_area_um2": syn["sequential_area_um2"],
        "cells": syn["cells"], "transistors": syn["transistors"],
        "blocks": {g: {"label": b["label"], "area_um2": b["area_um2"], "cells": b["cells"],
                       "share": b["area_um2"] / syn["area_um2"]} for g, b in syn["blocks"].items()},
        "timing": {"critical_path_ns": tim["critical_path_ns"], "fmax_mhz": tim["fmax_mhz"],
                   "slack_ns": tim["slack_ns"], "met": tim["met"], "startpoint": tim["startpoint"],
                   "endpoint": tim["endpoint"], "log": rel_path(tim["log"], out)},
        "precisions": precisions,
        "gate_check": gate,
        "synthesis": {"seconds": syn["seconds"], "netlist": rel_path(syn["netlist"], out),
                      "adder_cell": syn.get("adder_cell"), "adder_cells": syn.get("adder_cells", 0),
                      "verilog": rel_path(syn["verilog"], out),
                      "logs": {k: rel_path(v, out) for k, v in syn["logs"].items()},
                      "scripts": [rel_path(Path(syn["netlist"]).parent / f"{k}.ys", out) for k in syn["logs"]],
                      "unattributed_cells": syn.get("unattributed_cells")},
        "work_dir": rel_path(out / role, out),
    }


def comparison_rows(cfg: dict[str, Any], base: dict[str, Any]) -> list[dict[str, Any]]:
    """``report["comparison"]``: one row per precision of the configuration, ratios to the baseline at 8 bits."""
    b = base["precisions"]["8"]
    rows = []
    for key, v in cfg["precisions"].items():
        rows.append({
            "precision": v["precision"],
            "macs_per_cycle": v["macs_per_cycle"], "baseline_macs_per_cycle": b["macs_per_cycle"],
            "macs_per_cycle_per_mm2": v["macs_per_cycle_per_mm2"],
            "baseline_macs_per_cycle_per_mm2": b["macs_per_cycle_per_mm2"],
            "pj_per_mac": v["pj_per_mac"], "baseline_pj_per_mac": b["pj_per_mac"],
            "ratio_macs_per_cycle": v["macs_per_cycle"] / b["macs_per_cycle"],
            "ratio_macs_per_cycle_per_mm2": v["macs_per_cycle_per_mm2"] / b["macs_per_cycle_per_mm2"],
            "ratio_energy_per_mac": v["pj_per_mac"] / b["pj_per_mac"],
            "ratio_area": cfg["area_um2"] / base["area_um2"],
            "ratio_fmax": cfg["timing"]["fmax_mhz"] / base["timing"]["fmax_mhz"],
        })
    return rows


def validate_report(report: dict[str, Any]) -> None:
    """Raise :class:`SynthError` if any number a report shows is missing, not finite or not positive."""
    problems = []
    for role in ("config", "baseline"):
        d = report.get("designs", {}).get(role)
        if d is None:
            problems.append(f"{role}: missing")
            continue
        for key in ("area_um2", "cells"):
            if not (_finite(d.get(key)) and d[key] > 0):
                problems.append(f"{role}.{key}={d.get(key)!r}")
        for g in BLOCK_GROUPS:
            a = d.get("blocks", {}).get(g, {}).get("area_um2")
            if not (_finite(a) and a >= 0):
                problems.append(f"{role}.blocks.{g}={a!r}")
        for key in ("critical_path_ns", "fmax_mhz"):
            v = d.get("timing", {}).get(key)
            if not (_finite(v) and v > 0):
                problems.append(f"{role}.timing.{key}={v!r}")
        if not d.get("precisions"):
            problems.append(f"{role}.precisions: none")
        for p, v in d.get("precisions", {}).items():
            for key in ("macs_per_cycle", "macs_per_cycle_per_mm2", "power_w", "pj_per_mac", "energy_per_cycle_pj"):
                if not (_finite(v.get(key)) and v[key] > 0):
                    problems.append(f"{role}.precisions[{p}].{key}={v.get(key)!r}")
    mix = report.get("mix")
    for key in ("macs_per_cycle", "macs_per_cycle_per_mm2", "power_w", "pj_per_mac", "ratio_energy_per_mac",
                "ratio_macs_per_cycle_per_mm2") if mix else ():
        if not (_finite(mix.get(key)) and mix[key] > 0):
            problems.append(f"mix.{key}={mix.get(key)!r}")
    if "8" not in report.get("designs", {}).get("baseline", {}).get("precisions", {}):
        problems.append("baseline has no 8-bit measurement")
    rows = report.get("comparison") or []
    if not rows:
        problems.append("comparison: no rows")
    for r in rows:
        for key, v in r.items():
            if not (_finite(v) and v > 0):
                problems.append(f"comparison[{r.get('precision')}].{key}={v!r}")
    if problems:
        raise SynthError(f"report incomplete, nothing written: {'; '.join(problems[:4])}")
