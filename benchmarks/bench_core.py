"""Benchmarks of the core flow: checked lane-MACs per second per simulator, and Verilog generation time.

    .venv/bin/python benchmarks/bench_core.py [--vectors N] [--out DIR]

Prints a Markdown table (paste into docs/benchmarks.md) and writes ``<out>/bench_core.json``.
Throughput uses the ``throughput`` scenario: back-to-back ACCs of random registers at 2-bit precision,
READ_LOAD every 16 operations, every result compared with the golden model; the time counted is the
whole cocotb test (golden model, stimulus encoding, simulation, scoreboard), not the build.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

from mixlane.config import preset
from mixlane.sim_tb.runner import run_regression


def generation_seconds(width: int) -> float:
    """Wall time of `mixlane generate` for the default configuration at ``width``, in a fresh process."""
    code = ("import time;from mixlane import preset;from mixlane.rtl.generate import to_verilog;"
            f"t=time.perf_counter();to_verilog(preset('default').replace(width={width}));"
            "print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", type=int, default=50000, help="operations per throughput run (default: %(default)s)")
    ap.add_argument("--out", default="out/bench", help="work folder (default: %(default)s)")
    args = ap.parse_args()
    out = Path(args.out)
    rows = []
    for name, width in (("default", 128), ("default", 512)):
        cfg = preset(name).replace(width=width) if width != 128 else preset(name)
        for sim, vectors in (("icarus", max(500, args.vectors // 50)), ("verilator", args.vectors)):
            res = run_regression(cfg, sim=sim, out_dir=out / f"{sim}_w{width}", vectors=vectors,
                                 scenarios=["throughput"])
            assert res.passed, res.failures
            t = res.tests[0]
            rows.append({"config": f"{name} (width {width}, 2-bit)", "sim": sim, "ops": t["ops"],
                         "cycles": t["cycles"], "lane_macs": t["lane_macs"], "seconds": round(t["seconds"], 3),
                         "lane_macs_per_s": round(t["lane_macs"] / t["seconds"]),
                         "cycles_per_s": round(t["cycles"] / t["seconds"]), "build_s": round(res.build_seconds, 1)})
    gen = {w: round(min(generation_seconds(w) for _ in range(2)), 2) for w in (128, 512)}
    info = {"date": str(date.today()), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}", "throughput": rows, "generation_seconds": gen}
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_core.json").write_text(json.dumps(info, indent=1))
    print(f"date {info['date']}, {info['machine']}\n")
    print("| configuration | simulator | operations | checked lane-MACs | seconds | lane-MACs/s | cycles/s | build s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['config']} | {r['sim']} | {r['ops']} | {r['lane_macs']:,} | {r['seconds']} | "
              f"{r['lane_macs_per_s']:,} | {r['cycles_per_s']:,} | {r['build_s']} |")
    print("\n| width | generation s (default configuration, fresh process, best of 2) |\n|---|---|")
    for w, s in gen.items():
        print(f"| {w} | {s} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
