"""Standard-cell area of the processor target: the core alone and the extension of a configuration, one flow.

    python benchmarks/soc_area.py --preset channel-3level -o out/soc-area

Both designs go through the same Yosys script (``synth -flatten``, flip-flops and ABC mapped to the default
liberty, OSU 0.18 um from Debian's qflow-tech-osu018) with the pinned engine. Memories become flip-flops in
both: VexRiscv's 4 KiB instruction and data caches, the extension's A/W/M buffers. The extension is also
synthesized with one-entry buffers, which isolates the datapath and the sequencer from the buffer storage.
Prints one JSON object (areas in um^2, flip-flop counts) and writes it to ``-o``/area.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import time
from pathlib import Path

from mixlane.config import preset
from mixlane.soc.build import CFU_TOP, component_verilog
from mixlane.soc.extension import MixlaneCfu
from mixlane.soc.top import core_verilog
from mixlane.synth.tools import DEFAULT_LIBERTY, run_yosys

SCRIPT = """read_verilog -sv ${VERILOG}
synth -top ${TOP} -flatten
dfflibmap -liberty ${LIBERTY}
abc -liberty ${LIBERTY}
opt_clean
stat -liberty ${LIBERTY}
tee -o stat.txt stat -liberty ${LIBERTY}
"""


def area(work: Path, verilog: Path, top: str, reuse: bool) -> dict:
    """Area and flip-flops of ``top`` in ``verilog``; ``reuse``: take ``work``'s earlier result for the same
    Verilog (the core takes ~8 minutes)."""
    work.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(verilog.read_bytes()).hexdigest()
    t0 = time.perf_counter()
    if not (reuse and (work / "stat.txt").exists() and (work / "verilog.sha256").read_text() == digest):
        shutil.copy(verilog, work / verilog.name)
        (work / "area.ys").write_text(SCRIPT)
        run_yosys(work / "area.ys", work, {"VERILOG": verilog.name, "TOP": top, "LIBERTY": DEFAULT_LIBERTY.name},
                  files=[DEFAULT_LIBERTY])
        (work / "verilog.sha256").write_text(digest)
    text = (work / "stat.txt").read_text()
    chip = float(re.search(r"Chip area for (?:top )?module.*?:\s*([\d.]+)", text).group(1))
    ffs = sum(int(n) for n, cell in re.findall(r"^\s+(\d+)\s+\S*\s+(DFF\w*)", text, re.M))
    return {"area_um2": chip, "flip_flops": ffs, "seconds": round(time.perf_counter() - t0, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="channel-3level")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--reuse", action="store_true", help="reuse a design's earlier result in -o for the same Verilog")
    args = ap.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    cfg = preset(args.preset)
    res = {"preset": args.preset, "config_hash": cfg.content_hash, "liberty": str(DEFAULT_LIBERTY)}
    res["core"] = area(out / "core", core_verilog(), "VexRiscv", args.reuse)
    for name, regs in (("extension", 64), ("extension_1_entry_buffers", 1)):
        v = out / f"{name}.v"
        v.write_text(component_verilog(MixlaneCfu(config=cfg, a_regs=regs, w_regs=regs), CFU_TOP))
        res[name] = area(out / name, v, CFU_TOP, args.reuse)
    res["extension_over_core"] = res["extension"]["area_um2"] / res["core"]["area_um2"]
    (out / "area.json").write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
