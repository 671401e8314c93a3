"""Benchmarks of the core flow: checked lane-MACs per second per simulator and mode, the simulator's own
ceiling, and Verilog generation time.

    .venv/bin/python benchmarks/bench_core.py [--vectors N] [--out DIR]

Prints Markdown tables (paste into docs/benchmarks.md) and writes ``<out>/bench_core.json``.
Throughput uses the ``throughput`` scenario: back-to-back ACCs of random registers at 2-bit precision,
READ_LOAD every 16 operations, every result compared with the golden model; the time counted is the
whole cocotb test (golden model, stimulus encoding, simulation, scoreboard), not the build. ``bulk`` rows also
give the phases. The ceiling is the same bulk harness and stimulus files run by a plain Verilog top (no cocotb,
no golden model, no check): what the simulator itself can do with this datapath.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from mixlane.config import preset
from mixlane.sim_tb.runner import run_regression

PLAIN_TOP = """`timescale 1ns/1ps
module plain_top;
  reg start = 1'b0;
  wire done;
  mixlane_bulk harness(.start(start), .done(done));
  initial begin #20 start = 1'b1; @(posedge done); $finish; end
endmodule
"""


def ceiling_seconds(sim: str, run: Path, work: Path) -> tuple[float, float]:
    """(build, run) seconds of the bulk harness with the stimulus of ``run`` (a bulk run's folder) under a plain
    Verilog top: the simulator alone."""
    work, run = work.resolve(), run.resolve()
    work.mkdir(parents=True, exist_ok=True)
    for f in [*(run / f"sim_{sim}").glob("bulk_*.bin"), run / f"sim_{sim}" / "bulk_hdr.hex"]:
        shutil.copy(f, work / f.name)
    (work / "plain_top.v").write_text(PLAIN_TOP)
    sources = [str(work / "plain_top.v"), str(run / "rtl" / "mixlane_bulk.v"), str(run / "rtl" / "mixlane_datapath.v")]
    t0 = time.perf_counter()
    if sim == "icarus":
        subprocess.run(["iverilog", "-g2012", "-s", "plain_top", "-o", str(work / "plain.vvp"), *sources], check=True)
        cmd = ["vvp", "-n", str(work / "plain.vvp")]
    else:
        subprocess.run(["verilator", "--binary", "--timing", "-Wno-fatal", "-Wno-WIDTH", "-Wno-UNOPTFLAT",
                        "--top-module", "plain_top", "-Mdir", str(work / "obj"), *sources],
                       check=True, capture_output=True)
        cmd = [str(work / "obj" / "Vplain_top")]
    t1 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=work, capture_output=True)
    return t1 - t0, time.perf_counter() - t1


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
        for sim, mode, vectors in (("icarus", "cycle", max(500, args.vectors // 50)),
                                   ("icarus", "bulk", max(500, args.vectors // 50)),
                                   ("verilator", "cycle", args.vectors // 4), ("verilator", "bulk", args.vectors)):
            run = out / f"{sim}_{mode}_w{width}"
            res = run_regression(cfg, sim=sim, out_dir=run, vectors=vectors, scenarios=["throughput"], mode=mode)
            assert res.passed, res.failures
            t = res.tests[0]
            row = {"config": f"{name} (width {width}, 2-bit)", "sim": sim, "mode": mode, "ops": t["ops"],
                   "cycles": t["cycles"], "lane_macs": t["lane_macs"], "seconds": round(t["seconds"], 3),
                   "lane_macs_per_s": round(t["lane_macs"] / t["seconds"]),
                   "cycles_per_s": round(t["cycles"] / t["seconds"]), "build_s": round(res.build_seconds, 1),
                   "phases": {k: round(v, 3) for k, v in t.get("phases", {}).items()}}
            rows.append(row)
            if mode == "bulk":
                build, secs = ceiling_seconds(sim, run, out / f"{sim}_plain_w{width}")
                rows.append({**row, "mode": "ceiling (plain top)", "seconds": round(secs, 3),
                             "lane_macs_per_s": round(t["lane_macs"] / secs),
                             "cycles_per_s": round(t["cycles"] / secs), "build_s": round(build, 1), "phases": {}})
    gen = {w: round(min(generation_seconds(w) for _ in range(2)), 2) for w in (128, 512)}
    info = {"date": str(date.today()), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}", "throughput": rows, "generation_seconds": gen}
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_core.json").write_text(json.dumps(info, indent=1))
    print(f"date {info['date']}, {info['machine']}\n")
    print("| configuration | simulator | mode | operations | checked lane-MACs | seconds | lane-MACs/s | cycles/s "
          "| build s | phases s (stimulus / simulation / golden / check) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ph = " / ".join(f"{r['phases'][k]:.2f}" for k in ("stimulus", "simulation", "golden", "check")) \
            if r["phases"] else ""
        print(f"| {r['config']} | {r['sim']} | {r['mode']} | {r['ops']} | {r['lane_macs']:,} | {r['seconds']} | "
              f"{r['lane_macs_per_s']:,} | {r['cycles_per_s']:,} | {r['build_s']} | {ph} |")
    print("\n| width | generation s (default configuration, fresh process, best of 2) |\n|---|---|")
    for w, s in gen.items():
        print(f"| {w} | {s} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
