"""Writing and reading one run's report: ``report.json`` (every number), ``report.csv`` (one row per design x
precision) and ``report.md``.

:func:`write_reports` validates the report and writes the three files (all or none, :data:`REPORT_FILES`);
:func:`render_markdown` and :func:`csv_rows` are its Markdown and CSV views; :func:`load_report` reads a
``report.json`` back (checking its schema and numbers). The number formatting (:func:`format_number`,
:func:`format_ratio`) and :func:`md_table` are shared with :mod:`mixlane.synth.compare`.

Units in the files: area in um^2, power in W (mW/uW in the Markdown tables, as their headers say), energy in
pJ, time in ns, frequency in MHz; ratios are ``value / INT8 baseline value``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from pathlib import Path
from typing import Any

from .flow import BLOCK_GROUPS
from .metrics import SCHEMA, validate_report
from .tools import SynthError

__all__ = [
    "REPORT_FILES",
    "BLOCK_SHORT",
    "CSV_FIELDS",
    "format_number",
    "format_ratio",
    "md_table",
    "csv_rows",
    "render_markdown",
    "write_reports",
    "load_report",
]


REPORT_FILES = ("report.json", "report.csv", "report.md")


BLOCK_SHORT = {"precision_decoder": "decoder", "aligner": "aligner", "multipliers": "multipliers",
               "adder_tree": "adder tree", "accumulators": "accumulators", "control": "control"}


def format_number(v: Any, digits: int = 3) -> str:
    """A number as the report tables show it (``digits`` significant digits, thousands separated, ``-`` for None)."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.{max(0, digits - 1 - int(math.log10(abs(v))))}f}"
    return str(v)


def format_ratio(v: float) -> str:
    """A ratio as the report tables show it: ``1.23x``."""
    return f"{v:.2f}x"


_NUMERIC = re.compile(r"^\**[-+]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?(?:x|%)?\**$|^-$")


def md_table(head: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table; columns whose cells are all numbers (or ratios) are right-aligned."""
    align = []
    for i in range(len(head)):
        cells = [str(r[i]) for r in rows if i < len(r)]
        numeric = bool(cells) and all(_NUMERIC.match(c) for c in cells)
        align.append("---:" if numeric and i > 0 else "---")
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


CSV_FIELDS = (["role", "design", "config_hash", "summary", "width", "precision_mode", "mac", "precisions",
               "precision", "area_um2"] + [f"area_{g}_um2" for g in BLOCK_GROUPS]
              + ["cells", "critical_path_ns", "fmax_mhz", "timing_met", "clock_ns", "power_w", "internal_w",
                 "switching_w", "leakage_w", "energy_per_cycle_pj", "macs_per_cycle", "measured_macs_per_cycle",
                 "pj_per_mac", "macs_per_cycle_per_mm2", "baseline_hash", "ratio_macs_per_cycle",
                 "ratio_macs_per_cycle_per_mm2", "ratio_energy_per_mac", "ratio_area", "gate_check",
                 "library", "engine_version"])


def csv_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per design x precision (the baseline once, at 8 bits, unless it is the configuration)."""
    base = report["designs"]["baseline"]
    b8 = base["precisions"]["8"]
    rows = []
    roles = ["config"] if report["baseline_is_config"] else ["config", "baseline"]
    for role in roles:
        d = report["designs"][role]
        for key, v in d["precisions"].items():
            c = d["config"]
            gate = d.get("gate_check")
            rows.append({
                "role": "config+baseline" if report["baseline_is_config"] else role,
                "design": d["name"], "config_hash": d["config_hash"], "summary": d["summary"],
                "width": c["width"], "precision_mode": c["precision_mode"], "mac": c["mac"],
                "precisions": "/".join(map(str, c["precisions"])), "precision": v["precision"],
                "area_um2": d["area_um2"], **{f"area_{g}_um2": d["blocks"][g]["area_um2"] for g in BLOCK_GROUPS},
                "cells": d["cells"], "critical_path_ns": d["timing"]["critical_path_ns"],
                "fmax_mhz": d["timing"]["fmax_mhz"], "timing_met": d["timing"]["met"],
                "clock_ns": report["clock_ns"], "power_w": v["power_w"], "internal_w": v["internal_w"],
                "switching_w": v["switching_w"], "leakage_w": v["leakage_w"],
                "energy_per_cycle_pj": v["energy_per_cycle_pj"], "macs_per_cycle": v["macs_per_cycle"],
                "measured_macs_per_cycle": v["measured_macs_per_cycle"], "pj_per_mac": v["pj_per_mac"],
                "macs_per_cycle_per_mm2": v["macs_per_cycle_per_mm2"], "baseline_hash": base["config_hash"],
                "ratio_macs_per_cycle": v["macs_per_cycle"] / b8["macs_per_cycle"],
                "ratio_macs_per_cycle_per_mm2": v["macs_per_cycle_per_mm2"] / b8["macs_per_cycle_per_mm2"],
                "ratio_energy_per_mac": v["pj_per_mac"] / b8["pj_per_mac"],
                "ratio_area": d["area_um2"] / base["area_um2"],
                "gate_check": "" if gate is None else ("pass" if gate["passed"] else "FAIL"),
                "library": report["library"], "engine_version": report["engine_version"],
            })
    mix = report.get("mix")
    if mix:
        row = dict(rows[0])
        row.update({k: mix[k] for k in ("power_w", "internal_w", "switching_w", "leakage_w", "energy_per_cycle_pj",
                                        "macs_per_cycle", "measured_macs_per_cycle", "pj_per_mac",
                                        "macs_per_cycle_per_mm2", "ratio_macs_per_cycle",
                                        "ratio_macs_per_cycle_per_mm2", "ratio_energy_per_mac")})
        row["precision"] = f"mix {mix['label']}"
        rows.insert(len(report["designs"]["config"]["precisions"]), row)
    return rows


def _header_md(report: dict[str, Any]) -> list[str]:
    w = report["workload"]
    return [
        f"- engine: {_engine_short(report['engine_version'])}; {report['tools']['sta']}; "
        f"{report['tools']['iverilog']}",
        f"- library: `{report['library']}` ({report['liberty']}), cell models {report['cell_models']}",
        f"- clock for power: {report['clock_ns']:g} ns ({1000 / report['clock_ns']:.0f} MHz); Fmax from OpenSTA",
        "- full adders: " + (f"library cell `{report['adder_cell']}` (Yosys extract_fa), in both designs"
                             if report.get("adder_cell") else "gates mapped by ABC (no full-adder cell used)"),
        f"- workload per precision: {w['n_ops']} operations, {w['zero_fraction']:.0%} zero activations, "
        f"READ_LOAD every {w['read_every']}, window {w['window_cycles']} cycles after {w['warmup_cycles']} "
        f"warm-up, seed {w['seed']}, {w['simulation']}",
    ]


def _point(text: str | None) -> str:
    """``_3905_ (rising edge-triggered flip-flop clocked by clk)`` -> ``_3905_ (flip-flop)``."""
    if not text:
        return "-"
    name, _, what = text.partition(" (")
    kind = "flip-flop" if "flip-flop" in what else "input" if "input" in what else "output" if "output" in what else ""
    return f"{name} ({kind})" if kind else name


def _engine_short(version: str) -> str:
    return re.sub(r",\s*Release.*\)$", ")", version)


def render_markdown(report: dict[str, Any]) -> str:
    """``report.md`` of one run."""
    cfg, base = report["designs"]["config"], report["designs"]["baseline"]
    same = report["baseline_is_config"]
    lines = [f"# mixlane synthesis report: {cfg['name']}", "",
             f"- configuration: {cfg['summary']} (`{cfg['config_hash']}`)",
             f"- baseline: {base['summary']} (`{base['config_hash']}`)" + (" = the configuration" if same else ""),
             *_header_md(report)]
    if report.get("command"):
        lines.append(f"- command: `{report['command']}`")
    lines += ["", "## Against the INT8 baseline", "",
              "Ratio = configuration / baseline at 8 bits. Higher is better for MACs/cycle and MACs/cycle/mm^2, "
              "lower for pJ/MAC.", ""]
    rows = []
    for r in report["comparison"]:
        rows.append([f"{r['precision']} bit", r["macs_per_cycle"], format_ratio(r["ratio_macs_per_cycle"]),
                     format_number(r["macs_per_cycle_per_mm2"], 4), format_ratio(r["ratio_macs_per_cycle_per_mm2"]),
                     format_number(r["pj_per_mac"], 4), format_ratio(r["ratio_energy_per_mac"])])
    mix = report.get("mix")
    if mix:
        rows.append([f"mix {mix['label']}", format_number(mix["macs_per_cycle"], 4), format_ratio(mix["ratio_macs_per_cycle"]),
                     format_number(mix["macs_per_cycle_per_mm2"], 4), format_ratio(mix["ratio_macs_per_cycle_per_mm2"]),
                     format_number(mix["pj_per_mac"], 4), format_ratio(mix["ratio_energy_per_mac"])])
    b8 = base["precisions"]["8"]
    rows.append(["baseline, 8 bit", b8["macs_per_cycle"], "1.00x", format_number(b8["macs_per_cycle_per_mm2"], 4), "1.00x",
                 format_number(b8["pj_per_mac"], 4), "1.00x"])
    lines.append(md_table(["precision", "MACs/cycle", "ratio", "MACs/cycle/mm^2", "ratio", "pJ/MAC", "ratio"], rows))
    if mix:
        lines += ["", f"Mix row: precisions drawn as `{mix['label']}` (precision:fraction; per operation in "
                  f"`uniform`/`pattern` mode, per lane in `channel` mode, per element in `element` mode); "
                  f"MACs/cycle is the mean of the workload's ACC operations."]
    lines += ["", "## Area per block (um^2)", ""]
    rows = []
    for g in BLOCK_GROUPS:
        a, b = cfg["blocks"][g]["area_um2"], base["blocks"][g]["area_um2"]
        rows.append([BLOCK_SHORT[g], format_number(a), f"{cfg['blocks'][g]['share']:.1%}", format_number(b),
                     format_ratio(a / b) if b > 0 else "-"])
    rows.append(["**total**", f"**{format_number(cfg['area_um2'])}**", "100%", f"**{format_number(base['area_um2'])}**",
                 f"**{format_ratio(cfg['area_um2'] / base['area_um2'])}**"])
    lines.append(md_table(["block", "configuration", "share", "baseline", "ratio"], rows))
    cells = f"Cells: {cfg['cells']:,} (baseline {base['cells']:,})."
    if cfg.get("transistors") and base.get("transistors"):
        cells += (f" Transistor estimate (Yosys `stat -tech cmos`): {cfg['transistors']:,} "
                  f"(baseline {base['transistors']:,}).")
    lines += ["", cells, "", "## Timing", ""]
    rows = []
    for label, d in (("configuration", cfg), ("baseline", base)):
        t = d["timing"]
        rows.append([label, format_number(t["critical_path_ns"], 4), format_number(t["fmax_mhz"], 4), format_number(t["slack_ns"], 4),
                     "yes" if t["met"] else "**no**", f"{_point(t['startpoint'])} -> {_point(t['endpoint'])}"])
    lines.append(md_table(["design", "critical path ns", "Fmax MHz", f"slack at {report['clock_ns']:g} ns",
                            "met", "path"], rows))
    lines += ["", "## Power (simulated switching activity)", ""]
    rows = []
    for label, d in (("configuration", cfg),) + ((("baseline", base),) if not same else ()):
        for key, v in d["precisions"].items():
            rows.append([label, f"{v['precision']} bit", format_number(v["power_w"] * 1e3, 4), format_number(v["internal_w"] * 1e3, 4),
                         format_number(v["switching_w"] * 1e3, 4), format_number(v["leakage_w"] * 1e6, 4),
                         format_number(v["energy_per_cycle_pj"], 4), format_number(v["measured_macs_per_cycle"], 4),
                         format_number(v["pj_per_mac"], 4), format_number(v["mean_activity"], 3)])
    lines.append(md_table(["design", "precision", "total mW", "internal mW", "switching mW", "leakage uW",
                            "pJ/cycle", "MACs/cycle (window)", "pJ/MAC", "mean activity"], rows))
    lines += ["", "## Gate-level check", ""]
    if report["gate_check"] is None:
        lines.append("Not run (`--gate-check` runs the cocotb regression on the mapped netlists with the cell "
                     "models). The power simulations above already check every result of their workloads "
                     "against the golden model.")
    else:
        rows = []
        for label, d in (("configuration", cfg),) + ((("baseline", base),) if not same else ()):
            g = d["gate_check"]
            rows.append([label, "PASS" if g["passed"] else "**FAIL**", g["checked_results"], g["lane_macs"],
                         ", ".join(g["scenarios"]), f"`{g['command']}`"])
        lines.append(md_table(["netlist", "result", "results checked", "lane-MACs", "scenarios",
                                "command (from this folder)"], rows))
    if report["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report["notes"]]
    lines += ["", "## Files and run time", ""]
    rows = []
    for label, d in (("configuration", cfg),) + ((("baseline", base),) if not same else ()):
        s = d["synthesis"]
        rows.append([label, f"`{d['work_dir']}/`", f"`{s['netlist']}`", format_number(s["seconds"]["total"], 3),
                     format_number(sum(v["seconds"] for v in d["precisions"].values()), 3)])
    lines.append(md_table(["design", "work folder", "netlist", "synthesis s", "power s"], rows))
    lines += ["", f"Total {report['seconds']['total']:.1f} s. Written by mixlane {report['mixlane_version']} at "
              f"{report['created']}. All numbers: `report.json`; one row per design and precision: `report.csv`.", ""]
    return "\n".join(lines)


def write_reports(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Validate, then write ``report.json``, ``report.csv`` and ``report.md`` (all or none)."""
    validate_report(report)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(report):
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    texts = {"report.json": json.dumps(report, indent=2) + "\n", "report.csv": buf.getvalue(),
             "report.md": render_markdown(report)}
    tmp = {name: out / f".{name}.tmp" for name in texts}
    for name, text in texts.items():
        tmp[name].write_text(text)
    paths = []
    for name in texts:
        os.replace(tmp[name], out / name)
        paths.append(out / name)
    return paths


def load_report(path: str | Path) -> dict[str, Any]:
    """Read ``DIR/report.json`` (or a report.json path); :class:`SynthError` for a missing or foreign file."""
    p = Path(path)
    f = p / "report.json" if p.is_dir() else p
    if not f.is_file():
        if p.is_dir():
            raise SynthError(f"{p}: no report.json (write one with `mixlane synth ... -o {p}`)")
        raise SynthError(f"{p}: not found; pass a folder written by `mixlane synth`")
    try:
        report = json.loads(f.read_text())
    except json.JSONDecodeError as exc:
        raise SynthError(f"{f}: not valid JSON ({exc})") from None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise SynthError(f"{f}: not a mixlane synth report (schema {report.get('schema') if isinstance(report, dict) else None!r}, "
                         f"expected {SCHEMA!r})")
    validate_report(report)
    report["_source"] = str(f.parent)
    return report
