"""The sweep's HTML report: ``report.html`` with the results table and plots (PNG files beside it).

Plots, each drawn when the sweep has its columns: Pareto fronts of area against MACs per cycle and of energy
per MAC against area (per precision; the front is the points no other point beats on both axes), energy per
inference against accuracy for co-design points, efficiency (MACs/cycle/mm^2) per precision per architecture,
precision decoder + aligner share of the area per precision mode, and MACs per cycle against the ideal
``width / precision``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["pareto_front", "write_html", "PLOTS"]

PLOTS = ("pareto_area_macs", "pareto_energy_area", "codesign_energy_accuracy", "efficiency_per_precision",
         "overhead_per_mode", "efficiency_vs_ideal")


def pareto_front(x: np.ndarray, y: np.ndarray, *, minimize_x: bool = True, minimize_y: bool = True) -> np.ndarray:
    """Indices of the points not dominated on ``(x, y)`` (each axis minimised or maximised), sorted by ``x``."""
    sx = np.where(minimize_x, 1, -1) * np.asarray(x, float)
    sy = np.where(minimize_y, 1, -1) * np.asarray(y, float)
    keep = [i for i in range(len(sx))
            if not np.any((sx <= sx[i]) & (sy <= sy[i]) & ((sx < sx[i]) | (sy < sy[i])))]
    return np.array(sorted(keep, key=lambda i: x[i]), dtype=int)


def _precisions(table: list[dict]) -> list[int]:
    ps = {int(k[len("macs_per_cycle_"):-1]) for r in table for k in r if k.startswith("macs_per_cycle_")}
    return sorted(ps)


def _num(r: dict, k: str):
    v = r.get(k)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) else None


def _label(r: dict) -> str:
    return f"{r.get('mac')} w{r.get('width')} {r.get('precision_mode')}"


def _scatter_front(ax, xs, ys, labels, *, min_x, min_y, name):
    xs, ys = np.array(xs), np.array(ys)
    ax.scatter(xs, ys, s=18, alpha=0.7, label=name)
    if len(xs):
        f = pareto_front(xs, ys, minimize_x=min_x, minimize_y=min_y)
        ax.plot(xs[f], ys[f], "-", lw=1)
        for i in f:
            ax.annotate(labels[i], (xs[i], ys[i]), fontsize=6, alpha=0.8)


def _plot_pareto(table, plt, out: Path, ykey: str, fname: str, *, x_is_area: bool, title: str, ylabel: str,
                 min_y: bool) -> str | None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    drawn = False
    for p in _precisions(table):
        rows = [r for r in table if _num(r, "area_um2") and _num(r, f"{ykey}_{p}b")]
        if not rows:
            continue
        drawn = True
        area = [_num(r, "area_um2") / 1e6 for r in rows]
        val = [_num(r, f"{ykey}_{p}b") for r in rows]
        _scatter_front(ax, area, val, [_label(r) for r in rows], min_x=True, min_y=min_y, name=f"{p}-bit")
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("area (mm^2, log)")
    ax.set_ylabel(ylabel + " (log)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / f"{fname}.png", dpi=110)
    plt.close(fig)
    return f"{fname}.png"


def _plot_codesign(table, plt, out: Path) -> str | None:
    rows = [r for r in table if _num(r, "acc_mixed") is not None and
            (_num(r, "pj_per_inference") or _num(r, "cycles"))]
    if not rows:
        return None
    ykey = "pj_per_inference" if all(_num(r, "pj_per_inference") for r in rows) else "cycles"
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _scatter_front(ax, [_num(r, "acc_mixed") for r in rows], [_num(r, ykey) for r in rows],
                   [_label(r) for r in rows], min_x=False, min_y=True, name="co-design points")
    ax.set_xlabel("test accuracy (mixed precision)")
    ax.set_ylabel("pJ per inference" if ykey == "pj_per_inference" else "cycles per inference")
    ax.set_title("co-design: cost per inference against accuracy (front: best accuracy per cost)")
    fig.tight_layout()
    fig.savefig(out / "codesign_energy_accuracy.png", dpi=110)
    plt.close(fig)
    return "codesign_energy_accuracy.png"


def _plot_bars(plt, out: Path, fname: str, groups: dict[str, dict[str, float]], title: str, ylabel: str):
    if not groups:
        return None
    keys = sorted({k for g in groups.values() for k in g}, key=str)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / max(1, len(keys))
    for j, k in enumerate(keys):
        ax.bar(np.arange(len(groups)) + j * width, [g.get(k, 0.0) for g in groups.values()], width, label=str(k))
    ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, list(groups), fontsize=7, rotation=20)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / f"{fname}.png", dpi=110)
    plt.close(fig)
    return f"{fname}.png"


def _best_per_precision(table, ratio) -> dict[str, dict[str, float]]:
    """Per architecture (mode) and precision ``p``: the best ``ratio(row, macs_per_cycle, p)`` over the rows."""
    out: dict[str, dict[str, float]] = {}
    for r in table:
        for p in _precisions(table):
            m = _num(r, f"macs_per_cycle_{p}b")
            v = ratio(r, m, p) if m else None
            if v:
                g = out.setdefault(f"{r.get('mac')} {r.get('precision_mode')}", {})
                g[f"{p}-bit"] = max(g.get(f"{p}-bit", 0.0), v)
    return out


def _efficiency(table) -> dict[str, dict[str, float]]:
    """Best MACs/cycle/mm^2 per architecture (mode) and precision."""
    return _best_per_precision(table, lambda r, m, p: m / (_num(r, "area_um2") / 1e6) if _num(r, "area_um2") else None)


def _overhead(table) -> dict[str, dict[str, float]]:
    """Mean share of the area in the precision decoder and the aligner, per precision mode and width."""
    acc: dict[str, dict[str, list]] = {}
    for r in table:
        area = _num(r, "area_um2")
        if not area or _num(r, "area_precision_decoder_um2") is None:
            continue
        share = ((_num(r, "area_precision_decoder_um2") or 0) + (_num(r, "area_aligner_um2") or 0)) / area
        acc.setdefault(str(r.get("precision_mode")), {}).setdefault(f"w{r.get('width')}", []).append(100 * share)
    return {m: {w: float(np.mean(v)) for w, v in g.items()} for m, g in acc.items()}


def _vs_ideal(table) -> dict[str, dict[str, float]]:
    """MACs per cycle over the ideal ``width / precision`` (1 = every bit of the register used each cycle)."""
    return _best_per_precision(table, lambda r, m, p: m / (_num(r, "width") / p) if _num(r, "width") else None)


def write_html(table: list[dict[str, Any]], out: str | Path, title: str = "mixlane sweep") -> Path:
    """``report.html`` (and its PNG plots) for a sweep's results table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plots = [
        _plot_pareto(table, plt, out, "macs_per_cycle", "pareto_area_macs", x_is_area=True, min_y=False,
                     title="area against MACs per cycle (front: fewest mm^2 for the most MACs/cycle)",
                     ylabel="MACs per cycle"),
        _plot_pareto(table, plt, out, "pj_per_mac", "pareto_energy_area", x_is_area=True, min_y=True,
                     title="energy per MAC against area (front: least of both)", ylabel="pJ per MAC"),
        _plot_codesign(table, plt, out),
        _plot_bars(plt, out, "efficiency_per_precision", _efficiency(table),
                   "MACs/cycle/mm^2 per precision per architecture", "MACs/cycle/mm^2"),
        _plot_bars(plt, out, "overhead_per_mode", _overhead(table),
                   "precision decoder + aligner share of the area", "% of area"),
        _plot_bars(plt, out, "efficiency_vs_ideal", _vs_ideal(table),
                   "MACs per cycle / (width / precision)", "fraction of the ideal"),
    ]
    return _page(table, [p for p in plots if p], out, title)


def _page(table, plots: list[str], out: Path, title: str) -> Path:
    cols: list[str] = []
    for r in table:
        cols += [c for c in r if c not in cols and not c.endswith("_cached")]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in cols) + "</tr>"
                     for r in table)
    imgs = "\n".join(f'<figure><img src="{p}" alt="{p}"><figcaption>{p}</figcaption></figure>' for p in plots)
    status = {s: sum(r["status"] == s for r in table) for s in ("ok", "failed", "timeout", "invalid")}
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 5px}} img{{max-width:100%}} figure{{display:inline-block;width:48%}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p id="summary">{len(table)} points: {json.dumps(status)}</p>
<div id="plots">{imgs}</div>
<table id="results"><thead><tr>{head}</tr></thead><tbody>
{body}
</tbody></table>
<script>
window.addEventListener("load", () => {{
  const imgs = [...document.images];
  const ok = imgs.every(i => i.complete && i.naturalWidth > 0);
  document.body.setAttribute("data-check", (ok ? "images-ok" : "images-broken") + " " + imgs.length + " "
                             + document.querySelectorAll("#results tbody tr").length);
}});
</script>
</body></html>
"""
    path = out / "report.html"
    path.write_text(page)
    return path


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
