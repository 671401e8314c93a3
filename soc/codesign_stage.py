"""``mixlane codesign --soc-images N``: the co-designed network on the processor, against INT8 baselines.

Runs, on the same test images, each checked logit by logit against the golden model:

- the co-designed network through this configuration's extension (weights resident; and weights streamed, the
  design without reuse: the ``dataflows`` of the report);
- ``rv32im_int8``: the INT8 network (fine-tuned for the INT8 baseline datapath) with reference kernels on the
  plain core, the way TensorFlow Lite Micro's reference kernels compute;
- ``int8_extension``: the same INT8 network through the extension built from the INT8 baseline datapath of the
  same width (a CFU Playground-style SIMD MAC unit);
- ``bitserial_sw``: the co-designed network itself on the plain core with bit-serial kernels (AND/XNOR and
  popcount over bit planes, Cowan et al.'s method for 1- and 2-bit operators), every layer.

Cycles come from ``mcycle`` around every layer (requantization and packing included, printing excluded).
"""

from __future__ import annotations

from dataclasses import dataclass

from mixlane.codesign.flow import Stage, StageContext, int8_baseline
from .build import build_soc
from .errors import SocError
from .network import NetworkRun, breakdown, run_network

__all__ = ["soc_stage", "SocOptions"]


@dataclass(frozen=True)
class SocOptions:
    images: int = 10
    a_regs: int = 64
    w_regs: int = 64
    max_cycles: int = 2_000_000_000


def _brief(r: NetworkRun) -> dict:
    return {"images_checked": int(len(r.logits)), "mismatches": r.mismatches,
            "cycles_per_inference": round(r.cycles_per_inference, 1),
            "cycles_per_layer": [round(v, 1) for v in r.cycles_per_layer]}


def _run(ctx: StageContext, o: SocOptions) -> dict:
    n = min(o.images, len(ctx.ds.x_test))
    x = ctx.ds.x_test[:n]
    folder = ctx.out / "soc"
    ctx.log("  SoC: building the processor with this extension (cached) ...")
    soc = build_soc(ctx.cfg, a_regs=o.a_regs, w_regs=o.w_regs)
    mixed, int8 = ctx.mixed, ctx.int8
    main = run_network(soc, mixed.net, mixed.reds, x, mixed.logits[:n], folder, max_cycles=o.max_cycles)
    flows = {s: run_network(soc, mixed.net, mixed.reds, x, mixed.logits[:n], folder, schedule=s,
                            max_cycles=o.max_cycles) for s in ("weights", "activations", "streamed")}
    ref = run_network(soc, int8.net, int8.reds, x, int8.logits[:n], folder, kind="rv32im", max_cycles=o.max_cycles)
    soc8 = build_soc(int8_baseline(ctx.cfg), a_regs=o.a_regs, w_regs=o.w_regs)
    ext8 = run_network(soc8, int8.net, int8.reds, x, int8.logits[:n], folder / "int8", max_cycles=o.max_cycles)
    bits = run_network(soc, mixed.net, mixed.reds, x, mixed.logits[:n], folder, kind="bitserial",
                       max_cycles=o.max_cycles)
    runs = [main, *flows.values(), ref, ext8, bits]
    parts = breakdown(soc, mixed.net, mixed.reds, x, folder / "breakdown", max_cycles=o.max_cycles)
    cyc = main.cycles_per_inference
    ctx.log(f"  SoC: {n} images, {cyc:,.0f} cycles per inference (INT8 reference kernels {ref.cycles_per_inference:,.0f},"
            f" INT8 extension {ext8.cycles_per_inference:,.0f}); "
            f"{sum(r.mismatches for r in runs)} mismatching images")
    simulated = sum(r.total_cycles for r in runs)
    seconds = sum(r.seconds for r in runs)
    return main.summary() | {
        "mismatches": sum(r.mismatches for r in runs),
        "schedule": "resident",
        "baselines": {"rv32im_int8": _brief(ref), "int8_extension": _brief(ext8), "bitserial_sw": _brief(bits)},
        "speedup": {"vs_rv32im_int8": ref.cycles_per_inference / cyc, "vs_int8_extension": ext8.cycles_per_inference / cyc,
                    "vs_bitserial_sw": bits.cycles_per_inference / cyc},
        "dataflows": {"resident": _brief(main)} | {k: _brief(v) for k, v in flows.items()},
        "breakdown": parts,
        "extension": {"a_regs": o.a_regs, "w_regs": o.w_regs, "build": str(soc.folder)},
        "simulation": {"cycles": simulated, "seconds": round(seconds, 2),
                       "cycles_per_second": round(simulated / seconds) if seconds else None},
    }


def _markdown(s: dict) -> list[str]:
    b = s["baselines"]
    d = s["dataflows"]
    rows = [("this configuration, extension (resident: per layer the loop nest moving fewer words)", d["resident"]),
            ("this configuration, extension (resident, weights outer)", d["weights"]),
            ("this configuration, extension (resident, activations outer)", d["activations"]),
            ("this configuration, extension (weights streamed: no reuse)", d["streamed"]),
            ("INT8 network, INT8 extension", b["int8_extension"]),
            ("INT8 network, RV32IM reference kernels", b["rv32im_int8"]),
            ("this network, bit-serial kernels on the plain core", b["bitserial_sw"])]
    layers = len(s["cycles_per_layer"])
    lines = ["## On the processor (VexRiscv + extension)", "",
             f"{s['images_checked']} test images on each design, every logit compared with the golden model: "
             f"{s['mismatches']} mismatching images. Cycles per inference from `mcycle` (simulated: "
             f"{s['simulation']['cycles']:,} cycles at {s['simulation']['cycles_per_second'] or 0:,} cycles/s).", "",
             "| design | cycles / inference | " + " | ".join(f"layer {i}" for i in range(layers)) + " | mismatches |",
             "|---|---:|" + "---:|" * layers + "---:|"]
    for name, r in rows:
        lines.append(f"| {name} | {r['cycles_per_inference']:,.0f} | "
                     + " | ".join(f"{v:,.0f}" for v in r["cycles_per_layer"]) + f" | {r['mismatches']} |")
    sp = s["speedup"]
    lines += ["", f"Speed-up: {sp['vs_rv32im_int8']:.1f}x over the RV32IM INT8 kernels, "
                  f"{sp['vs_int8_extension']:.2f}x over INT8 through the extension, "
                  f"{sp['vs_bitserial_sw']:.1f}x over this network's bit-serial kernels.", ""]
    bd = s["breakdown"]
    names = {"requantization": "requantization and ReLU (C)", "packing": "activation packing (gather, `a_push`)",
             "datapath": "datapath instructions (`mac`, `read_load`)",
             "other": "the rest: weight and metadata pushes, loops, control"}
    lines += [f"Where the cycles of one inference go (this configuration, weights resident; {bd['cycles']:,} "
              "cycles; each part measured as what leaving it out of the program saves):", "",
              "| part | cycles | share |", "|---|---:|---:|"]
    lines += [f"| {names[k]} | {v:,} | {100 * v / bd['cycles']:.0f}% |" for k, v in bd["parts"].items()]
    return lines + [""]


def _check(cfg, o: SocOptions) -> None:
    from .extension import check_extension
    from .program import check_compiler
    from .build import check_tools
    from .top import core_verilog

    check_extension(cfg, o.a_regs, o.w_regs)
    check_extension(int8_baseline(cfg), o.a_regs, o.w_regs)
    core_verilog()
    check_compiler()
    check_tools()


def soc_stage(options: SocOptions) -> Stage:
    """The co-design stage of the processor target (``report.json`` key ``soc``)."""
    if options.images < 1:
        raise SocError(f"--soc-images: {options.images} is not allowed; use a positive count")
    return Stage("soc", lambda ctx: _run(ctx, options), _markdown, lambda cfg: _check(cfg, options))
