"""Co-design on every preset: a short run each (few epochs, one RTL image), status, accuracy, compression and
cycles against the INT8 baseline. The full digits run is the command in docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_codesign.py [--epochs 10] [--rtl-images 1] [--preset NAME ...] [-o DIR]
"""

from __future__ import annotations

import argparse
import time

from mixlane.codesign.flow import Options, codesign
from mixlane.config import PRESETS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--qat-epochs", type=int, default=5)
    ap.add_argument("--rtl-images", type=int, default=1)
    ap.add_argument("--preset", action="append", help="only these presets (repeatable; default: all)")
    ap.add_argument("-o", "--output", default="out/bench_codesign/presets")
    args = ap.parse_args()
    print("| preset | status | fp32 | INT8 | mixed | weight bits | vs fp32 | cycles | INT8 cycles | speedup | RTL |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, (_, cfg) in PRESETS.items():
        if args.preset and name not in args.preset:
            continue
        t0 = time.perf_counter()
        opts = Options(epochs=args.epochs, qat_epochs=args.qat_epochs, rtl_images=args.rtl_images)
        r = codesign(cfg, opts, f"{args.output}/{name}", log=lambda s: None)
        a, c, cy = r["accuracy"], r["compression"], r["cycles"]
        mixed = "-" if a["mixed"] is None else f"{a['mixed']:.3f}"
        speed = "-" if cy["speedup_vs_int8"] is None else f"{cy['speedup_vs_int8']:.2f}x"
        rtl = (f"{r['rtl']['images_checked']} img, {r['rtl']['mismatches']} bad" if r["rtl"].get("images_checked")
               else "-")
        print(f"| {name} | {r['status']} | {a['fp32']:.3f} | {a['int8']:.3f} | {mixed} | "
              f"{r['size']['mean_weight_bits']:.2f} | {c['vs_fp32']:.1f}x | {cy['config'] or '-'} | "
              f"{cy['int8_baseline']} | {speed} | {rtl} | {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
