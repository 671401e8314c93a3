"""``report.json`` / ``report.md`` / plots of a co-design run (schema ``mixlane-codesign-report/1``)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from mixlane import __version__
from mixlane.config import Config
from . import dataflow
from .energy import inference_energy, load_energy_table

__all__ = ["SCHEMA", "build", "write", "render_markdown"]

SCHEMA = "mixlane-codesign-report/1"
FP32_BITS = 32


def _histogram(layers, prec_list) -> list[dict]:
    out = []
    for i, (L, prec) in enumerate(zip(layers, prec_list)):
        ps, n = np.unique(prec, return_counts=True)
        out.append({"layer": i, "layer_name": L.describe(), "channels": {str(int(p)): int(c) for p, c in zip(ps, n)},
                    "weights": {str(int(p)): int(c) * L.cout * L.taps for p, c in zip(ps, n)}})
    return out


def _size(cfg: Config, layers, q) -> dict:
    weights = sum(L.weights for L in layers)
    biases = sum(L.cout for L in layers)
    code_bits = max(1, math.ceil(math.log2(len(cfg.mode_precisions)))) if cfg.mixes_in_reduction else 0
    side = (biases * cfg.acc_width + sum(L.cin for L in layers[1:]) * (32 + 6)       # preloads, multipliers, shifts
            + sum(L.cin for L in layers) * code_bits)                                # precision codes
    return {"weights": weights, "fp32_bits": FP32_BITS * (weights + biases), "fp32_weight_bits": FP32_BITS * weights,
            "int8_weight_bits": 8 * weights, "mixed_weight_bits": q.assignment.weight_bits,
            "mean_weight_bits": q.assignment.mean_bits, "side_bits": side,
            "mixed_total_bits": q.assignment.weight_bits + side}


def _layers(layers, mixed, int8, cfg: Config) -> list[dict]:
    rows = []
    for i, L in enumerate(layers):
        row = {"layer": i, "name": L.describe(), "macs": L.macs, "weights": L.weights}
        for tag, q in (("config", mixed), ("int8_baseline", int8)):
            if q.costs:
                row[tag] = asdict(q.costs[i])
        if mixed.costs:
            c = mixed.costs[i]
            regs = max(1, round(c.acc_ops / max(1, L.cout * L.pixels)))
            row["dataflow"] = {"O": L.cout, "P": L.pixels, "R": regs, "accumulators": cfg.outputs,
                               **dataflow.compare(L.cout, L.pixels, regs, cfg.outputs)}
        rows.append(row)
    return rows


def _energy(cfg: Config, mixed, int8, path) -> dict | None:
    if not path or not mixed.ops_one:
        return None
    out = {"source": str(path), "config": inference_energy(cfg, mixed.ops_one, load_energy_table(path, cfg))}
    try:
        base_table = load_energy_table(path, int8.cfg, role="baseline")
        out["int8_baseline"] = inference_energy(int8.cfg, int8.ops_one, base_table)
    except ValueError:
        out["int8_baseline"] = None      # the report's baseline is another design
    return out


def build(cfg: Config, ds, spec: str, layers, budget: float, acc_fp32: float, mixed, int8, rtl: dict, opts,
          seconds: float) -> dict:
    """The report as a JSON-able dict (see ``docs/codesign.md`` for every key)."""
    size = _size(cfg, layers, mixed)
    cyc = sum(c.cycles for c in mixed.costs) if mixed.costs else None
    cyc8 = sum(c.cycles for c in int8.costs)
    ok = not mixed.unrepresentable
    return {
        "schema": SCHEMA, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mixlane_version": __version__, "status": "ok" if ok else "unrepresentable",
        "reason": mixed.unrepresentable, "config": cfg.to_dict(), "config_hash": cfg.content_hash,
        "config_summary": cfg.architecture.describe(cfg), "int8_baseline_config": int8.cfg.to_dict(),
        "dataset": {"name": ds.name, "train": len(ds.x_train), "test": len(ds.x_test), "classes": ds.classes},
        "model": {"spec": spec, "layers": [L.describe() for L in layers], "weights": size["weights"],
                  "macs": sum(L.macs for L in layers)},
        "options": {k: v for k, v in vars(opts).items()}, "budget": budget,
        "accuracy": {"fp32": acc_fp32, "int8": int8.accuracy, "mixed": mixed.accuracy if ok else None},
        "precisions": _histogram(layers, mixed.assignment.prec), "size": size,
        "compression": {"vs_fp32": size["fp32_weight_bits"] / size["mixed_weight_bits"],
                        "vs_int8": size["int8_weight_bits"] / size["mixed_weight_bits"],
                        "model_vs_fp32": size["fp32_bits"] / size["mixed_total_bits"]},
        "operations": {"config": sum(c.ops for c in mixed.costs) if ok else None,
                       "int8_baseline": sum(c.ops for c in int8.costs)},
        "cycles": {"config": cyc, "int8_baseline": cyc8, "speedup_vs_int8": (cyc8 / cyc) if cyc else None},
        "layers": _layers(layers, mixed, int8, cfg),
        "energy": _energy(cfg, mixed, int8, opts.synth_report) if ok else None,
        "rtl": rtl, "seconds": round(seconds, 1),
    }


def _fmt(v, spec=".4f") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def render_markdown(rep: dict) -> str:
    a, c, cy = rep["accuracy"], rep["compression"], rep["cycles"]
    lines = [f"# Co-design: {rep['dataset']['name']} on {rep['config_summary']}", "",
             f"Model `{rep['model']['spec']}` ({', '.join(rep['model']['layers'])}), {rep['model']['weights']} "
             f"weights, {rep['model']['macs']} MACs per inference; budget {rep['budget']:g} mean weight bits.", ""]
    if rep["status"] != "ok":
        lines += [f"**Not representable on this configuration:** {rep['reason']}", ""]
    lines += ["| | fp32 | INT8 baseline | mixed (this configuration) |", "|---|---|---|---|",
              f"| test accuracy | {_fmt(a['fp32'])} | {_fmt(a['int8'])} | {_fmt(a['mixed'])} |",
              f"| weight bits | {rep['size']['fp32_weight_bits']} | {rep['size']['int8_weight_bits']} | "
              f"{rep['size']['mixed_weight_bits']} ({rep['size']['mean_weight_bits']:.2f} per weight) |",
              f"| datapath operations / inference | - | {rep['operations']['int8_baseline']} | "
              f"{_fmt(rep['operations']['config'], 'd')} |",
              f"| cycles / inference | - | {cy['int8_baseline']} | {_fmt(cy['config'], 'd')} |", "",
              f"Weights compressed {c['vs_fp32']:.1f}x vs fp32 ({c['vs_int8']:.2f}x vs INT8); the whole model with "
              f"preloads, requantization multipliers and precision codes {c['model_vs_fp32']:.1f}x vs fp32. "
              f"Cycles: {_fmt(cy['speedup_vs_int8'], '.2f')}x fewer than the INT8 baseline datapath.", ""]
    lines += _precision_table(rep) + _layer_table(rep) + _energy_lines(rep) + _rtl_lines(rep)
    return "\n".join(lines) + "\n"


def _precision_table(rep: dict) -> list[str]:
    precs = sorted({int(p) for h in rep["precisions"] for p in h["channels"]})
    out = ["## Input-channel precisions per layer", "", "| layer | " + " | ".join(f"{p}-bit" for p in precs) + " |",
           "|---|" + "---|" * len(precs)]
    for h in rep["precisions"]:
        out.append(f"| {h['layer_name']} | " + " | ".join(str(h["channels"].get(str(p), 0)) for p in precs) + " |")
    return out + [""]


def _layer_table(rep: dict) -> list[str]:
    out = ["## Per layer: cycles and dataflow", "",
           "| layer | MACs | cycles (config) | cycles (INT8) | register moves OS / WS / IS | best |",
           "|---|---|---|---|---|---|"]
    for r in rep["layers"]:
        df = r.get("dataflow")
        moves = " / ".join(str(df["orders"][o]["total"]) for o in dataflow.ORDERS) if df else "-"
        out.append(f"| {r['name']} | {r['macs']} | {r.get('config', {}).get('cycles', '-')} | "
                   f"{r['int8_baseline']['cycles']} | {moves} | {df['best'] if df else '-'} |")
    out += ["", "Register moves: operand register loads plus accumulator fills, spills and result reads "
            "(output-, weight-, input-stationary; `docs/codesign.md`).", ""]
    return out


def _energy_lines(rep: dict) -> list[str]:
    e = rep.get("energy")
    if not e:
        return []
    base = e.get("int8_baseline")
    return ["## Energy", "", f"{e['config']['pj']:.0f} pJ per inference on this configuration"
            + (f", {base['pj']:.0f} pJ on the INT8 baseline" if base else "") + f" (from `{e['source']}`).", ""]


def _rtl_lines(rep: dict) -> list[str]:
    r = rep["rtl"]
    if not r.get("images_checked"):
        return ["## RTL", "", "No images were run on the RTL.", ""]
    return ["## RTL", "", f"{r['images_checked']} test images through the generated Verilog ({r['sim']}, "
            f"{r['mode']} mode): {r['operations']} operations, {r['results_checked']} read-outs of every layer "
            f"checked by the scoreboard ({r['result_mismatches']} mismatches); logits of {r['mismatches']} "
            "images differ from the golden model.", ""]


def write(rep: dict, out: Path, extra: list[str] = ()) -> None:
    """``report.json``, ``report.md`` (with ``extra`` lines at its end: the sections of later stages) and
    ``codesign.png`` (precisions and cycles per layer) in ``out``."""
    out = Path(out)
    (out / "report.json").write_text(json.dumps(rep, indent=1, default=_json_default) + "\n")
    (out / "report.md").write_text(render_markdown(rep) + ("\n".join(extra) + "\n" if extra else ""))
    _plots(rep, out)


def _json_default(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return str(v)


def _plots(rep: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    precs = sorted({int(p) for h in rep["precisions"] for p in h["weights"]})
    names = [h["layer_name"] for h in rep["precisions"]]
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    bottom = np.zeros(len(names))
    for p in precs:
        vals = np.array([h["weights"].get(str(p), 0) for h in rep["precisions"]], float)
        ax[0].bar(names, vals, bottom=bottom, label=f"{p}-bit")
        bottom += vals
    ax[0].set_ylabel("weights")
    ax[0].set_title("weight precisions per layer")
    ax[0].legend()
    x = np.arange(len(rep["layers"]))
    ax[1].bar(x - 0.2, [r["int8_baseline"]["cycles"] for r in rep["layers"]], 0.4, label="INT8 baseline")
    ax[1].bar(x + 0.2, [r.get("config", {}).get("cycles", 0) for r in rep["layers"]], 0.4, label="this config")
    ax[1].set_xticks(x, names)
    ax[1].set_ylabel("cycles per inference")
    ax[1].set_title("datapath cycles per layer")
    ax[1].legend()
    for a in ax:
        a.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    fig.savefig(out / "codesign.png", dpi=110)
    plt.close(fig)
