"""Print the architecture table of docs/benchmarks.md from a `benchmarks/bench_architectures.sh` output folder.

    .venv/bin/python benchmarks/architecture_table.py [OUT]        (default OUT: out/bench_arch)

One row per design and precision: area, Fmax, MACs per cycle (sustained, W-bit registers), MACs/cycle/mm^2 and
pJ/MAC with their ratios to the INT8 conventional baseline at 8 bits, and the per-unit figure as the papers
normalise it (MACs per cycle per mm^2 with the operand bandwidth the architecture would need to keep every
multiplier bit busy: BitFusion fed natively, i.e. (pmax/p)^2 products per fusion unit).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _native_macs(cfg: dict, p: int, macs: float) -> float:
    """MACs per cycle with the operands each architecture's own papers assume: BitFusion's fusion units fed
    (pmax/p)^2 element pairs per cycle; the others as measured (their registers already fill every lane)."""
    if cfg["mac"] == "bitfusion":
        pmax = max(cfg["precisions"])
        return cfg["width"] // pmax * (pmax // p) ** 2
    return macs


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "out/bench_arch")
    reports = sorted(out.glob("*/report.json"))
    if not reports:
        print(f"architecture_table: error: no */report.json under {out}; run benchmarks/bench_architectures.sh",
              file=sys.stderr)
        return 2
    print("| design | mac | precision | area um^2 | area ratio | Fmax MHz | MACs/cycle | MACs/cycle/mm^2 | ratio | "
          "pJ/MAC | ratio | native MACs/cycle | native MACs/cycle/mm^2 | gate check |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for path in reports:
        r = json.loads(path.read_text())
        c, b = r["designs"]["config"], r["designs"]["baseline"]
        gate = r.get("gate_check") or {}
        ok = "pass" if gate.get("passed") else ("-" if not gate else "FAIL")
        for row in sorted(r["comparison"], key=lambda x: -x["precision"]):
            p = row["precision"]
            native = _native_macs(c["config"], p, row["macs_per_cycle"])
            print(f"| {path.parent.name} | {c['config']['mac']} | {p} | {c['area_um2']:,.0f} | "
                  f"{c['area_um2'] / b['area_um2']:.2f} | {c['timing']['fmax_mhz']:.0f} | {row['macs_per_cycle']:.4g} | "
                  f"{row['macs_per_cycle_per_mm2']:,.0f} | {row['ratio_macs_per_cycle_per_mm2']:.2f}x | "
                  f"{row['pj_per_mac']:.3f} | {row['ratio_energy_per_mac']:.2f}x | {native:.4g} | "
                  f"{native / c['area_mm2']:,.0f} | {ok} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
