"""``mixlane synth``: measured report of one configuration against the INT8 baseline (the orchestration).

:func:`run_synth` synthesizes a configuration **and** its INT8 baseline
(:func:`mixlane.synth.metrics.baseline_config`) with the pinned Yosys engine and a liberty, runs OpenSTA for
the critical path (Fmax), measures power from a gate-level simulation of a golden workload at every precision
the configuration supports (:func:`mixlane.synth.measure_power`), optionally checks the netlists against the
golden model with the cocotb regression (``gate_check``), and returns one JSON-able report.
:func:`preflight` checks every tool and file first. Writing the report is :func:`mixlane.synth.render.write_reports`
(``report.json``, ``report.csv``, ``report.md``), comparing runs :func:`mixlane.synth.compare.compare_reports`;
the report's numbers and their definitions (MACs/cycle, MACs/cycle/mm^2, pJ/MAC, ratios) are
:mod:`mixlane.synth.metrics`, the reuse of an identical baseline :mod:`mixlane.synth.cache`.

A failed step raises :class:`SynthError` (or the simulator's ``ToolError``) and nothing is written: no report
ever carries a missing or made-up number. Report files of an earlier run in the same folder are removed
once the tools are found, before any step runs.

Units: as :mod:`mixlane.synth.metrics` (area in um^2, power in W, energy in pJ, time in ns, frequency in MHz).
"""

from __future__ import annotations

import datetime as _dt
import math
import shlex
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from .cache import baseline_cache_key, load_cached_baseline, store_cached_baseline
from .flow import synthesize
from .metrics import (SCHEMA, baseline_config, comparison_rows, design_entry, mix_entry, rel_path, same_config,
                      validate_report)
from .render import REPORT_FILES
from .sta import sta_timing
from .tools import (DEFAULT_CELL_MODELS, DEFAULT_CLOCK_NS, DEFAULT_LIBERTY, DEFAULT_STA, DEFAULT_YOSYS,
                    LIBERTY_PACKAGE, SynthError, find_tool, tool_version, yosys_version)
from .workload import mix_label

__all__ = [
    "GATE_SCENARIOS",
    "preflight",
    "run_synth",
]


#: Scenarios of the optional gate-level check (short ones; ``exhaustive`` and ``tensor`` take long on netlists).
GATE_SCENARIOS = ("random", "random_stalls", "corners", "overflow")


_MODELS_PACKAGE = LIBERTY_PACKAGE

Progress = Callable[[str], None]


# -------------------------------------------------------------------------------------------- preflight


def preflight(*, liberty: str | Path | None, cell_models: str | Path | None, yosys: str = DEFAULT_YOSYS,
              sta: str = DEFAULT_STA, gate_check: bool = False) -> dict[str, Any]:
    """Check every tool and file before any work; one-line :class:`SynthError` naming the package to install.

    Returns ``{"liberty", "cell_models", "tools": {name: version}}``.
    """
    if liberty is None:
        lib = DEFAULT_LIBERTY
        if not lib.is_file():
            raise SynthError(f"liberty {lib} not found; install the Debian package {LIBERTY_PACKAGE} "
                             f"(apt-get install {LIBERTY_PACKAGE}) or pass --liberty PATH")
    else:
        lib = Path(liberty)
        if not lib.is_file():
            raise SynthError(f"--liberty: {str(liberty)!r} not found; pass an existing .lib or .lib.gz file")
    if cell_models is not None:
        models = Path(cell_models)
        if not models.is_file():
            raise SynthError(f"--cell-models: {str(cell_models)!r} not found; pass the Verilog models of the "
                             f"liberty's cells")
    elif liberty is None or lib.resolve() == DEFAULT_LIBERTY.resolve():
        models = DEFAULT_CELL_MODELS
        if not models.is_file():
            raise SynthError(f"cell models {models} not found; install the Debian package {_MODELS_PACKAGE} "
                             f"(apt-get install {_MODELS_PACKAGE}) or pass --cell-models PATH")
    else:
        stem = lib.name[:-3] if lib.name.endswith(".gz") else lib.name
        models = lib.with_name(Path(stem).stem + ".v")
        if not models.is_file():
            raise SynthError(f"--cell-models: no Verilog models known for liberty {lib.name} (looked for "
                             f"{models.name} beside it); pass --cell-models PATH")
    tools = {"yosys": yosys_version(yosys)}  # raises with the PyPI package to install
    sta_exe = find_tool(sta)  # raises naming the Debian package opensta
    tools["sta"] = "OpenSTA " + tool_version(sta_exe, ["-version"], r"^\S+$")
    for name in ("iverilog", "vvp"):
        try:
            exe = find_tool(name)
        except SynthError:
            raise SynthError(f"{name}: not found; install the Debian package iverilog (apt-get install iverilog)") \
                from None
        if name == "iverilog":
            tools["iverilog"] = tool_version(exe, ["-V"], r"Icarus Verilog version [^\n(]*")
    if gate_check:
        from mixlane.sim_tb.runner import ToolError, check_simulator

        try:
            check_simulator("icarus")
        except ToolError as exc:
            raise SynthError(str(exc)) from None
    return {"liberty": lib.resolve(), "cell_models": models.resolve(), "tools": tools}


# --------------------------------------------------------------------------------------------- the run
class _Clock:
    def __init__(self, progress: Progress | None):
        self.t0 = time.perf_counter()
        self.progress = progress
        self.lock = threading.Lock()

    def say(self, text: str) -> None:
        if self.progress is not None:
            with self.lock:
                self.progress(f"[{time.perf_counter() - self.t0:7.1f} s] {text}")


def run_synth(cfg: Any, out_dir: str | Path, *, liberty: str | Path | None = None,
              cell_models: str | Path | None = None, clock_ns: float = DEFAULT_CLOCK_NS,
              zero_fraction: float = 0.5, power_ops: int = 400, window: int = 256, warmup: int = 32,
              seed: int = 1, glitches: bool = False, gate_check: bool = False, gate_vectors: int = 200,
              gate_scenarios: tuple[str, ...] | list[str] = GATE_SCENARIOS, yosys: str = DEFAULT_YOSYS,
              sta: str = DEFAULT_STA, jobs: int = 1, transistors: bool = False, command: str | None = None,
              progress: Progress | None = None, cache_dir: str | Path | None = None,
              mix: dict[int, float] | None = None, adder_cells: bool = True) -> dict[str, Any]:
    """Synthesize ``cfg`` and its INT8 baseline, measure timing and power, compare; return the report dict.

    ``out_dir`` receives one work folder per design (``config/``, ``baseline/``: scripts, logs, netlist,
    ``sta/``, ``power_p<P>/``, ``gate_check/``). ``jobs`` runs that many synthesis/power steps at once.
    ``adder_cells``: map full adders to the liberty's full-adder cell (:func:`mixlane.synth.flow.synthesize`).
    ``mix`` (precision -> fraction): also measure the configuration's power under that precision mix
    (:func:`mixlane.synth.workload.mix_meta`), reported as ``report["mix"]``.
    ``progress`` gets one line per step start and end, with elapsed times. ``cache_dir``: reuse the
    baseline's synthesis, timing and power from an earlier run with identical inputs (see
    :func:`mixlane.synth.cache.baseline_cache_key`) and store new ones there; ``None`` measures every time. ``transistors`` also runs the
    technology-independent ``generic.ys`` (Yosys gates and a CMOS transistor estimate; hierarchical
    ``synth -hieropt``, which is very slow on element-mode designs). Raises :class:`SynthError`.
    Does not write the report files (see :func:`mixlane.synth.render.write_reports`).
    """
    if not (isinstance(clock_ns, (int, float)) and clock_ns > 0 and math.isfinite(clock_ns)):
        raise SynthError(f"--clock-ns: {clock_ns!r} is not allowed; use a positive period in ns")
    if not 0.0 <= zero_fraction <= 1.0:
        raise SynthError(f"--zero-fraction: {zero_fraction!r} is not allowed; use 0 to 1")
    if window < 1 or warmup < 1 or power_ops < warmup + window:
        raise SynthError(f"--power-ops {power_ops}, --window {window}, --warmup {warmup}: the window and the "
                         f"warm-up must be positive and fit in the operations (power_ops >= warmup + window)")
    if gate_check and gate_vectors < 1:
        raise SynthError(f"--gate-vectors: {gate_vectors} is not allowed; use a positive count")
    gate_scenarios = tuple(gate_scenarios or GATE_SCENARIOS)
    if gate_check:
        from mixlane.sim_tb.stimulus import SCENARIOS

        unknown = [s for s in gate_scenarios if s not in SCENARIOS]
        if unknown:
            raise SynthError(f"--gate-scenario: {unknown[0]!r} is not a scenario; use some of {list(SCENARIOS)}")
    if mix is not None:
        from .workload import check_mix

        mix = check_mix(cfg, mix)
    jobs = max(1, int(jobs))
    clock = _Clock(progress)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = preflight(liberty=liberty, cell_models=cell_models, yosys=yosys, sta=sta, gate_check=gate_check)
    # from here on a failure must not leave an earlier run's report looking like this run's
    stale = [name for name in REPORT_FILES if (out / name).exists()]
    for name in stale:
        (out / name).unlink()
    lib, models = env["liberty"], env["cell_models"]
    base, notes = baseline_config(cfg)
    same = same_config(cfg, base)
    designs: dict[str, Any] = {"config": cfg} if same else {"config": cfg, "baseline": base}
    clock.say(f"{cfg.name} [{cfg.content_hash}] width {cfg.width}, {cfg.precision_mode}, precisions "
              f"{list(cfg.mode_precisions)}; baseline: "
              + ("the configuration itself" if same else f"INT8 {base.mac} [{base.content_hash}]")
              + f"; {env['tools']['yosys'].split(' (')[0]}, {lib.name}, clock {clock_ns:g} ns"
              + (f"; removed stale {', '.join(stale)}" if stale else ""))

    # 1. Verilog (sequential: Amaranth's converter), then synthesis (parallel)
    from mixlane.rtl.generate import write_design

    verilog = {}
    for role, c in designs.items():
        t0 = time.perf_counter()
        verilog[role] = write_design(c, out / role)
        clock.say(f"{role}: generated {rel_path(verilog[role], out)} in {time.perf_counter() - t0:.1f} s")

    def do_synth(role: str) -> dict[str, Any]:
        clock.say(f"{role}: synthesis (Yosys, per-block ABC) ...")
        t0 = time.perf_counter()
        syn = synthesize(verilog[role], out / role, liberty=lib, clock_ns=clock_ns, yosys=yosys,
                         generic=transistors, adder_cells=adder_cells)
        clock.say(f"{role}: synthesis done in {time.perf_counter() - t0:.1f} s: {syn['area_um2']:,.0f} um^2, "
                  f"{syn['cells']:,} cells")
        return syn

    def do_timing(role: str, syn: dict[str, Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        tim = sta_timing(syn["netlist"], lib, clock_ns, out / role / "sta", sta=sta)
        clock.say(f"{role}: timing (OpenSTA) done in {time.perf_counter() - t0:.1f} s: critical path "
                  f"{tim['critical_path_ns']:.3f} ns, Fmax {tim['fmax_mhz']:.1f} MHz")
        return tim

    def do_power(role: str, c: Any, syn: dict[str, Any], p: int | None, p_mix=None) -> dict[str, Any]:
        from .power import measure_power

        what = f"{p} bit" if p_mix is None else "mix " + mix_label(p_mix)
        clock.say(f"{role}: power at {what} (gate-level simulation, {power_ops} ops, window {window}) ...")
        t0 = time.perf_counter()
        pw = measure_power(c, syn["netlist"], out / role / (f"power_p{p}" if p_mix is None else "power_mix"),
                           liberty=lib, cell_models=models, clock_ns=clock_ns, precision=p, mix=p_mix,
                           zero_fraction=zero_fraction, n_ops=power_ops, seed=seed, window_cycles=window,
                           warmup_cycles=warmup, glitches=glitches, sta=sta)
        clock.say(f"{role}: power at {what} done in {time.perf_counter() - t0:.1f} s: "
                  f"{pw['total_w'] * 1e3:.3f} mW, {pw['pj_per_mac']:.3f} pJ/MAC")
        return pw

    cached: dict[str, Any] = {}
    cache_key = None
    if cache_dir is not None and not same:
        cache_key = baseline_cache_key(verilog["baseline"], liberty=lib, cell_models=models, clock_ns=clock_ns,
                                       tools=env["tools"], transistors=transistors, adder_cells=adder_cells,
                                       workload=dict(zero_fraction=zero_fraction, power_ops=power_ops,
                                                     window=window, warmup=warmup, seed=seed, glitches=glitches))
        hit = load_cached_baseline(Path(cache_dir), cache_key, out / "baseline")
        if hit is not None:
            cached["baseline"] = hit
            clock.say(f"baseline: synthesis, timing and power reused from the cache "
                      f"({Path(cache_dir) / 'baselines' / cache_key}; --no-cache measures again)")
            notes.append(f"baseline: synthesis, timing and power reused from an identical earlier run "
                         f"(cache key {cache_key[:16]}); its VCD files are not kept")
    todo = [role for role in designs if role not in cached]

    t_work = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        syn_f = {role: pool.submit(do_synth, role) for role in todo}
        syns = {role: f.result() for role, f in syn_f.items()}
        tim_f = {role: pool.submit(do_timing, role, syns[role]) for role in todo}
        pow_f = {role: {p: pool.submit(do_power, role, designs[role], syns[role], p)
                        for p in designs[role].mode_precisions} for role in todo}
        mix_f = pool.submit(do_power, "config", cfg, syns["config"], None, mix) if mix is not None else None
        tims = {role: f.result() for role, f in tim_f.items()}
        pows = {role: {p: f.result() for p, f in fs.items()} for role, fs in pow_f.items()}
        pow_mix = mix_f.result() if mix_f is not None else None
    finally:  # on the first failure: drop the steps not started yet (running ones finish)
        pool.shutdown(wait=True, cancel_futures=True)
    for role, hit in cached.items():
        syns[role], tims[role], pows[role] = hit["synthesis"], hit["timing"], hit["power"]
    if cache_key is not None and "baseline" not in cached:
        store_cached_baseline(Path(cache_dir), cache_key, out / "baseline",
                              {"synthesis": syns["baseline"], "timing": tims["baseline"],
                               "power": pows["baseline"]})

    # 2. optional gate-level regression (sequential: the runner redirects the process's output)
    gates: dict[str, Any] = {}
    if gate_check:
        from mixlane.sim_tb.runner import ToolError, run_regression

        for role, c in designs.items():
            clock.say(f"{role}: gate-level check (cocotb on Icarus, netlist + cell models, "
                      f"{', '.join(gate_scenarios)}, {gate_vectors} vectors) ...")
            t0 = time.perf_counter()
            work = out / role / "gate_check"
            try:
                res = run_regression(c, sim="icarus", out_dir=work, vectors=gate_vectors, seed=seed,
                                     rtl=syns[role]["netlist"], extra_sources=[models],
                                     scenarios=list(gate_scenarios))
            except ToolError as exc:
                raise SynthError(f"gate-level check of the {role} netlist: {exc}") from None
            cmd = ["mixlane", "verify", "--config", rel_path(out / role / "config.json", out),
                   "--rtl", rel_path(syns[role]["netlist"], out), "--extra-source", str(models),
                   *[a for s in gate_scenarios for a in ("--scenario", s)], "--vectors", str(gate_vectors),
                   "--seed", str(seed), "-o", rel_path(work, out)]
            gates[role] = {"passed": bool(res.passed), "simulator": "icarus", "scenarios": list(gate_scenarios),
                           "vectors": gate_vectors, "seed": seed, "checked_results": res.checked_results,
                           "lane_macs": res.lane_macs, "failures": list(res.failures),
                           "results_xml": rel_path(res.results_xml, out), "log": rel_path(res.log, out),
                           "seconds": time.perf_counter() - t0, "command": shlex.join(cmd)}
            clock.say(f"{role}: gate-level check {'PASS' if res.passed else 'FAIL'} in "
                      f"{time.perf_counter() - t0:.1f} s ({res.checked_results} results checked)")

    # 3. assemble
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "mixlane_version": _mixlane_version(),
        "command": command,
        "tools": {**env["tools"], "python": sys.version.split()[0]},
        "engine": syns["config"]["engine"], "engine_version": syns["config"]["engine_version"],
        "library": syns["config"]["library"], "liberty": str(lib), "cell_models": str(models),
        "adder_cell": syns["config"].get("adder_cell"),
        "clock_ns": float(clock_ns),
        "workload": {"zero_fraction": zero_fraction, "mix": None if mix is None else mix_label(mix),
                     "n_ops": power_ops, "window_cycles": window,
                     "warmup_cycles": warmup, "seed": seed, "read_every": 16,
                     "simulation": pows["config"][cfg.mode_precisions[0]]["simulation"]},
        "definitions": {
            "macs_per_cycle": "sustained MACs per cycle of back-to-back ACCs at that precision: element products of "
                              "one register pair / the cycles the architecture takes for it",
            "macs_per_cycle_per_mm2": "macs_per_cycle / total mapped cell area in mm^2",
            "pj_per_mac": "total power x clock period / MACs per cycle done in the measured window",
            "ratio": "value / INT8 baseline value (baseline at 8 bits)",
            "fmax_mhz": "1000 / (clock period - worst slack), OpenSTA on the mapped netlist",
        },
        "baseline_is_config": same,
        "designs": {},
        "comparison": [],
        "notes": list(notes),
        "gate_check": None,
    }
    for role, c in designs.items():
        report["designs"][role] = design_entry(role, c, syns[role], tims[role], pows[role], gates.get(role), out)
    if same:
        report["designs"]["baseline"] = {**report["designs"]["config"], "role": "baseline", "same_as": "config"}
    report["comparison"] = comparison_rows(report["designs"]["config"], report["designs"]["baseline"])
    report["mix"] = None if pow_mix is None else mix_entry(pow_mix, report["designs"]["config"],
                                                            report["designs"]["baseline"], out)
    if gate_check:
        report["gate_check"] = {"passed": all(g["passed"] for g in gates.values()),
                                "designs": {r: g["passed"] for r, g in gates.items()}}
    for role, d in report["designs"].items():
        if (role == "baseline" and same) or d["timing"]["met"]:
            continue
        report["notes"].append(f"{role}: the critical path ({d['timing']['critical_path_ns']:.3f} ns) is longer "
                               f"than the {clock_ns:g} ns clock; power is simulated at {clock_ns:g} ns anyway "
                               f"(zero-delay), the design would not run there")
    no_zeros = [p for p, v in report["designs"]["config"]["precisions"].items() if not v["zeros_applied"]]
    if no_zeros and zero_fraction > 0:
        report["notes"].append(f"{', '.join(no_zeros)} bit: bipolar elements have no zero, the zero fraction "
                               f"({zero_fraction:g}) is not applied there")
    gated = {p: v["gated_lane_fraction"] for p, v in report["designs"]["config"]["precisions"].items()
             if v.get("gated_lane_fraction") is not None}
    if gated:
        report["notes"].append("zero gating isolated " + ", ".join(f"{f:.1%} of the lanes at {p} bit"
                                                                 for p, f in gated.items())
                               + " (lanes whose activation or weight bits are all zero)")
    unattr = {r: d["synthesis"].get("unattributed_cells") for r, d in report["designs"].items()}
    for role, n in unattr.items():
        if n and not (role == "baseline" and same):
            report["notes"].append(f"{role}: {n} word-level cells were mapped outside their block and counted "
                                   f"as control")
    report["seconds"] = {"total": time.perf_counter() - clock.t0, "work": time.perf_counter() - t_work}
    validate_report(report)
    clock.say(f"done in {report['seconds']['total']:.1f} s")
    return report


def _mixlane_version() -> str:
    try:
        from importlib.metadata import version

        return version("mixlane")
    except Exception:  # noqa: BLE001 (not installed: running from a checkout)
        return "unknown"
