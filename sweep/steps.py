"""The sweep steps: one function each, ``run(cfg, folder, **options) -> metrics`` (a flat JSON table of
numbers and strings that becomes the point's columns), registered in :data:`STEPS`. A step raises to fail.

Adding a step is one function and one :func:`register` call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .spec import SweepError

__all__ = ["Step", "STEPS", "register"]


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[..., dict[str, Any]]
    options: dict[str, Any]           # allowed keyword options and their defaults
    summary: str
    packages: tuple[str, ...] = ()    # mixlane packages whose code the step runs (its cache key covers them)

    def check_options(self, opts: dict[str, Any]) -> None:
        bad = sorted(set(opts) - set(self.options))
        if bad:
            raise SweepError(f"options.{self.name}.{bad[0]}: not an option of step {self.name!r}; use "
                             f"{sorted(self.options) or 'none'}")

    def resolved(self, opts: dict[str, Any]) -> dict[str, Any]:
        return {**self.options, **opts}


STEPS: dict[str, Step] = {}


def register(name: str, summary: str, packages: tuple[str, ...] = (), **options: Any):
    """Register ``fn(cfg, folder, **options)`` as step ``name``; ``packages``: the mixlane packages it runs
    beyond the configuration and the golden model (``mixlane.rtl``, ``mixlane.sim_tb``, ...)."""
    def deco(fn):
        STEPS[name] = Step(name, fn, options, summary, tuple(packages))
        return fn
    return deco


_RTL = ("mixlane.rtl",)
_SIM = _RTL + ("mixlane.sim_tb",)


@register("generate", "Verilog of the configuration: lines and bytes", packages=_RTL)
def _generate(cfg, folder: Path) -> dict[str, Any]:
    from mixlane.rtl.generate import write_design

    path = write_design(cfg, folder)
    text = Path(path).read_text()
    return {"verilog_lines": text.count("\n"), "verilog_bytes": len(text.encode())}


@register("verify", "cocotb regression against the golden model", packages=_SIM, sim="icarus", vectors=500, seed=1, mode="bulk")
def _verify(cfg, folder: Path, *, sim: str, vectors: int, seed: int, mode: str) -> dict[str, Any]:
    from mixlane.sim_tb.runner import run_regression

    res = run_regression(cfg, sim=sim, out_dir=folder, vectors=vectors, seed=seed, mode=mode, fast_build=True)
    if not res.passed:
        raise RuntimeError(f"regression failed: {res.failures[:1] or 'see ' + res.log}")
    return {"verify_passed": True, "verify_results": res.checked_results,
            "verify_coverage": res.coverage.get("total", {}).get("coverage") if res.coverage else None}


@register("prove", "formal proof of every lane (Yosys sat)", packages=_RTL + ("mixlane.formal",), timeout=600.0)
def _prove(cfg, folder: Path, *, timeout: float) -> dict[str, Any]:
    from mixlane.formal import prove

    report = prove(cfg, folder, timeout=timeout)
    bad = [p for p in report.proofs if p.status != "proved"]
    if bad:
        raise RuntimeError(f"proof of {bad[0].module} at {bad[0].precision} bits: {bad[0].status}")
    return {"prove_proofs": len(report.proofs), "prove_seconds": round(sum(p.seconds for p in report.proofs), 2)}


@register("synth", "Yosys area, OpenSTA Fmax, power per precision against the INT8 baseline",
          packages=_SIM + ("mixlane.synth",), clock_ns=10.0, zero_fraction=0.5, power_ops=400, window=256, warmup=32, seed=1)
def _synth(cfg, folder: Path, **opts: Any) -> dict[str, Any]:
    from mixlane.synth.cache import default_cache_dir
    from mixlane.synth.render import write_reports
    from mixlane.synth.report import run_synth

    rep = run_synth(cfg, folder, cache_dir=default_cache_dir(), **opts)
    write_reports(rep, folder)
    d, b = rep["designs"]["config"], rep["designs"]["baseline"]
    out: dict[str, Any] = {"area_um2": d["area_um2"], "fmax_mhz": d["timing"]["fmax_mhz"],
                           "baseline_area_um2": b["area_um2"]}
    for p, row in d["precisions"].items():
        out[f"macs_per_cycle_{p}b"] = row.get("macs_per_cycle")
        out[f"pj_per_mac_{p}b"] = row.get("pj_per_mac")
    for block, row in d.get("blocks", {}).items():
        out[f"area_{block}_um2"] = row.get("area_um2")
    return out


@register("codesign", "train, compile and run a network (mixlane codesign); with energy per inference when the "
          "sweep runs synth before it",
          packages=_SIM + ("mixlane.codesign",), dataset="digits", model=None,
          budget=None, epochs=80, qat_epochs=60, seed=0, rtl_images=4, sim="icarus")
def _codesign(cfg, folder: Path, **opts: Any) -> dict[str, Any]:
    from mixlane.codesign.flow import Options, codesign

    synth = sorted(Path(folder).parent.glob("synth-*/report.json"))   # the point's own synth step, run before
    if synth:
        opts = {**opts, "synth_report": str(synth[-1])}
    rep = codesign(cfg, Options(**opts), folder, log=lambda s: None)
    out = {"codesign_status": rep["status"], "acc_fp32": rep["accuracy"]["fp32"], "acc_int8": rep["accuracy"]["int8"],
           "acc_mixed": rep["accuracy"]["mixed"], "compression_vs_fp32": rep["compression"]["vs_fp32"],
           "cycles": rep["cycles"]["config"], "cycles_int8": rep["cycles"]["int8_baseline"],
           "rtl_mismatches": rep["rtl"].get("mismatches")}
    if rep.get("energy"):
        out["pj_per_inference"] = rep["energy"]["config"]["pj"]
    return out


@register("soc", "the co-designed network on the RISC-V SoC with the configuration's extension: cycles per "
          "inference against INT8 reference kernels and an INT8 extension (mixlane codesign --soc-images)",
          packages=_SIM + ("mixlane.codesign", "mixlane.soc"), dataset="digits", model=None, budget=None, epochs=80,
          qat_epochs=60, seed=0, soc_images=4)
def _soc(cfg, folder: Path, *, soc_images: int, **opts: Any) -> dict[str, Any]:
    from mixlane.codesign.flow import Options, codesign
    from mixlane.soc.codesign_stage import SocOptions, soc_stage

    rep = codesign(cfg, Options(**opts, rtl_images=0), folder, log=lambda s: None,
                   stages=(soc_stage(SocOptions(images=soc_images)),))
    out = {"codesign_status": rep["status"], "acc_mixed": rep["accuracy"]["mixed"]}
    s = rep.get("soc")
    if s:
        if s["mismatches"]:
            raise RuntimeError(f"{s['mismatches']} images differ from the golden model on the SoC "
                               f"(see {Path(folder) / 'report.md'})")
        out |= {"soc_cycles": s["cycles_per_inference"],
                "soc_cycles_rv32im_int8": s["baselines"]["rv32im_int8"]["cycles_per_inference"],
                "soc_cycles_int8_extension": s["baselines"]["int8_extension"]["cycles_per_inference"],
                "soc_speedup_vs_rv32im": s["speedup"]["vs_rv32im_int8"],
                "soc_speedup_vs_int8_extension": s["speedup"]["vs_int8_extension"]}
    return out
