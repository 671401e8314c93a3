"""``mixlane report``: compare several runs of ``mixlane synth``.

:func:`compare_reports` reads several ``report.json`` files and writes ``report.md`` and ``report.html`` (one
self-contained page, PNGs embedded) with matplotlib plots (PNG and SVG): area per block, MACs/cycle/mm^2 and
pJ/MAC per precision against the INT8 baseline. Baselines shared by several runs (same configuration,
library, clock and numbers) are drawn once; notes say when runs are not directly comparable.

Units: area in um^2 (mm^2 in the plots), power in mW/uW as the table headers say, energy in pJ, time in ns,
frequency in MHz; ratios are ``value / INT8 baseline value``.
"""

from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path
from typing import Any, Callable

from .flow import BLOCK_GROUPS
from .render import BLOCK_SHORT, format_number, format_ratio, load_report, md_table
from .tools import SynthError

__all__ = [
    "compare_reports",
]


def _labels(reports: list[dict[str, Any]]) -> list[str]:
    names = [Path(r["_source"]).name or r["designs"]["config"]["name"] for r in reports]
    if len(set(names)) < len(names):
        names = [f"{n} ({i + 1})" for i, n in enumerate(names)]
    return names


def _baselines(reports: list[dict[str, Any]], labels: list[str]) -> list[dict[str, Any]]:
    """Distinct baselines (same configuration, library, clock and numbers counted once)."""
    seen: dict[tuple, dict[str, Any]] = {}
    for r, lab in zip(reports, labels):
        b = r["designs"]["baseline"]
        key = (b["config_hash"], r["library"], r["clock_ns"], r["engine_version"], round(b["area_um2"], 3),
               round(b["precisions"]["8"]["pj_per_mac"], 9))
        if key not in seen:
            seen[key] = {"design": b, "report": r, "runs": [lab]}
        else:
            seen[key]["runs"].append(lab)
    out = list(seen.values())
    for i, e in enumerate(out):
        w = e["design"]["config"]["width"]
        e["label"] = f"INT8 baseline w{w}" + (f" #{i + 1}" if sum(x["design"]["config"]["width"] == w
                                                                   for x in out) > 1 else "")
    return out


def _plots(reports: list[dict[str, Any]], labels: list[str], bases: list[dict[str, Any]], out: Path) -> list[str]:
    try:
        import matplotlib
    except ImportError:
        raise SynthError("matplotlib is not installed; install the PyPI package (pip install 'matplotlib>=3.8')") \
            from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "mixlane", "font.size": 9})
    written = []
    colors = plt.get_cmap("tab10").colors

    def save(fig, stem: str) -> None:
        fig.tight_layout()
        for ext in ("png", "svg"):
            kw = {"dpi": 120} if ext == "png" else {"metadata": {"Date": None}}
            fig.savefig(out / f"{stem}.{ext}", **kw)
            written.append(f"{stem}.{ext}")
        plt.close(fig)

    # 1. stacked area per block
    bars = [(lab, r["designs"]["config"]) for lab, r in zip(labels, reports)] + [(b["label"], b["design"])
                                                                                  for b in bases]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(bars) + 2.5), 4.2))
    bottom = [0.0] * len(bars)
    x = list(range(len(bars)))
    for k, g in enumerate(BLOCK_GROUPS):
        vals = [d["blocks"][g]["area_um2"] / 1e6 for _, d in bars]
        ax.bar(x, vals, bottom=bottom, color=colors[k % 10], label=BLOCK_SHORT[g], width=0.6)
        bottom = [a + b for a, b in zip(bottom, vals)]
    for i, (_, d) in enumerate(bars):
        ax.text(i, bottom[i], f"{d['area_mm2']:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [lab for lab, _ in bars], rotation=20, ha="right")
    ax.set_ylabel("cell area (mm$^2$)")
    ax.set_title(f"Area per block ({reports[0]['library']})")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(0, max(bottom) * 1.12)
    save(fig, "area_breakdown")

    # 2./3. per precision against the baseline
    precs = sorted({int(p) for r in reports for p in r["designs"]["config"]["precisions"]} | {8})
    for stem, key, ylabel, title, ratio_key in (
            ("macs_per_mm2", "macs_per_cycle_per_mm2", "MACs/cycle/mm$^2$", "Throughput density per precision",
             "ratio_macs_per_cycle_per_mm2"),
            ("pj_per_mac", "pj_per_mac", "pJ/MAC", "Energy per MAC per precision", "ratio_energy_per_mac")):
        fig, ax = plt.subplots(figsize=(max(5.5, 1.3 * len(precs) * max(1, len(reports)) / 2 + 3), 4.2))
        n = len(reports) + len(bases)   # one slot per run, then one per baseline (drawn at 8 bit only)
        width = 0.8 / max(1, n)
        values = []
        for i, (r, lab) in enumerate(zip(reports, labels)):
            xs, ys, ratios = [], [], []
            for row in r["comparison"]:
                xs.append(precs.index(row["precision"]) - 0.4 + width * (i + 0.5))
                ys.append(row[key])
                ratios.append(row[ratio_key])
            values += ys
            ax.bar(xs, ys, width=width * 0.95, color=colors[i % 10], label=lab)
            for xx, yy, rr in zip(xs, ys, ratios):
                ax.text(xx, yy, f"{rr:.2f}x", ha="center", va="bottom", fontsize=7,
                        rotation=90 if n > 4 else 0)
        for j, b in enumerate(bases):
            v = b["design"]["precisions"]["8"][key]
            values.append(v)
            style = ("--", ":", "-.")[j % 3]
            # a baseline serving one run takes that run's colour; one shared by several stays black
            edge = colors[labels.index(b["runs"][0]) % 10] if len(bases) > 1 and len(b["runs"]) == 1 else "black"
            ax.axhline(v, color=edge, linestyle=style, linewidth=1.0)
            xb = precs.index(8) - 0.4 + width * (len(reports) + j + 0.5)
            ax.bar([xb], [v], width=width * 0.95, color="0.8", edgecolor=edge, hatch="//",
                   linestyle=style, label=f"{b['label']} (8 bit; line)")
            ax.text(xb, v, "1.00x", ha="center", va="bottom", fontsize=7, rotation=90 if n > 4 else 0)
        ax.set_xticks(range(len(precs)), [f"{p} bit" for p in precs])
        ax.set_xlim(-0.6, len(precs) - 0.4)
        positive = [v for v in values if v > 0]
        if positive and max(positive) / min(positive) > 50:
            ax.set_yscale("log")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{title} (labels: ratio to the INT8 baseline)")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.margins(y=0.15)
        save(fig, stem)
    return written


def _compare_tables(reports: list[dict[str, Any]], labels: list[str], bases: list[dict[str, Any]]) -> list[tuple[str, str, list[str], list[list[Any]]]]:
    """(anchor, title, head, rows) of every comparison table, shared by Markdown and HTML."""
    tables = []
    head = ["run", "configuration", "baseline", "library", "engine", "clock ns", "workload", "gate check"]
    rows = []
    for r, lab in zip(reports, labels):
        c, b, w = r["designs"]["config"], r["designs"]["baseline"], r["workload"]
        gate = "-" if r["gate_check"] is None else ("PASS" if r["gate_check"]["passed"] else "FAIL")
        rows.append([lab, f"{c['summary']} ({c['config_hash'][:8]})", f"{b['summary']} ({b['config_hash'][:8]})",
                     r["library"], r["engine_version"].split(" (")[0], f"{r['clock_ns']:g}",
                     f"{w['n_ops']} ops, {w['zero_fraction']:.0%} zeros, window {w['window_cycles']}"
                     + (f", mix {w['mix']}" if w.get("mix") else ""), gate])
    tables.append(("runs", "Runs", head, rows))

    rows = []
    for r, lab in zip(reports, labels):
        for row in r["comparison"]:
            rows.append([lab, f"{row['precision']} bit", row["macs_per_cycle"], format_ratio(row["ratio_macs_per_cycle"]),
                         format_number(row["macs_per_cycle_per_mm2"], 4), format_ratio(row["ratio_macs_per_cycle_per_mm2"]),
                         format_number(row["pj_per_mac"], 4), format_ratio(row["ratio_energy_per_mac"]),
                         format_ratio(row["ratio_area"])])
        mix = r.get("mix")
        if mix:
            c, b = r["designs"]["config"], r["designs"]["baseline"]
            rows.append([lab, f"mix {mix['label']}", format_number(mix["macs_per_cycle"], 4),
                         format_ratio(mix["ratio_macs_per_cycle"]), format_number(mix["macs_per_cycle_per_mm2"], 4),
                         format_ratio(mix["ratio_macs_per_cycle_per_mm2"]), format_number(mix["pj_per_mac"], 4),
                         format_ratio(mix["ratio_energy_per_mac"]), format_ratio(c["area_um2"] / b["area_um2"])])
    for b in bases:
        v = b["design"]["precisions"]["8"]
        rows.append([b["label"], "8 bit", v["macs_per_cycle"], "1.00x", format_number(v["macs_per_cycle_per_mm2"], 4), "1.00x",
                     format_number(v["pj_per_mac"], 4), "1.00x", "1.00x"])
    tables.append(("ratios", "Against the INT8 baseline (ratio = value / baseline at 8 bits of the same width)",
                   ["design", "precision", "MACs/cycle", "ratio", "MACs/cycle/mm^2", "ratio", "pJ/MAC", "ratio",
                    "area ratio"], rows))

    designs = [(lab, r["designs"]["config"], r) for r, lab in zip(reports, labels)] + \
              [(b["label"], b["design"], b["report"]) for b in bases]
    head = ["design"] + [BLOCK_SHORT[g] for g in BLOCK_GROUPS] + ["total um^2", "cells", "critical path ns",
                                                                  "Fmax MHz", "synthesis s"]
    rows = []
    for lab, d, _ in designs:
        rows.append([lab] + [format_number(d["blocks"][g]["area_um2"]) for g in BLOCK_GROUPS]
                    + [format_number(d["area_um2"]), format_number(d["cells"]), format_number(d["timing"]["critical_path_ns"], 4),
                       format_number(d["timing"]["fmax_mhz"], 4), format_number(d["synthesis"]["seconds"]["total"], 3)])
    tables.append(("area", "Area per block (um^2) and timing", head, rows))

    rows = []
    for lab, d, r in designs:
        for key, v in d["precisions"].items():
            rows.append([lab, f"{v['precision']} bit", format_number(v["power_w"] * 1e3, 4), format_number(v["switching_w"] * 1e3, 4),
                         format_number(v["internal_w"] * 1e3, 4), format_number(v["leakage_w"] * 1e6, 4), format_number(v["energy_per_cycle_pj"], 4),
                         format_number(v["pj_per_mac"], 4), f"{r['clock_ns']:g}"])
    tables.append(("power", "Power (simulated switching activity)",
                   ["design", "precision", "total mW", "switching mW", "internal mW", "leakage uW", "pJ/cycle",
                    "pJ/MAC", "clock ns"], rows))
    return tables


def _comparability_notes(reports: list[dict[str, Any]], labels: list[str]) -> list[str]:
    notes = []
    for key, what in (("library", "libraries"), ("engine_version", "Yosys engines"), ("clock_ns", "clocks")):
        vals = {str(r[key]) for r in reports}
        if len(vals) > 1:
            notes.append(f"The runs use different {what} ({', '.join(sorted(vals))}): compare ratios, not absolute "
                         f"numbers.")
    wl = {json.dumps({k: v for k, v in r["workload"].items()}, sort_keys=True) for r in reports}
    if len(wl) > 1:
        notes.append("The runs use different power workloads (see Runs): energy numbers are not directly comparable.")
    for r, lab in zip(reports, labels):
        for n in r.get("notes", []):
            notes.append(f"{lab}: {n}")
        if r["gate_check"] is not None and not r["gate_check"]["passed"]:
            notes.append(f"{lab}: the gate-level check FAILED")
    return notes


def compare_reports(dirs: list[str | Path], out_dir: str | Path, *, title: str | None = None,
                    progress: Callable[[str], None] | None = None) -> list[Path]:
    """Read every ``report.json``; write ``report.md``, ``report.html`` and the plots (PNG, SVG) to ``out_dir``."""
    if not dirs:
        raise SynthError("mixlane report: give at least one folder written by `mixlane synth`")
    reports = [load_report(d) for d in dirs]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = _labels(reports)
    bases = _baselines(reports, labels)
    t0 = time.perf_counter()
    plots = _plots(reports, labels, bases, out)
    if progress:
        progress(f"plots: {', '.join(plots)} in {time.perf_counter() - t0:.1f} s")
    tables = _compare_tables(reports, labels, bases)
    notes = _comparability_notes(reports, labels)
    title = title or f"mixlane synthesis comparison ({len(reports)} run{'s' if len(reports) > 1 else ''})"
    defs = reports[0]["definitions"]
    def_lines = [f"MACs/cycle: {defs['macs_per_cycle']}", f"MACs/cycle/mm^2: {defs['macs_per_cycle_per_mm2']}",
                 f"pJ/MAC: {defs['pj_per_mac']}", f"Fmax: {defs['fmax_mhz']}", f"ratio: {defs['ratio']}"]
    figs = [("area_breakdown", "Area per block"),
            ("macs_per_mm2", "MACs/cycle/mm^2 per precision against the INT8 baseline"),
            ("pj_per_mac", "pJ/MAC per precision against the INT8 baseline")]

    md = [f"# {title}", ""] + [f"- {d}" for d in def_lines] + [""]
    for anchor, ttl, head, rows in tables:
        md += [f"## {ttl}", "", md_table(head, rows), ""]
    md += ["## Plots", ""]
    for stem, cap in figs:
        md += [f"![{cap}]({stem}.png)", "", f"{cap} ([SVG]({stem}.svg))", ""]
    if notes:
        md += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    md += ["Sources: " + ", ".join(f"`{r['_source']}`" for r in reports), ""]

    e = html.escape
    h = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">", f"<title>{e(title)}</title>",
         "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
         "table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}"
         "th,td{border:1px solid #ccc;padding:3px 7px}td{text-align:right}td:first-child{text-align:left}"
         "th{background:#f0f0f0}img{max-width:100%;border:1px solid #eee}figure{margin:1em 0}"
         "code{background:#f6f6f6}</style></head><body>", f"<h1>{e(title)}</h1>", "<ul>"]
    h += [f"<li>{e(d)}</li>" for d in def_lines] + ["</ul>"]
    for anchor, ttl, head, rows in tables:
        h.append(f"<h2 id=\"{anchor}\">{e(ttl)}</h2><table><tr>" + "".join(f"<th>{e(str(c))}</th>" for c in head)
                 + "</tr>")
        for row in rows:
            h.append("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>")
        h.append("</table>")
    h.append("<h2 id=\"plots\">Plots</h2>")
    for stem, cap in figs:
        # the PNG is embedded (the page stands alone, e.g. as a CI artifact); the SVG stays beside it
        png = base64.b64encode((out / f"{stem}.png").read_bytes()).decode("ascii")
        h.append(f"<figure><img src=\"data:image/png;base64,{png}\" alt=\"{e(cap)}\"><figcaption>{e(cap)} "
                 f"(<a href=\"{stem}.svg\">SVG</a>, <a href=\"{stem}.png\">PNG</a>)</figcaption></figure>")
    if notes:
        h.append("<h2 id=\"notes\">Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    h.append("<p>Sources: " + ", ".join(f"<code>{e(r['_source'])}</code>" for r in reports) + "</p>")
    h.append("</body></html>")
    (out / "report.md").write_text("\n".join(md))
    (out / "report.html").write_text("\n".join(h) + "\n")
    return [out / "report.md", out / "report.html"] + [out / p for p in plots]
