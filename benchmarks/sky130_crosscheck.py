"""Area and Fmax of a few presets against the INT8 baseline in SKY130 HD (a cross-check of the OSU figures).

    .venv/bin/python benchmarks/sky130_crosscheck.py [--liberty PATH] [--width 128] [--out out/sky130]

Uses the SKY130 liberty in ``../shared/pdk/`` when present (or ``--liberty``); the project itself never needs
it. Area only (no Verilog cell models for a gate-level power run), synthesis with and without the library's
full-adder cell. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mixlane.config import preset
from mixlane.synth.flow import synthesize
from mixlane.synth.sta import sta_timing
from mixlane.synth.tools import SynthError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "pdk" / "sky130hd_tt.lib.gz"
PRESETS = ["default", "uniform-12", "pattern-sysmol", "uniform-1248", "int8"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--liberty", type=Path, default=SHARED, help=f"SKY130 liberty (default: {SHARED})")
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--clock-ns", type=float, default=10.0)
    ap.add_argument("--out", type=Path, default=Path("out/sky130"))
    args = ap.parse_args(argv)
    if not args.liberty.is_file():
        print(f"sky130_crosscheck: error: liberty {args.liberty} not found; pass --liberty PATH "
              f"(sky130_fd_sc_hd typical corner)", file=sys.stderr)
        return 2
    print(f"liberty: {args.liberty}", file=sys.stderr)
    rows = []
    try:
        for fa in (True, False):
            res = {}
            for name in ["int8-conventional", *PRESETS]:
                cfg = preset(name).replace(width=args.width)
                work = args.out / f"{name}_{'fa' if fa else 'gates'}"
                syn = synthesize(cfg, work, liberty=args.liberty, clock_ns=args.clock_ns, generic=False,
                                 adder_cells=fa)
                tim = sta_timing(syn["netlist"], args.liberty, args.clock_ns, work / "sta")
                res[name] = (syn["area_um2"], tim["fmax_mhz"], syn["adder_cell"])
                print(f"{name} ({'full-adder cells' if fa else 'gates'}): {syn['area_um2']:,.0f} um^2, "
                      f"Fmax {tim['fmax_mhz']:.1f} MHz", file=sys.stderr)
            base = res["int8-conventional"][0]
            for name in ["int8-conventional", *PRESETS]:
                area, fmax, cell = res[name]
                precs = preset(name).mode_precisions
                # MACs/cycle/mm^2 against the baseline's at 8 bits: (width/p) / (width/8) x area ratio
                ratio = [f"{8 / p * base / area:.2f}x" if p in precs and name != "int8-conventional" else "-"
                         for p in (2, 1)]
                rows.append(f"| {name} | {cell or 'gates'} | {area:,.0f} | {fmax:.1f} | {area / base:.2f} | "
                            f"{ratio[0]} | {ratio[1]} |")
    except SynthError as exc:
        print(f"sky130_crosscheck: error: {exc}", file=sys.stderr)
        return 2
    print(f"| design (width {args.width}) | full adders | area um^2 | Fmax MHz | area ratio | "
          "2-bit MACs/cycle/mm^2 ratio | 1-bit ratio |")
    print("|---|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
