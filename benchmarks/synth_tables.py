"""Print the Markdown tables of docs/benchmarks.md from a `benchmarks/bench_synth.sh` output folder.

    .venv/bin/python benchmarks/synth_tables.py [OUT]        (default OUT: out/bench_synth)

Sections: the ratio, area-per-block and power tables of `OUT/compare/report.md` (written by `mixlane report`),
then the width sweep of `OUT/widths/default_w*/report.json`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _section(text: str, first_line: str, end_marker: str) -> str:
    start = text.index(first_line)
    return text[start:text.index(end_marker, start)].strip()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "out/bench_synth")
    try:
        cmp = (out / "compare" / "report.md").read_text()
    except OSError as exc:
        print(f"synth_tables: error: {exc.filename}: {exc.strerror}; run benchmarks/bench_synth.sh first",
              file=sys.stderr)
        return 2
    print(_section(cmp, "| design | precision | MACs/cycle | ratio", "## Area per block"), end="\n\n")
    print(_section(cmp, "| design | decoder |", "## Power"), end="\n\n")
    print(_section(cmp, "| design | precision | total mW", "## Plots"), end="\n\n")
    print("| width | config area um^2 | config synthesis s | Fmax MHz | INT8 baseline area um^2 | baseline "
          "synthesis s | baseline Fmax MHz | area ratio | 2-bit ratio | 1-bit ratio | 2-bit energy ratio | whole run s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for path in sorted((out / "widths").glob("default_w*/report.json"), key=lambda p: int(p.parent.name[9:])):
        r = json.loads(path.read_text())
        c, b = r["designs"]["config"], r["designs"]["baseline"]
        cm = {x["precision"]: x for x in r["comparison"]}
        print(f"| {c['config']['width']} | {c['area_um2']:,.0f} | {c['synthesis']['seconds']['liberty']:.1f} | "
              f"{c['timing']['fmax_mhz']:.1f} | {b['area_um2']:,.0f} | {b['synthesis']['seconds']['liberty']:.1f} | "
              f"{b['timing']['fmax_mhz']:.1f} | {c['area_um2'] / b['area_um2']:.2f} | "
              f"{cm[2]['ratio_macs_per_cycle_per_mm2']:.2f}x | {cm[1]['ratio_macs_per_cycle_per_mm2']:.2f}x | "
              f"{cm[2]['ratio_energy_per_mac']:.2f}x | {r['seconds']['total']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
