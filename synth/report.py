"""``mixlane synth`` and ``mixlane report``: measured reports of one configuration against the INT8 baseline.

:func:`run_synth` synthesizes a configuration **and** its INT8 baseline (:func:`baseline_config`: a
conventional INT8 SIMD datapath of the same register width, ``mac = "conventional"``, precisions [8]) with
the pinned Yosys engine and a liberty, runs OpenSTA for the critical path (Fmax), measures power from a
gate-level simulation of a golden workload at every precision the configuration supports
(:func:`mixlane.synth.measure_power`), optionally checks the netlists against the golden model with the
cocotb regression (``gate_check``), and returns one JSON-able report. :func:`write_reports` writes it as
``report.json`` (every number), ``report.csv`` (one row per design x precision) and ``report.md``.

:func:`compare_reports` reads several ``report.json`` files and writes ``report.md`` and ``report.html`` with
matplotlib plots (PNG and SVG): area per block, MACs/cycle/mm^2 and pJ/MAC per precision against the
baseline.

Definitions (every report states them):

- **MACs/cycle** at precision ``p``: element products of one register pair whose metadata selects ``p``
  (:func:`mixlane.sim_tb.stimulus.meta_for_precision`; e.g. ``width / p`` in uniform mode), the peak rate at
  one operation per cycle.
- **MACs/cycle/mm^2**: MACs/cycle over the total mapped cell area (no wiring, no placement utilisation).
- **pJ/MAC**: total power x clock period / MACs per cycle actually done in the measured window (the workload
  puts a READ_LOAD, which does no MAC, every 16 operations), i.e. :func:`measure_power`'s ``pj_per_mac``.
- **Ratios** are ``value / baseline value`` with the baseline at 8 bits: above 1 is better for MACs/cycle
  and MACs/cycle/mm^2, below 1 is better for energy per MAC and area.

A failed step raises :class:`SynthError` (or the simulator's ``ToolError``) and nothing is written: no report
ever carries a missing or made-up number. Report files of an earlier run in the same folder are removed
once the tools are found, before any step runs.
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import html
import io
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from .flow import (BLOCK_GROUPS, DEFAULT_CLOCK_NS, DEFAULT_LIBERTY, DEFAULT_STA, DEFAULT_YOSYS, LIBERTY_PACKAGE,
                   SynthError, find_tool, sta_timing, synthesize, yosys_version)

__all__ = [
    "SCHEMA",
    "REPORT_FILES",
    "GATE_SCENARIOS",
    "baseline_config",
    "macs_per_cycle",
    "preflight",
    "run_synth",
    "write_reports",
    "load_report",
    "compare_reports",
]

SCHEMA = "mixlane-synth-report/1"
REPORT_FILES = ("report.json", "report.csv", "report.md")
#: Scenarios of the optional gate-level check (short ones; ``exhaustive`` and ``tensor`` take long on netlists).
GATE_SCENARIOS = ("random", "random_stalls", "corners", "overflow")
BLOCK_SHORT = {"precision_decoder": "decoder", "aligner": "aligner", "multipliers": "multipliers",
               "adder_tree": "adder tree", "accumulators": "accumulators", "control": "control"}
_MODELS_PACKAGE = LIBERTY_PACKAGE

Progress = Callable[[str], None]


# ------------------------------------------------------------------------------------------- definitions
def baseline_config(cfg: Any) -> tuple[Any, list[str]]:
    """The INT8 baseline of ``cfg``: conventional 8x8 lanes at the same width (and its notes).

    Same ``width``, ``acc_width``, ``outputs``, ``overflow`` and operand signedness; ``precisions = [8]``,
    ``mac = "conventional"``. When ``acc_width`` is too narrow for an 8-bit register sum it is raised to the
    minimum and a note says so.
    """
    from mixlane.config import Config, ConfigError

    kw = dict(width=cfg.width, precisions=(8,), mac="conventional", acc_width=cfg.acc_width, outputs=cfg.outputs,
              overflow=cfg.overflow, activation_signed=cfg.activation_signed, weight_signed=cfg.weight_signed)
    try:
        return Config(**kw), []
    except ConfigError:
        need = Config(**{**kw, "acc_width": 64}).register_sum_width
        if need <= cfg.acc_width:
            raise
        base = Config(**{**kw, "acc_width": need})
        return base, [f"baseline acc_width raised from {cfg.acc_width} to {need}: an 8-bit register sum at width "
                      f"{cfg.width} needs {need} signed bits"]


def macs_per_cycle(cfg: Any, precision: int) -> int:
    """Element products of one register pair when the metadata selects ``precision`` (peak MACs per cycle)."""
    from mixlane.golden import decode
    from mixlane.sim_tb.stimulus import meta_for_precision

    if precision not in cfg.mode_precisions:
        raise SynthError(f"precision {precision} is not supported by this configuration "
                         f"({list(cfg.mode_precisions)})")
    return int((decode(cfg, meta_for_precision(cfg, precision, 1)) > 0).sum())


def _same_config(a: Any, b: Any) -> bool:
    return a.to_dict() == b.to_dict()


# -------------------------------------------------------------------------------------------- preflight
def _tool_version(exe: str, args: list[str], pattern: str) -> str:
    try:
        proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SynthError(f"{exe}: cannot run ({exc})") from None
    text = proc.stdout + proc.stderr
    m = re.search(pattern, text, re.M)
    return m.group(0).strip() if m else (text.strip().splitlines() or ["unknown"])[0]


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
        from .power import DEFAULT_CELL_MODELS

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
    tools["sta"] = "OpenSTA " + _tool_version(sta_exe, ["-version"], r"^\S+$")
    for name in ("iverilog", "vvp"):
        try:
            exe = find_tool(name)
        except SynthError:
            raise SynthError(f"{name}: not found; install the Debian package iverilog (apt-get install iverilog)") \
                from None
        if name == "iverilog":
            tools["iverilog"] = _tool_version(exe, ["-V"], r"Icarus Verilog version [^\n(]*")
    if gate_check:
        from mixlane.sim_tb.runner import ToolError, check_simulator

        try:
            check_simulator("icarus")
        except ToolError as exc:
            raise SynthError(str(exc)) from None
    return {"liberty": lib.resolve(), "cell_models": models.resolve(), "tools": tools}


# ------------------------------------------------------------------------------------- baseline cache
_CACHE_SKIP = (".vcd", ".vvp")     # large and re-creatable; everything else of the work folder is kept
_CACHE_ROOT = "@BASELINE_DIR@"


def _file_digest(path: str | Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_cache_dir() -> Path:
    """``$MIXLANE_CACHE``, else ``$XDG_CACHE_HOME/mixlane``, else ``~/.cache/mixlane``."""
    if os.environ.get("MIXLANE_CACHE"):
        return Path(os.environ["MIXLANE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mixlane"


def baseline_cache_key(verilog: str | Path, *, liberty: Path, cell_models: Path, clock_ns: float,
                       tools: dict[str, str], transistors: bool, workload: dict[str, Any],
                       adder_cells: bool = True) -> str:
    """SHA-256 over everything a baseline measurement depends on: the generated Verilog, the liberty and
    cell-model files, clock, tool versions, power workload, and the measuring code and scripts themselves
    (``mixlane.synth``), so that a change in any of them measures again."""
    import hashlib

    here = Path(__file__).parent
    code = {str(p.relative_to(here)): _file_digest(p)
            for p in sorted(here.rglob("*")) if p.is_file() and p.suffix in (".py", ".ys", ".tcl", ".v", ".constr")}
    blob = json.dumps({"verilog": _file_digest(verilog), "liberty": _file_digest(liberty),
                       "cell_models": _file_digest(cell_models), "clock_ns": float(clock_ns), "tools": tools,
                       "transistors": bool(transistors), "adder_cells": bool(adder_cells), "workload": workload,
                       "code": code,
                       "schema": SCHEMA}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def load_cached_baseline(cache_dir: Path, key: str, work: Path) -> dict[str, Any] | None:
    """Copy a cached baseline work folder to ``work``; its results with paths pointing there, or ``None``."""
    entry = cache_dir / "baselines" / key
    try:
        text = (entry / "results.json").read_text()
    except OSError:
        return None
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(entry / "work", work)
    res = json.loads(text.replace(_CACHE_ROOT, json.dumps(str(work))[1:-1]))
    res["power"] = {int(p): v for p, v in res["power"].items()}     # JSON keys are strings
    return res


def store_cached_baseline(cache_dir: Path, key: str, work: Path, results: dict[str, Any]) -> None:
    """Store ``work`` (without VCDs and simulator images) and ``results`` under ``key``; atomic, best effort:
    a cache that cannot be written never fails the run."""
    entry = cache_dir / "baselines" / key
    tmp = cache_dir / "baselines" / f".{key}.{os.getpid()}.tmp"
    try:
        if entry.exists():
            return
        tmp.mkdir(parents=True, exist_ok=True)
        shutil.copytree(work, tmp / "work", ignore=lambda d, names: [n for n in names if n.endswith(_CACHE_SKIP)])
        text = json.dumps(results, default=str, sort_keys=True)
        (tmp / "results.json").write_text(text.replace(json.dumps(str(work))[1:-1], _CACHE_ROOT))
        tmp.rename(entry)
    except OSError:
        pass
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


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


def _rel(path: str | Path, root: Path) -> str:
    try:
        return os.path.relpath(Path(path).resolve(), root)
    except ValueError:
        return str(path)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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
    (:func:`mixlane.synth.power.mix_meta`), reported as ``report["mix"]``.
    ``progress`` gets one line per step start and end, with elapsed times. ``cache_dir``: reuse the
    baseline's synthesis, timing and power from an earlier run with identical inputs (see
    :func:`baseline_cache_key`) and store new ones there; ``None`` measures every time. ``transistors`` also runs the
    technology-independent ``generic.ys`` (Yosys gates and a CMOS transistor estimate; hierarchical
    ``synth -hieropt``, which is very slow on element-mode designs). Raises :class:`SynthError`.
    Does not write the report files (see :func:`write_reports`).
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
        from .power import check_mix

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
    same = _same_config(cfg, base)
    designs: dict[str, Any] = {"config": cfg} if same else {"config": cfg, "baseline": base}
    clock.say(f"{cfg.name} [{cfg.content_hash}] width {cfg.width}, {cfg.precision_mode}, precisions "
              f"{list(cfg.mode_precisions)}; baseline: "
              + ("the configuration itself" if same else f"INT8 conventional [{base.content_hash}]")
              + f"; {env['tools']['yosys'].split(' (')[0]}, {lib.name}, clock {clock_ns:g} ns"
              + (f"; removed stale {', '.join(stale)}" if stale else ""))

    # 1. Verilog (sequential: Amaranth's converter), then synthesis (parallel)
    from mixlane.rtl.generate import write_design

    verilog = {}
    for role, c in designs.items():
        t0 = time.perf_counter()
        verilog[role] = write_design(c, out / role)
        clock.say(f"{role}: generated {_rel(verilog[role], out)} in {time.perf_counter() - t0:.1f} s")

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
            cmd = ["mixlane", "verify", "--config", _rel(out / role / "config.json", out),
                   "--rtl", _rel(syns[role]["netlist"], out), "--extra-source", str(models),
                   *[a for s in gate_scenarios for a in ("--scenario", s)], "--vectors", str(gate_vectors),
                   "--seed", str(seed), "-o", _rel(work, out)]
            gates[role] = {"passed": bool(res.passed), "simulator": "icarus", "scenarios": list(gate_scenarios),
                           "vectors": gate_vectors, "seed": seed, "checked_results": res.checked_results,
                           "lane_macs": res.lane_macs, "failures": list(res.failures),
                           "results_xml": _rel(res.results_xml, out), "log": _rel(res.log, out),
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
            "macs_per_cycle": "element products of one register pair at that precision (peak, one op/cycle)",
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
        report["designs"][role] = _design_entry(role, c, syns[role], tims[role], pows[role], gates.get(role), out)
    if same:
        report["designs"]["baseline"] = {**report["designs"]["config"], "role": "baseline", "same_as": "config"}
    report["comparison"] = _comparison(report["designs"]["config"], report["designs"]["baseline"])
    report["mix"] = None if pow_mix is None else _mix_entry(pow_mix, report["designs"]["config"],
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
    unattr = {r: d["synthesis"].get("unattributed_cells") for r, d in report["designs"].items()}
    for role, n in unattr.items():
        if n and not (role == "baseline" and same):
            report["notes"].append(f"{role}: {n} word-level cells were mapped outside their block and counted "
                                   f"as control")
    report["seconds"] = {"total": time.perf_counter() - clock.t0, "work": time.perf_counter() - t_work}
    validate_report(report)
    clock.say(f"done in {report['seconds']['total']:.1f} s")
    return report


def mix_label(mix: dict[Any, float]) -> str:
    """``1:0.25/2:0.5/4:0.25``: the ``--workload mix=`` spelling."""
    return "/".join(f"{p}:{f:g}" for p, f in sorted(mix.items(), key=lambda x: int(x[0])))


def _mix_entry(pw: dict[str, Any], cfg: dict[str, Any], base: dict[str, Any], out: Path) -> dict[str, Any]:
    """The precision-mix measurement: MACs per ACC (the mix's mean), per mm^2, pJ/MAC, ratios to INT8."""
    b8 = base["precisions"]["8"]
    per_mm2 = pw["macs_per_acc_op"] / cfg["area_mm2"]
    return {
        "mix": pw["mix"], "label": mix_label(pw["mix"]), "macs_per_cycle": pw["macs_per_acc_op"],
        "macs_per_cycle_per_mm2": per_mm2, "measured_macs_per_cycle": pw["macs_per_cycle"],
        "power_w": pw["total_w"], "internal_w": pw["internal_w"], "switching_w": pw["switching_w"],
        "leakage_w": pw["leakage_w"], "energy_per_cycle_pj": pw["energy_per_cycle_pj"],
        "pj_per_mac": pw["pj_per_mac"], "results_checked": pw["results_checked"],
        "ratio_macs_per_cycle": pw["macs_per_acc_op"] / b8["macs_per_cycle"],
        "ratio_macs_per_cycle_per_mm2": per_mm2 / b8["macs_per_cycle_per_mm2"],
        "ratio_energy_per_mac": pw["pj_per_mac"] / b8["pj_per_mac"],
        "work_dir": _rel(Path(pw["files"]["sta_log"]).parent, out),
    }


def _mixlane_version() -> str:
    try:
        from importlib.metadata import version

        return version("mixlane")
    except Exception:  # noqa: BLE001 (not installed: running from a checkout)
        return "unknown"


def _design_entry(role: str, c: Any, syn: dict[str, Any], tim: dict[str, Any], pows: dict[int, Any],
                  gate: dict[str, Any] | None, out: Path) -> dict[str, Any]:
    area_mm2 = syn["area_um2"] / 1e6
    precisions = {}
    for p, pw in sorted(pows.items()):
        peak = macs_per_cycle(c, p)
        if pw["elements_per_register"] != peak:
            raise SynthError(f"{role}: the power workload at {p} bit has {pw['elements_per_register']} elements "
                             f"per register, the configuration {peak}")
        precisions[str(p)] = {
            "precision": p, "macs_per_cycle": peak, "macs_per_cycle_per_mm2": peak / area_mm2,
            "measured_macs_per_cycle": pw["macs_per_cycle"], "power_w": pw["total_w"],
            "internal_w": pw["internal_w"], "switching_w": pw["switching_w"], "leakage_w": pw["leakage_w"],
            "energy_per_cycle_pj": pw["energy_per_cycle_pj"], "pj_per_mac": pw["pj_per_mac"],
            "mean_activity": pw["mean_activity"], "annotated_fraction": pw["annotated_fraction"],
            "results_checked": pw["results_checked"], "zeros_applied": pw["zeros_applied"],
            "vectorless_w": pw["vectorless"]["total_w"], "vectorless_activity": pw["vectorless"]["activity"],
            "seconds": pw["seconds"]["total"], "work_dir": _rel(Path(pw["files"]["sta_log"]).parent, out),
        }
    return {
        "role": role, "name": c.name, "config_hash": c.content_hash, "config": c.to_dict(),
        "summary": _describe(c),
        "area_um2": syn["area_um2"], "area_mm2": area_mm2, "sequential_area_um2": syn["sequential_area_um2"],
        "cells": syn["cells"], "transistors": syn["transistors"],
        "blocks": {g: {"label": b["label"], "area_um2": b["area_um2"], "cells": b["cells"],
                       "share": b["area_um2"] / syn["area_um2"]} for g, b in syn["blocks"].items()},
        "timing": {"critical_path_ns": tim["critical_path_ns"], "fmax_mhz": tim["fmax_mhz"],
                   "slack_ns": tim["slack_ns"], "met": tim["met"], "startpoint": tim["startpoint"],
                   "endpoint": tim["endpoint"], "log": _rel(tim["log"], out)},
        "precisions": precisions,
        "gate_check": gate,
        "synthesis": {"seconds": syn["seconds"], "netlist": _rel(syn["netlist"], out),
                      "adder_cell": syn.get("adder_cell"), "adder_cells": syn.get("adder_cells", 0),
                      "verilog": _rel(syn["verilog"], out),
                      "logs": {k: _rel(v, out) for k, v in syn["logs"].items()},
                      "scripts": [_rel(Path(syn["netlist"]).parent / f"{k}.ys", out) for k in syn["logs"]],
                      "unattributed_cells": syn.get("unattributed_cells")},
        "work_dir": _rel(out / role, out),
    }


def _describe(c: Any) -> str:
    if c.mac == "conventional":
        return f"INT8 conventional (mac=conventional), width {c.width}"
    extra = ""
    if c.precision_mode == "channel":
        extra = f", levels {list(c.channel_levels)}"
    if c.precision_mode == "pattern":
        extra = f", {len(c.patterns)} patterns"
    return (f"{c.precision_mode} {'/'.join(map(str, c.precisions))}-bit{extra}, width {c.width}"
            + ("" if c.mac == "sum_together" else f", mac={c.mac}"))


def _comparison(cfg: dict[str, Any], base: dict[str, Any]) -> list[dict[str, Any]]:
    b = base["precisions"]["8"]
    rows = []
    for key, v in cfg["precisions"].items():
        rows.append({
            "precision": v["precision"],
            "macs_per_cycle": v["macs_per_cycle"], "baseline_macs_per_cycle": b["macs_per_cycle"],
            "macs_per_cycle_per_mm2": v["macs_per_cycle_per_mm2"],
            "baseline_macs_per_cycle_per_mm2": b["macs_per_cycle_per_mm2"],
            "pj_per_mac": v["pj_per_mac"], "baseline_pj_per_mac": b["pj_per_mac"],
            "ratio_macs_per_cycle": v["macs_per_cycle"] / b["macs_per_cycle"],
            "ratio_macs_per_cycle_per_mm2": v["macs_per_cycle_per_mm2"] / b["macs_per_cycle_per_mm2"],
            "ratio_energy_per_mac": v["pj_per_mac"] / b["pj_per_mac"],
            "ratio_area": cfg["area_um2"] / base["area_um2"],
            "ratio_fmax": cfg["timing"]["fmax_mhz"] / base["timing"]["fmax_mhz"],
        })
    return rows


def validate_report(report: dict[str, Any]) -> None:
    """Raise :class:`SynthError` if any number a report shows is missing, not finite or not positive."""
    problems = []
    for role in ("config", "baseline"):
        d = report.get("designs", {}).get(role)
        if d is None:
            problems.append(f"{role}: missing")
            continue
        for key in ("area_um2", "cells"):
            if not (_finite(d.get(key)) and d[key] > 0):
                problems.append(f"{role}.{key}={d.get(key)!r}")
        for g in BLOCK_GROUPS:
            a = d.get("blocks", {}).get(g, {}).get("area_um2")
            if not (_finite(a) and a >= 0):
                problems.append(f"{role}.blocks.{g}={a!r}")
        for key in ("critical_path_ns", "fmax_mhz"):
            v = d.get("timing", {}).get(key)
            if not (_finite(v) and v > 0):
                problems.append(f"{role}.timing.{key}={v!r}")
        if not d.get("precisions"):
            problems.append(f"{role}.precisions: none")
        for p, v in d.get("precisions", {}).items():
            for key in ("macs_per_cycle", "macs_per_cycle_per_mm2", "power_w", "pj_per_mac", "energy_per_cycle_pj"):
                if not (_finite(v.get(key)) and v[key] > 0):
                    problems.append(f"{role}.precisions[{p}].{key}={v.get(key)!r}")
    mix = report.get("mix")
    for key in ("macs_per_cycle", "macs_per_cycle_per_mm2", "power_w", "pj_per_mac", "ratio_energy_per_mac",
                "ratio_macs_per_cycle_per_mm2") if mix else ():
        if not (_finite(mix.get(key)) and mix[key] > 0):
            problems.append(f"mix.{key}={mix.get(key)!r}")
    if "8" not in report.get("designs", {}).get("baseline", {}).get("precisions", {}):
        problems.append("baseline has no 8-bit measurement")
    rows = report.get("comparison") or []
    if not rows:
        problems.append("comparison: no rows")
    for r in rows:
        for key, v in r.items():
            if not (_finite(v) and v > 0):
                problems.append(f"comparison[{r.get('precision')}].{key}={v!r}")
    if problems:
        raise SynthError(f"report incomplete, nothing written: {'; '.join(problems[:4])}")


# ------------------------------------------------------------------------------------------- writing
def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.{max(0, digits - 1 - int(math.log10(abs(v))))}f}"
    return str(v)


def _ratio(v: float) -> str:
    return f"{v:.2f}x"


_NUMERIC = re.compile(r"^\**[-+]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?(?:x|%)?\**$|^-$")


def _md_table(head: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table; columns whose cells are all numbers (or ratios) are right-aligned."""
    align = []
    for i in range(len(head)):
        cells = [str(r[i]) for r in rows if i < len(r)]
        numeric = bool(cells) and all(_NUMERIC.match(c) for c in cells)
        align.append("---:" if numeric and i > 0 else "---")
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


CSV_FIELDS = (["role", "design", "config_hash", "summary", "width", "precision_mode", "mac", "precisions",
               "precision", "area_um2"] + [f"area_{g}_um2" for g in BLOCK_GROUPS]
              + ["cells", "critical_path_ns", "fmax_mhz", "timing_met", "clock_ns", "power_w", "internal_w",
                 "switching_w", "leakage_w", "energy_per_cycle_pj", "macs_per_cycle", "measured_macs_per_cycle",
                 "pj_per_mac", "macs_per_cycle_per_mm2", "baseline_hash", "ratio_macs_per_cycle",
                 "ratio_macs_per_cycle_per_mm2", "ratio_energy_per_mac", "ratio_area", "gate_check",
                 "library", "engine_version"])


def csv_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per design x precision (the baseline once, at 8 bits, unless it is the configuration)."""
    base = report["designs"]["baseline"]
    b8 = base["precisions"]["8"]
    rows = []
    roles = ["config"] if report["baseline_is_config"] else ["config", "baseline"]
    for role in roles:
        d = report["designs"][role]
        for key, v in d["precisions"].items():
            c = d["config"]
            gate = d.get("gate_check")
            rows.append({
                "role": "config+baseline" if report["baseline_is_config"] else role,
                "design": d["name"], "config_hash": d["config_hash"], "summary": d["summary"],
                "width": c["width"], "precision_mode": c["precision_mode"], "mac": c["mac"],
                "precisions": "/".join(map(str, c["precisions"])), "precision": v["precision"],
                "area_um2": d["area_um2"], **{f"area_{g}_um2": d["blocks"][g]["area_um2"] for g in BLOCK_GROUPS},
                "cells": d["cells"], "critical_path_ns": d["timing"]["critical_path_ns"],
                "fmax_mhz": d["timing"]["fmax_mhz"], "timing_met": d["timing"]["met"],
                "clock_ns": report["clock_ns"], "power_w": v["power_w"], "internal_w": v["internal_w"],
                "switching_w": v["switching_w"], "leakage_w": v["leakage_w"],
                "energy_per_cycle_pj": v["energy_per_cycle_pj"], "macs_per_cycle": v["macs_per_cycle"],
                "measured_macs_per_cycle": v["measured_macs_per_cycle"], "pj_per_mac": v["pj_per_mac"],
                "macs_per_cycle_per_mm2": v["macs_per_cycle_per_mm2"], "baseline_hash": base["config_hash"],
                "ratio_macs_per_cycle": v["macs_per_cycle"] / b8["macs_per_cycle"],
                "ratio_macs_per_cycle_per_mm2": v["macs_per_cycle_per_mm2"] / b8["macs_per_cycle_per_mm2"],
                "ratio_energy_per_mac": v["pj_per_mac"] / b8["pj_per_mac"],
                "ratio_area": d["area_um2"] / base["area_um2"],
                "gate_check": "" if gate is None else ("pass" if gate["passed"] else "FAIL"),
                "library": report["library"], "engine_version": report["engine_version"],
            })
    mix = report.get("mix")
    if mix:
        row = dict(rows[0])
        row.update({k: mix[k] for k in ("power_w", "internal_w", "switching_w", "leakage_w", "energy_per_cycle_pj",
                                        "macs_per_cycle", "measured_macs_per_cycle", "pj_per_mac",
                                        "macs_per_cycle_per_mm2", "ratio_macs_per_cycle",
                                        "ratio_macs_per_cycle_per_mm2", "ratio_energy_per_mac")})
        row["precision"] = f"mix {mix['label']}"
        rows.insert(len(report["designs"]["config"]["precisions"]), row)
    return rows


def _header_md(report: dict[str, Any]) -> list[str]:
    w = report["workload"]
    return [
        f"- engine: {_engine_short(report['engine_version'])}; {report['tools']['sta']}; "
        f"{report['tools']['iverilog']}",
        f"- library: `{report['library']}` ({report['liberty']}), cell models {report['cell_models']}",
        f"- clock for power: {report['clock_ns']:g} ns ({1000 / report['clock_ns']:.0f} MHz); Fmax from OpenSTA",
        "- full adders: " + (f"library cell `{report['adder_cell']}` (Yosys extract_fa), in both designs"
                             if report.get("adder_cell") else "gates mapped by ABC (no full-adder cell used)"),
        f"- workload per precision: {w['n_ops']} operations, {w['zero_fraction']:.0%} zero activations, "
        f"READ_LOAD every {w['read_every']}, window {w['window_cycles']} cycles after {w['warmup_cycles']} "
        f"warm-up, seed {w['seed']}, {w['simulation']}",
    ]


def _point(text: str | None) -> str:
    """``_3905_ (rising edge-triggered flip-flop clocked by clk)`` -> ``_3905_ (flip-flop)``."""
    if not text:
        return "-"
    name, _, what = text.partition(" (")
    kind = "flip-flop" if "flip-flop" in what else "input" if "input" in what else "output" if "output" in what else ""
    return f"{name} ({kind})" if kind else name


def _engine_short(version: str) -> str:
    return re.sub(r",\s*Release.*\)$", ")", version)


def render_markdown(report: dict[str, Any]) -> str:
    """``report.md`` of one run."""
    cfg, base = report["designs"]["config"], report["designs"]["baseline"]
    same = report["baseline_is_config"]
    lines = [f"# mixlane synthesis report: {cfg['name']}", "",
             f"- configuration: {cfg['summary']} (`{cfg['config_hash']}`)",
             f"- baseline: {base['summary']} (`{base['config_hash']}`)" + (" = the configuration" if same else ""),
             *_header_md(report)]
    if report.get("command"):
        lines.append(f"- command: `{report['command']}`")
    lines += ["", "## Against the INT8 baseline", "",
              "Ratio = configuration / baseline at 8 bits. Higher is better for MACs/cycle and MACs/cycle/mm^2, "
              "lower for pJ/MAC.", ""]
    rows = []
    for r in report["comparison"]:
        rows.append([f"{r['precision']} bit", r["macs_per_cycle"], _ratio(r["ratio_macs_per_cycle"]),
                     _fmt(r["macs_per_cycle_per_mm2"], 4), _ratio(r["ratio_macs_per_cycle_per_mm2"]),
                     _fmt(r["pj_per_mac"], 4), _ratio(r["ratio_energy_per_mac"])])
    mix = report.get("mix")
    if mix:
        rows.append([f"mix {mix['label']}", _fmt(mix["macs_per_cycle"], 4), _ratio(mix["ratio_macs_per_cycle"]),
                     _fmt(mix["macs_per_cycle_per_mm2"], 4), _ratio(mix["ratio_macs_per_cycle_per_mm2"]),
                     _fmt(mix["pj_per_mac"], 4), _ratio(mix["ratio_energy_per_mac"])])
    b8 = base["precisions"]["8"]
    rows.append(["baseline, 8 bit", b8["macs_per_cycle"], "1.00x", _fmt(b8["macs_per_cycle_per_mm2"], 4), "1.00x",
                 _fmt(b8["pj_per_mac"], 4), "1.00x"])
    lines.append(_md_table(["precision", "MACs/cycle", "ratio", "MACs/cycle/mm^2", "ratio", "pJ/MAC", "ratio"], rows))
    if mix:
        lines += ["", f"Mix row: precisions drawn as `{mix['label']}` (precision:fraction; per operation in "
                  f"`uniform`/`pattern` mode, per lane in `channel` mode, per element in `element` mode); "
                  f"MACs/cycle is the mean of the workload's ACC operations."]
    lines += ["", "## Area per block (um^2)", ""]
    rows = []
    for g in BLOCK_GROUPS:
        a, b = cfg["blocks"][g]["area_um2"], base["blocks"][g]["area_um2"]
        rows.append([BLOCK_SHORT[g], _fmt(a), f"{cfg['blocks'][g]['share']:.1%}", _fmt(b),
                     _ratio(a / b) if b > 0 else "-"])
    rows.append(["**total**", f"**{_fmt(cfg['area_um2'])}**", "100%", f"**{_fmt(base['area_um2'])}**",
                 f"**{_ratio(cfg['area_um2'] / base['area_um2'])}**"])
    lines.append(_md_table(["block", "configuration", "share", "baseline", "ratio"], rows))
    cells = f"Cells: {cfg['cells']:,} (baseline {base['cells']:,})."
    if cfg.get("transistors") and base.get("transistors"):
        cells += (f" Transistor estimate (Yosys `stat -tech cmos`): {cfg['transistors']:,} "
                  f"(baseline {base['transistors']:,}).")
    lines += ["", cells, "", "## Timing", ""]
    rows = []
    for label, d in (("configuration", cfg), ("baseline", base)):
        t = d["timing"]
        rows.append([label, _fmt(t["critical_path_ns"], 4), _fmt(t["fmax_mhz"], 4), _fmt(t["slack_ns"], 4),
                     "yes" if t["met"] else "**no**", f"{_point(t['startpoint'])} -> {_point(t['endpoint'])}"])
    lines.append(_md_table(["design", "critical path ns", "Fmax MHz", f"slack at {report['clock_ns']:g} ns",
                            "met", "path"], rows))
    lines += ["", "## Power (simulated switching activity)", ""]
    rows = []
    for label, d in (("configuration", cfg),) + ((("baseline", base),) if not same else ()):
        for key, v in d["precisions"].items():
            rows.append([label, f"{v['precision']} bit", _fmt(v["power_w"] * 1e3, 4), _fmt(v["internal_w"] * 1e3, 4),
                         _fmt(v["switching_w"] * 1e3, 4), _fmt(v["leakage_w"] * 1e6, 4),
                         _fmt(v["energy_per_cycle_pj"], 4), _fmt(v["measured_macs_per_cycle"], 4),
                         _fmt(v["pj_per_mac"], 4), _fmt(v["mean_activity"], 3)])
    lines.append(_md_table(["design", "precision", "total mW", "internal mW", "switching mW", "leakage uW",
                            "pJ/cycle", "MACs/cycle (window)", "pJ/MAC", "mean activity"], rows))
    lines += ["", "## Gate-level check", ""]
    if report["gate_check"] is None:
        lines.append("Not run (`--gate-check` runs the cocotb regression on the mapped netlists with the cell "
                     "models). The power simulations above already check every result of their workloads "
                     "against the golden model.")
    else:
        rows = []
        for label, d in (("configuration", cfg),) + ((("baseline", base),) if not same else ()):
            g = d["gate_check"]
            rows.append([label, "PASS" if g["passed"] else "**FAIL**", g["checked_results"], g["lane_macs"],
                         ", ".join(g["scenarios"]), f"`{g['command']}`"])
        lines.append(_md_table(["netlist", "result", "results checked", "lane-MACs", "scenarios",
                                "command (from this folder)"], rows))
    if report["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report["notes"]]
    lines += ["", "## Files and run time", ""]
    rows = []
    for label, d in (("configuration", cfg),) + ((("baseline", base),) if not same else ()):
        s = d["synthesis"]
        rows.append([label, f"`{d['work_dir']}/`", f"`{s['netlist']}`", _fmt(s["seconds"]["total"], 3),
                     _fmt(sum(v["seconds"] for v in d["precisions"].values()), 3)])
    lines.append(_md_table(["design", "work folder", "netlist", "synthesis s", "power s"], rows))
    lines += ["", f"Total {report['seconds']['total']:.1f} s. Written by mixlane {report['mixlane_version']} at "
              f"{report['created']}. All numbers: `report.json`; one row per design and precision: `report.csv`.", ""]
    return "\n".join(lines)


def write_reports(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Validate, then write ``report.json``, ``report.csv`` and ``report.md`` (all or none)."""
    validate_report(report)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(report):
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    texts = {"report.json": json.dumps(report, indent=2) + "\n", "report.csv": buf.getvalue(),
             "report.md": render_markdown(report)}
    tmp = {name: out / f".{name}.tmp" for name in texts}
    for name, text in texts.items():
        tmp[name].write_text(text)
    paths = []
    for name in texts:
        os.replace(tmp[name], out / name)
        paths.append(out / name)
    return paths


# -------------------------------------------------------------------------------------------- compare
def load_report(path: str | Path) -> dict[str, Any]:
    """Read ``DIR/report.json`` (or a report.json path); :class:`SynthError` for a missing or foreign file."""
    p = Path(path)
    f = p / "report.json" if p.is_dir() else p
    if not f.is_file():
        if p.is_dir():
            raise SynthError(f"{p}: no report.json (write one with `mixlane synth ... -o {p}`)")
        raise SynthError(f"{p}: not found; pass a folder written by `mixlane synth`")
    try:
        report = json.loads(f.read_text())
    except json.JSONDecodeError as exc:
        raise SynthError(f"{f}: not valid JSON ({exc})") from None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise SynthError(f"{f}: not a mixlane synth report (schema {report.get('schema') if isinstance(report, dict) else None!r}, "
                         f"expected {SCHEMA!r})")
    validate_report(report)
    report["_source"] = str(f.parent)
    return report


def _labels(reports: list[dict[str, Any]]) -> list[str]:
    names = [Path(r["_source"]).name or r["designs"]["config"]["name"] for r in reports]
    if len(set(names)) < len(names):
        names = [f"{n} ({i + 1})" for i, n in enumerate(names)]
    return names


def _baselines(reports: list[dict[str, Any]], labels: list[str]) -> list[dict[str, Any]]:
    """Distinct baselines (same configuration, library, clock and numbers counted once)."""
    seen: dict[tuple, dict[str, Any]] = {}
    for r, lab in zip(reports, labels):
        b = r["designs"]["baseline"]
        key = (b["config_hash"], r["library"], r["clock_ns"], r["engine_version"], round(b["area_um2"], 3),
               round(b["precisions"]["8"]["pj_per_mac"], 9))
        if key not in seen:
            seen[key] = {"design": b, "report": r, "runs": [lab]}
        else:
            seen[key]["runs"].append(lab)
    out = list(seen.values())
    for i, e in enumerate(out):
        w = e["design"]["config"]["width"]
        e["label"] = f"INT8 baseline w{w}" + (f" #{i + 1}" if sum(x["design"]["config"]["width"] == w
                                                                   for x in out) > 1 else "")
    return out


def _plots(reports: list[dict[str, Any]], labels: list[str], bases: list[dict[str, Any]], out: Path) -> list[str]:
    try:
        import matplotlib
    except ImportError:
        raise SynthError("matplotlib is not installed; install the PyPI package (pip install 'matplotlib>=3.8')") \
            from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "mixlane", "font.size": 9})
    written = []
    colors = plt.get_cmap("tab10").colors

    def save(fig, stem: str) -> None:
        fig.tight_layout()
        for ext in ("png", "svg"):
            kw = {"dpi": 120} if ext == "png" else {"metadata": {"Date": None}}
            fig.savefig(out / f"{stem}.{ext}", **kw)
            written.append(f"{stem}.{ext}")
        plt.close(fig)

    # 1. stacked area per block
    bars = [(lab, r["designs"]["config"]) for lab, r in zip(labels, reports)] + [(b["label"], b["design"])
                                                                                  for b in bases]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(bars) + 2.5), 4.2))
    bottom = [0.0] * len(bars)
    x = list(range(len(bars)))
    for k, g in enumerate(BLOCK_GROUPS):
        vals = [d["blocks"][g]["area_um2"] / 1e6 for _, d in bars]
        ax.bar(x, vals, bottom=bottom, color=colors[k % 10], label=BLOCK_SHORT[g], width=0.6)
        bottom = [a + b for a, b in zip(bottom, vals)]
    for i, (_, d) in enumerate(bars):
        ax.text(i, bottom[i], f"{d['area_mm2']:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [lab for lab, _ in bars], rotation=20, ha="right")
    ax.set_ylabel("cell area (mm$^2$)")
    ax.set_title(f"Area per block ({reports[0]['library']})")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(0, max(bottom) * 1.12)
    save(fig, "area_breakdown")

    # 2./3. per precision against the baseline
    precs = sorted({int(p) for r in reports for p in r["designs"]["config"]["precisions"]} | {8})
    for stem, key, ylabel, title, ratio_key in (
            ("macs_per_mm2", "macs_per_cycle_per_mm2", "MACs/cycle/mm$^2$", "Throughput density per precision",
             "ratio_macs_per_cycle_per_mm2"),
            ("pj_per_mac", "pj_per_mac", "pJ/MAC", "Energy per MAC per precision", "ratio_energy_per_mac")):
        fig, ax = plt.subplots(figsize=(max(5.5, 1.3 * len(precs) * max(1, len(reports)) / 2 + 3), 4.2))
        n = len(reports) + len(bases)   # one slot per run, then one per baseline (drawn at 8 bit only)
        width = 0.8 / max(1, n)
        values = []
        for i, (r, lab) in enumerate(zip(reports, labels)):
            xs, ys, ratios = [], [], []
            for row in r["comparison"]:
                xs.append(precs.index(row["precision"]) - 0.4 + width * (i + 0.5))
                ys.append(row[key])
                ratios.append(row[ratio_key])
            values += ys
            ax.bar(xs, ys, width=width * 0.95, color=colors[i % 10], label=lab)
            for xx, yy, rr in zip(xs, ys, ratios):
                ax.text(xx, yy, f"{rr:.2f}x", ha="center", va="bottom", fontsize=7,
                        rotation=90 if n > 4 else 0)
        for j, b in enumerate(bases):
            v = b["design"]["precisions"]["8"][key]
            values.append(v)
            style = ("--", ":", "-.")[j % 3]
            # a baseline serving one run takes that run's colour; one shared by several stays black
            edge = colors[labels.index(b["runs"][0]) % 10] if len(bases) > 1 and len(b["runs"]) == 1 else "black"
            ax.axhline(v, color=edge, linestyle=style, linewidth=1.0)
            xb = precs.index(8) - 0.4 + width * (len(reports) + j + 0.5)
            ax.bar([xb], [v], width=width * 0.95, color="0.8", edgecolor=edge, hatch="//",
                   linestyle=style, label=f"{b['label']} (8 bit; line)")
            ax.text(xb, v, "1.00x", ha="center", va="bottom", fontsize=7, rotation=90 if n > 4 else 0)
        ax.set_xticks(range(len(precs)), [f"{p} bit" for p in precs])
        ax.set_xlim(-0.6, len(precs) - 0.4)
        positive = [v for v in values if v > 0]
        if positive and max(positive) / min(positive) > 50:
            ax.set_yscale("log")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{title} (labels: ratio to the INT8 baseline)")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.margins(y=0.15)
        save(fig, stem)
    return written


def _compare_tables(reports: list[dict[str, Any]], labels: list[str], bases: list[dict[str, Any]]) -> list[tuple[str, str, list[str], list[list[Any]]]]:
    """(anchor, title, head, rows) of every comparison table, shared by Markdown and HTML."""
    tables = []
    head = ["run", "configuration", "baseline", "library", "engine", "clock ns", "workload", "gate check"]
    rows = []
    for r, lab in zip(reports, labels):
        c, b, w = r["designs"]["config"], r["designs"]["baseline"], r["workload"]
        gate = "-" if r["gate_check"] is None else ("PASS" if r["gate_check"]["passed"] else "FAIL")
        rows.append([lab, f"{c['summary']} ({c['config_hash'][:8]})", f"{b['summary']} ({b['config_hash'][:8]})",
                     r["library"], r["engine_version"].split(" (")[0], f"{r['clock_ns']:g}",
                     f"{w['n_ops']} ops, {w['zero_fraction']:.0%} zeros, window {w['window_cycles']}"
                     + (f", mix {w['mix']}" if w.get("mix") else ""), gate])
    tables.append(("runs", "Runs", head, rows))

    rows = []
    for r, lab in zip(reports, labels):
        for row in r["comparison"]:
            rows.append([lab, f"{row['precision']} bit", row["macs_per_cycle"], _ratio(row["ratio_macs_per_cycle"]),
                         _fmt(row["macs_per_cycle_per_mm2"], 4), _ratio(row["ratio_macs_per_cycle_per_mm2"]),
                         _fmt(row["pj_per_mac"], 4), _ratio(row["ratio_energy_per_mac"]),
                         _ratio(row["ratio_area"])])
        mix = r.get("mix")
        if mix:
            c, b = r["designs"]["config"], r["designs"]["baseline"]
            rows.append([lab, f"mix {mix['label']}", _fmt(mix["macs_per_cycle"], 4),
                         _ratio(mix["ratio_macs_per_cycle"]), _fmt(mix["macs_per_cycle_per_mm2"], 4),
                         _ratio(mix["ratio_macs_per_cycle_per_mm2"]), _fmt(mix["pj_per_mac"], 4),
                         _ratio(mix["ratio_energy_per_mac"]), _ratio(c["area_um2"] / b["area_um2"])])
    for b in bases:
        v = b["design"]["precisions"]["8"]
        rows.append([b["label"], "8 bit", v["macs_per_cycle"], "1.00x", _fmt(v["macs_per_cycle_per_mm2"], 4), "1.00x",
                     _fmt(v["pj_per_mac"], 4), "1.00x", "1.00x"])
    tables.append(("ratios", "Against the INT8 baseline (ratio = value / baseline at 8 bits of the same width)",
                   ["design", "precision", "MACs/cycle", "ratio", "MACs/cycle/mm^2", "ratio", "pJ/MAC", "ratio",
                    "area ratio"], rows))

    designs = [(lab, r["designs"]["config"], r) for r, lab in zip(reports, labels)] + \
              [(b["label"], b["design"], b["report"]) for b in bases]
    head = ["design"] + [BLOCK_SHORT[g] for g in BLOCK_GROUPS] + ["total um^2", "cells", "critical path ns",
                                                                  "Fmax MHz", "synthesis s"]
    rows = []
    for lab, d, _ in designs:
        rows.append([lab] + [_fmt(d["blocks"][g]["area_um2"]) for g in BLOCK_GROUPS]
                    + [_fmt(d["area_um2"]), _fmt(d["cells"]), _fmt(d["timing"]["critical_path_ns"], 4),
                       _fmt(d["timing"]["fmax_mhz"], 4), _fmt(d["synthesis"]["seconds"]["total"], 3)])
    tables.append(("area", "Area per block (um^2) and timing", head, rows))

    rows = []
    for lab, d, r in designs:
        for key, v in d["precisions"].items():
            rows.append([lab, f"{v['precision']} bit", _fmt(v["power_w"] * 1e3, 4), _fmt(v["switching_w"] * 1e3, 4),
                         _fmt(v["internal_w"] * 1e3, 4), _fmt(v["leakage_w"] * 1e6, 4), _fmt(v["energy_per_cycle_pj"], 4),
                         _fmt(v["pj_per_mac"], 4), f"{r['clock_ns']:g}"])
    tables.append(("power", "Power (simulated switching activity)",
                   ["design", "precision", "total mW", "switching mW", "internal mW", "leakage uW", "pJ/cycle",
                    "pJ/MAC", "clock ns"], rows))
    return tables


def _comparability_notes(reports: list[dict[str, Any]], labels: list[str]) -> list[str]:
    notes = []
    for key, what in (("library", "libraries"), ("engine_version", "Yosys engines"), ("clock_ns", "clocks")):
        vals = {str(r[key]) for r in reports}
        if len(vals) > 1:
            notes.append(f"The runs use different {what} ({', '.join(sorted(vals))}): compare ratios, not absolute "
                         f"numbers.")
    wl = {json.dumps({k: v for k, v in r["workload"].items()}, sort_keys=True) for r in reports}
    if len(wl) > 1:
        notes.append("The runs use different power workloads (see Runs): energy numbers are not directly comparable.")
    for r, lab in zip(reports, labels):
        for n in r.get("notes", []):
            notes.append(f"{lab}: {n}")
        if r["gate_check"] is not None and not r["gate_check"]["passed"]:
            notes.append(f"{lab}: the gate-level check FAILED")
    return notes


def compare_reports(dirs: list[str | Path], out_dir: str | Path, *, title: str | None = None,
                    progress: Progress | None = None) -> list[Path]:
    """Read every ``report.json``; write ``report.md``, ``report.html`` and the plots (PNG, SVG) to ``out_dir``."""
    if not dirs:
        raise SynthError("mixlane report: give at least one folder written by `mixlane synth`")
    reports = [load_report(d) for d in dirs]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = _labels(reports)
    bases = _baselines(reports, labels)
    t0 = time.perf_counter()
    plots = _plots(reports, labels, bases, out)
    if progress:
        progress(f"plots: {', '.join(plots)} in {time.perf_counter() - t0:.1f} s")
    tables = _compare_tables(reports, labels, bases)
    notes = _comparability_notes(reports, labels)
    title = title or f"mixlane synthesis comparison ({len(reports)} run{'s' if len(reports) > 1 else ''})"
    defs = reports[0]["definitions"]
    def_lines = [f"MACs/cycle: {defs['macs_per_cycle']}", f"MACs/cycle/mm^2: {defs['macs_per_cycle_per_mm2']}",
                 f"pJ/MAC: {defs['pj_per_mac']}", f"Fmax: {defs['fmax_mhz']}", f"ratio: {defs['ratio']}"]
    figs = [("area_breakdown", "Area per block"),
            ("macs_per_mm2", "MACs/cycle/mm^2 per precision against the INT8 baseline"),
            ("pj_per_mac", "pJ/MAC per precision against the INT8 baseline")]

    md = [f"# {title}", ""] + [f"- {d}" for d in def_lines] + [""]
    for anchor, ttl, head, rows in tables:
        md += [f"## {ttl}", "", _md_table(head, rows), ""]
    md += ["## Plots", ""]
    for stem, cap in figs:
        md += [f"![{cap}]({stem}.png)", "", f"{cap} ([SVG]({stem}.svg))", ""]
    if notes:
        md += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    md += ["Sources: " + ", ".join(f"`{r['_source']}`" for r in reports), ""]

    e = html.escape
    h = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">", f"<title>{e(title)}</title>",
         "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
         "table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}"
         "th,td{border:1px solid #ccc;padding:3px 7px}td{text-align:right}td:first-child{text-align:left}"
         "th{background:#f0f0f0}img{max-width:100%;border:1px solid #eee}figure{margin:1em 0}"
         "code{background:#f6f6f6}</style></head><body>", f"<h1>{e(title)}</h1>", "<ul>"]
    h += [f"<li>{e(d)}</li>" for d in def_lines] + ["</ul>"]
    for anchor, ttl, head, rows in tables:
        h.append(f"<h2 id=\"{anchor}\">{e(ttl)}</h2><table><tr>" + "".join(f"<th>{e(str(c))}</th>" for c in head)
                 + "</tr>")
        for row in rows:
            h.append("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>")
        h.append("</table>")
    h.append("<h2 id=\"plots\">Plots</h2>")
    for stem, cap in figs:
        # the PNG is embedded (the page stands alone, e.g. as a CI artifact); the SVG stays beside it
        png = base64.b64encode((out / f"{stem}.png").read_bytes()).decode("ascii")
        h.append(f"<figure><img src=\"data:image/png;base64,{png}\" alt=\"{e(cap)}\"><figcaption>{e(cap)} "
                 f"(<a href=\"{stem}.svg\">SVG</a>, <a href=\"{stem}.png\">PNG</a>)</figcaption></figure>")
    if notes:
        h.append("<h2 id=\"notes\">Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    h.append("<p>Sources: " + ", ".join(f"<code>{e(r['_source'])}</code>" for r in reports) + "</p>")
    h.append("</body></html>")
    (out / "report.md").write_text("\n".join(md))
    (out / "report.html").write_text("\n".join(h) + "\n")
    return [out / "report.md", out / "report.html"] + [out / p for p in plots]
