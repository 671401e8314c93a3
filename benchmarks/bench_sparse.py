"""Sparsity-aware datapaths against the INT8 baseline: error of each scheme against exact 8-bit products, area,
energy per MAC at 0 / 50 / 80% zero activations and throughput per area (``mixlane synth`` on each).

    .venv/bin/python benchmarks/bench_sparse.py [--width 128] [--zeros 0,0.5,0.8] [--skip-synth] [-o DIR]
    .venv/bin/python benchmarks/bench_sparse.py --codesign [--design NAME ...]   # digits accuracy per design

Error statistics use ReLU-like activations: ``max(0, N(0, 1))`` scaled to 0..255 (a max-calibrated 8-bit
quantizer) with the given fraction of zeros, and uniform signed 8-bit weights; 256 dot products of length 576.
Synthesis uses the default liberty of ``mixlane synth`` and its default workload but for the zero fraction.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from mixlane.golden.sparse import scheme_stats

#: name -> (configuration keys besides precisions = [8], scheme, scheme options)
DESIGNS = {
    "bSPARQ 4b/5": ({"mac": "sparq"}, "bsparq", {}),
    "bSPARQ 4b/3": ({"mac": "sparq", "mac_options": {"placements": 3}}, "bsparq", {"placements": 3}),
    "bSPARQ 3b/6": ({"mac": "sparq", "mac_options": {"window": 3, "placements": 6}}, "bsparq",
                    {"window": 3, "placements": 6}),
    "vSPARQ 4b/5": ({"mac": "sparq", "mac_options": {"vsparq": True}}, "vsparq", {}),
    "NB-SMT 2T": ({"mac": "nbsmt", "mac_options": {"threads": 2}}, "nbsmt", {"threads": 2}),
    "NB-SMT 2T/2": ({"mac": "nbsmt", "mac_options": {"threads": 2, "placements": 2}}, "nbsmt",
                    {"threads": 2, "placements": 2}),
    "NB-SMT 4T": ({"mac": "nbsmt", "mac_options": {"threads": 4}}, "nbsmt", {"threads": 4}),
    "INT8 gated": ({"mac": "conventional", "zero_gating": True}, "exact", {}),
    "sum-together 8b": ({}, "exact", {}),
    "sum-together 8b gated": ({"zero_gating": True}, "exact", {}),
}


def relu_tensors(zeros: float, rng: np.random.Generator, rows: int = 256, k: int = 576):
    x = np.maximum(rng.standard_normal((rows, k)), 0)
    nz = x[x > 0]
    a = np.clip(np.round(x / nz.max() * 255), 0, 255).astype(np.int64)
    # set the zero fraction exactly: ReLU gives ~50%; add or remove zeros at random
    flat = a.ravel()
    target = int(round(zeros * flat.size))
    zero_idx = np.flatnonzero(flat == 0)
    if len(zero_idx) > target:
        revive = rng.choice(zero_idx, len(zero_idx) - target, replace=False)
        flat[revive] = np.clip(np.round(np.abs(rng.standard_normal(len(revive))) / nz.max() * 255), 1, 255)
    else:
        kill = rng.choice(np.flatnonzero(flat != 0), target - len(zero_idx), replace=False)
        flat[kill] = 0
    w = rng.integers(-128, 128, (k,))
    return flat.reshape(rows, k), w


def error_table(zeros: list[float]) -> list[dict]:
    rows = []
    for z in zeros:
        a, w = relu_tensors(z, np.random.default_rng(int(z * 100) + 1))
        for name, (_, scheme, opts) in DESIGNS.items():
            s = scheme_stats(scheme, a, w, **opts)
            rows.append({"design": name, "zeros": z, **s.to_dict()})
    return rows


def synth(name: str, keys: dict, width: int, zeros: float, out: Path) -> dict:
    cfg = {"width": width, "precisions": [8], **keys}
    folder = out / name.replace(" ", "_").replace("/", "p") / f"z{int(zeros * 100)}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(cfg))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mixlane", "synth", "--config", str(folder / "config.json"),
                           "--zero-fraction", str(zeros), "--jobs", "1", "-o", str(folder)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{name} zeros={zeros}: mixlane synth failed: {proc.stderr.strip()[-300:]}")
    rep = json.loads((folder / "report.json").read_text())
    d, b = rep["designs"]["config"], rep["designs"]["baseline"]
    return {"design": name, "zeros": zeros, "seconds": round(time.perf_counter() - t0, 1),
            "area_um2": d["area_um2"], "baseline_area_um2": b["area_um2"],
            "pj_per_mac": d["precisions"]["8"]["pj_per_mac"], "baseline_pj_per_mac": b["precisions"]["8"]["pj_per_mac"],
            "fmax_mhz": d["timing"].get("fmax_mhz"), "baseline_fmax_mhz": b["timing"].get("fmax_mhz"),
            "gated_lane_fraction": d["precisions"]["8"].get("gated_lane_fraction"),
            "lane_area_um2": _area(d["blocks"]["multipliers"]), "baseline_lane_area_um2": _area(b["blocks"]["multipliers"])}


def _area(block) -> float:
    return block["area_um2"] if isinstance(block, dict) else block


def codesign_table(names: list[str], out: Path) -> None:
    """Digits CNN (the co-design defaults) per design: fp32, exact INT8 and the design's trimmed arithmetic
    (post-training: the network is trained for INT8, then run on the design), checked on its RTL."""
    from mixlane.codesign.flow import Options, codesign
    from mixlane.config import Config

    print("\n| design | fp32 | exact INT8 | on the design | change | RTL images | s |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        keys, _, _ = DESIGNS[name]
        t0 = time.perf_counter()
        r = codesign(Config(precisions=(8,), **keys), Options(rtl_images=5),
                     out / "codesign" / name.replace(" ", "_").replace("/", "p"), log=lambda s: None)
        a = r["accuracy"]
        rtl = f"{r['rtl']['images_checked']} ({'bit-exact' if r['rtl']['passed'] else 'MISMATCH'})"
        print(f"| {name} | {a['fp32']:.4f} | {a['int8']:.4f} | {a['mixed']:.4f} | {a['mixed'] - a['int8']:+.4f} | "
              f"{rtl} | {time.perf_counter() - t0:.0f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--zeros", default="0,0.5,0.8")
    ap.add_argument("--skip-synth", action="store_true")
    ap.add_argument("--codesign", action="store_true", help="digits accuracy on each design instead of synthesis")
    ap.add_argument("--design", action="append", help="only these designs (repeatable)")
    ap.add_argument("-o", "--output", default="out/bench_sparse")
    args = ap.parse_args()
    zeros = [float(z) for z in args.zeros.split(",")]
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    errs = error_table(zeros)
    (out / "errors.json").write_text(json.dumps(errs, indent=1))
    print("| scheme | zeros | product rel. error | dot-product rel. RMS error | activations changed |")
    print("|---|---|---|---|---|")
    for r in errs:
        print(f"| {r['design']} | {r['zeros']:.0%} | {r['product_rel']:.4f} | {r['dot_rel_rms']:.4f} | "
              f"{r['changed']:.1%} |")
    if args.codesign:
        codesign_table(args.design or list(DESIGNS), out)
        return
    if args.skip_synth:
        return
    rows = []
    print("\n| design | zeros | area um^2 | vs INT8 | lanes vs INT8 | MACs/cycle/area vs INT8 | pJ/MAC | INT8 pJ/MAC "
          "| energy vs INT8 | gated lanes | Fmax MHz | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, (keys, _, _) in DESIGNS.items():
        if args.design and name not in args.design:
            continue
        for z in zeros:
            r = synth(name, keys, args.width, z, out)
            rows.append(r)
            ratio = r["area_um2"] / r["baseline_area_um2"]
            gated = "-" if r["gated_lane_fraction"] is None else f"{r['gated_lane_fraction']:.0%}"
            print(f"| {name} | {z:.0%} | {r['area_um2']:.0f} | {ratio:.2f}x | "
                  f"{r['lane_area_um2'] / r['baseline_lane_area_um2']:.2f}x | {1 / ratio:.2f}x | "
                  f"{r['pj_per_mac']:.3f} | {r['baseline_pj_per_mac']:.3f} | "
                  f"{r['pj_per_mac'] / r['baseline_pj_per_mac']:.2f}x | {gated} | {r['fmax_mhz']:.0f} | "
                  f"{r['seconds']} |", flush=True)
            (out / "synth.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
