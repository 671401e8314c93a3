"""Command line: ``mixlane generate | verify | mutate | codesign | synth | report | prove | soc | presets`` (also
``python -m mixlane``)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

from . import architectures
from .config import PRESETS, Config, ConfigError, load_config, parse_overrides, preset
from mixlane.soc import commands as soc_commands

__all__ = ["main"]


class CliError(Exception):
    """A usage problem; printed as one line, exit status 2."""


def _config_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("configuration")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="NAME", help=f"a named configuration: {', '.join(PRESETS)} "
                                                      "(default: %(default)s)", default=None)
    src.add_argument("--config", metavar="FILE", help="a .toml or .json file whose keys are schema field names")
    g.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                   help="override one field, VALUE in JSON (e.g. --set width=256 --set precisions=[2,4])")


def _config(args) -> Config:
    cfg = load_config(args.config) if args.config else preset(args.preset or "default")
    overrides = parse_overrides(args.set)
    return cfg.replace(**overrides) if overrides else cfg


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else round(float(x), 6)


def preset_table() -> list[dict]:
    """Every preset: ``name``, ``summary``, ``config`` (schema fields) and ``macs_per_cycle`` (sustained MACs
    per cycle of back-to-back ACCs, keyed by precision)."""
    from mixlane.golden import peak_macs_per_cycle

    return [{"name": name, "summary": summary, "config": cfg.to_dict(), "config_hash": cfg.content_hash,
             "macs_per_cycle": {str(p): _number(peak_macs_per_cycle(cfg, p)) for p in cfg.mode_precisions}}
            for name, (summary, cfg) in PRESETS.items()]


def architecture_lines() -> list[str]:
    """One line per registered MAC architecture (name, options, summary)."""
    out = []
    for name, arch in architectures.registry().items():
        opts = ", ".join(f"{k}={o.default!r}" for k, o in arch.options.items())
        out.append(f"{name}{f' [{opts}]' if opts else ''}: {arch.summary}")
    return out


def cmd_presets(args) -> int:
    table = preset_table()
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    width = max(len(n) for n in PRESETS)
    for row in table:
        rates = " ".join(f"{p}b:{v:g}" for p, v in row["macs_per_cycle"].items())
        print(f"{row['name']:<{width}}  {row['summary']}  [{row['config_hash']}]  MACs/cycle {rates}")
    print("\nMAC architectures (mac = ...; options in mac_options):")
    for line in architecture_lines():
        print(f"  {line}")
    return 0


def cmd_generate(args) -> int:
    from mixlane.rtl.generate import write_design

    cfg = _config(args)
    t0 = time.perf_counter()
    path = write_design(cfg, args.output)
    dt = time.perf_counter() - t0
    print(f"wrote {path} ({path.stat().st_size} bytes) and {path.parent / 'config.json'} "
          f"in {dt:.1f} s  [configuration {cfg.content_hash}]")
    return 0


def cmd_verify(args) -> int:
    from mixlane.sim_tb.runner import run_regression

    cfg = _config(args)
    if args.vectors < 1:
        raise CliError(f"--vectors: {args.vectors} is not allowed; use a positive count")
    out = Path(args.output) if args.output else Path("out") / "verify" / cfg.name
    print(f"verifying {cfg.name} [{cfg.content_hash}] on {args.sim}, seed {args.seed}, "
          f"{args.vectors} random vectors, {args.mode} mode{', RTL ' + args.rtl if args.rtl else ''} ...", flush=True)
    res = run_regression(cfg, sim=args.sim, out_dir=out, vectors=args.vectors, seed=args.seed, rtl=args.rtl,
                         extra_sources=args.extra_source, waves=args.waves, scenarios=args.scenario or None,
                         mode=args.mode)
    print(f"{'scenario':<15}{'ops':>8}{'results':>9}{'lane-MACs':>12}{'cycles':>9}{'seconds':>9}  status")
    for t in res.tests:
        status = "ok" if t["mismatches"] == 0 else f"{t['mismatches']} MISMATCH"
        print(f"{t['scenario']:<15}{t['ops']:>8}{t['results']:>9}{t['lane_macs']:>12}{t['cycles']:>9}"
              f"{t['seconds']:>9.2f}  {status}")
    sim_s = sum(t["seconds"] for t in res.tests)
    rate = res.lane_macs / sim_s if sim_s else 0.0
    print(f"checked {res.checked_results} results covering {res.lane_macs} lane-MACs "
          f"({rate:,.0f} lane-MACs/s in simulation; build {res.build_seconds:.1f} s, run {res.run_seconds:.1f} s)")
    _print_coverage(res.coverage, res.coverage_file)
    print(f"JUnit XML: {res.results_xml}   log: {res.log}")
    if not res.passed:
        for f in res.failures:
            print(f"FAIL {f}", file=sys.stderr)
        if not res.failures:
            print(f"FAIL: the simulation did not complete every scenario; see {res.log}", file=sys.stderr)
        return 1
    print("PASS")
    return 0


def _print_coverage(cov: dict, path: str) -> None:
    """One line per coverage item, the missed bins (at most 6 per item), the total and the file."""
    if not cov:
        return
    for item, c in cov["items"].items():
        missing = c["missing"]
        more = f"; missed: {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}" if missing else ""
        print(f"coverage {item:<12}{c['hit']:>5}/{c['bins']:<5} {c['coverage']:6.1f}%{more}")
    print(f"functional coverage {cov['coverage']:.1f}% ({cov['hit']}/{cov['bins']} bins): {path}")


def _progress(line: str) -> None:
    print(f"mixlane: {line}", file=sys.stderr, flush=True)


def _workload(args) -> dict:
    """The power workload: defaults, then ``--workload``, then the single-key options (a key set both ways
    is an error)."""
    from mixlane.synth.tools import SynthError
    from mixlane.synth.workload import WORKLOAD_ALIASES as ALIASES
    from mixlane.synth.workload import WORKLOAD_DEFAULTS, parse_workload

    try:
        spec = parse_workload(args.workload) if args.workload is not None else {}
    except SynthError as exc:
        raise CliError(str(exc)) from None
    single = {"zero_fraction": ("--zero-fraction", args.zero_fraction), "ops": ("--power-ops", args.power_ops),
              "window": ("--window", args.window), "warmup": ("--warmup", args.warmup),
              "seed": ("--seed", args.seed), "glitches": ("--glitches", args.glitches)}
    explicit = {ALIASES.get(k, k) for k in (item.partition("=")[0].strip()
                                             for item in (args.workload or "").split(",") if "=" in item)}
    out = {**WORKLOAD_DEFAULTS, **spec}
    for key, (opt, value) in single.items():
        if value is None:
            continue
        if key in explicit:
            raise CliError(f"{opt} and --workload both set {key}; give it once")
        out[key] = value      # refines a named workload
    return out


def cmd_synth(args) -> int:
    from mixlane.synth.cache import default_cache_dir
    from mixlane.synth.render import write_reports
    from mixlane.synth.report import run_synth

    cfg = _config(args)
    wl = _workload(args)
    args.zero_fraction, args.power_ops, args.window = wl["zero_fraction"], wl["ops"], wl["window"]
    args.warmup, args.seed, args.glitches = wl["warmup"], wl["seed"], wl["glitches"]
    for name, value, ok, allowed in (
            ("--clock-ns", args.clock_ns, args.clock_ns > 0, "use a positive period in ns"),
            ("--zero-fraction", args.zero_fraction, 0.0 <= args.zero_fraction <= 1.0, "use 0 to 1"),
            ("--power-ops", args.power_ops, args.power_ops >= 2, "use at least 2 operations"),
            ("--window", args.window, args.window >= 1, "use a positive cycle count"),
            ("--warmup", args.warmup, args.warmup >= 1, "use a positive cycle count"),
            ("--gate-vectors", args.gate_vectors, args.gate_vectors >= 1, "use a positive count"),
            ("--jobs", args.jobs, args.jobs >= 1, "use a positive count")):
        if not ok:
            raise CliError(f"{name}: {value!r} is not allowed; {allowed}")
    if args.window + args.warmup > args.power_ops:
        raise CliError(f"--window {args.window} + --warmup {args.warmup} exceed --power-ops {args.power_ops}; "
                       f"raise --power-ops or shorten the window")
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise CliError(f"-o: {str(out)!r} exists and is not a folder")
    command = shlex.join(["mixlane", *args.argv]) if args.argv is not None else None
    try:
        report = run_synth(cfg, out, liberty=args.liberty, cell_models=args.cell_models, clock_ns=args.clock_ns,
                           zero_fraction=args.zero_fraction, power_ops=args.power_ops, window=args.window,
                           warmup=args.warmup, seed=args.seed, glitches=args.glitches, gate_check=args.gate_check,
                           gate_vectors=args.gate_vectors, gate_scenarios=tuple(args.gate_scenario or ()) or None,
                           yosys=args.yosys, jobs=args.jobs, transistors=args.transistors, command=command,
                           progress=_progress, cache_dir=None if args.no_cache else default_cache_dir(),
                           mix=wl["mix"], adder_cells=not args.no_adder_cells)
        paths = write_reports(report, out)
    except OSError as exc:
        raise CliError(f"{exc.filename or out}: {exc.strerror or exc}") from None
    cfg_d, base = report["designs"]["config"], report["designs"]["baseline"]
    print(f"{cfg_d['name']}: {cfg_d['area_um2']:,.0f} um^2, Fmax {cfg_d['timing']['fmax_mhz']:.1f} MHz; "
          f"INT8 baseline {base['area_um2']:,.0f} um^2, Fmax {base['timing']['fmax_mhz']:.1f} MHz")
    print(f"{'precision':>9} {'MACs/cycle':>10} {'MACs/cycle/mm^2':>16} {'x base':>7} {'pJ/MAC':>8} {'x base':>7}")
    for r in report["comparison"]:
        print(f"{r['precision']:>7} b {r['macs_per_cycle']:>10.4g} {r['macs_per_cycle_per_mm2']:>16,.0f} "
              f"{r['ratio_macs_per_cycle_per_mm2']:>6.2f}x {r['pj_per_mac']:>8.4f} {r['ratio_energy_per_mac']:>6.2f}x")
    mix = report.get("mix")
    if mix:
        print(f"{'mix':>9} {mix['macs_per_cycle']:>10.1f} {mix['macs_per_cycle_per_mm2']:>16,.0f} "
              f"{mix['ratio_macs_per_cycle_per_mm2']:>6.2f}x {mix['pj_per_mac']:>8.4f} "
              f"{mix['ratio_energy_per_mac']:>6.2f}x   ({mix['label']})")
    print("wrote " + ", ".join(str(p) for p in paths))
    if report["gate_check"] is not None and not report["gate_check"]["passed"]:
        print("FAIL: the gate-level check of a netlist failed; see report.md", file=sys.stderr)
        return 1
    return 0


def cmd_report(args) -> int:
    from mixlane.synth.compare import compare_reports

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise CliError(f"-o: {str(out)!r} exists and is not a folder")
    sweeps = [d for d in args.dirs if (Path(d) / "results.json").is_file()]
    if sweeps:
        return _report_sweeps(sweeps, [d for d in args.dirs if d not in sweeps], out, args.title)
    try:
        paths = compare_reports(args.dirs, out, title=args.title, progress=_progress)
    except OSError as exc:
        raise CliError(f"{exc.filename or out}: {exc.strerror or exc}") from None
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _report_sweeps(sweeps: list[str], others: list[str], out: Path, title: str | None) -> int:
    """``mixlane report`` on sweep folders: their tables merged into one HTML report."""
    from mixlane.sweep.html import write_html

    if others:
        raise CliError(f"{others[0]}: give either sweep folders (with results.json) or synth folders, not both")
    table = []
    for d in sweeps:
        try:
            rows = json.loads((Path(d) / "results.json").read_text())
        except ValueError:
            raise CliError(f"{d}/results.json: not a sweep table; rerun mixlane sweep") from None
        table += [{"sweep": str(d), **r} for r in rows]
    path = write_html(table, out, title=title or "mixlane sweeps")
    print(f"wrote {path}")
    return 0


# ------------------------------------------------------------------------------------- mixlane mutate
def cmd_mutate(args) -> int:
    from mixlane.sim_tb.mutate import MutationError, run_mutants

    cfg = _config(args)
    for name, value, ok, allowed in (("--count", args.count, args.count >= 1, "use a positive count"),
                                     ("--vectors", args.vectors, args.vectors >= 1, "use a positive count"),
                                     ("--jobs", args.jobs, args.jobs >= 1, "use a positive count"),
                                     ("--equiv-timeout", args.equiv_timeout, args.equiv_timeout > 0,
                                      "use a positive number of seconds"),
                                     ("--min-score", args.min_score,
                                      args.min_score is None or 0 <= args.min_score <= 100, "use 0 to 100")):
        if not ok:
            raise CliError(f"{name}: {value!r} is not allowed; {allowed}")
    out = Path(args.output) if args.output else Path("out") / "mutate" / cfg.name
    if out.exists() and not out.is_dir():
        raise CliError(f"-o: {str(out)!r} exists and is not a folder")
    print(f"mutating {cfg.name} [{cfg.content_hash}]: {args.count} mutants, seed {args.seed}, {args.sim}, "
          f"{args.jobs} at a time ...", flush=True)
    print(_MUTANT_ROW.format("#", "verdict", "seconds", "failing scenarios", "site"), flush=True)
    try:
        rep = run_mutants(cfg, out_dir=out, count=args.count, seed=args.seed, sim=args.sim, vectors=args.vectors,
                          scenarios=args.scenario, jobs=args.jobs, equivalence=not args.no_equiv_check,
                          equiv_timeout=args.equiv_timeout, progress=_print_mutant)
    except MutationError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        Path(args.json).write_text(json.dumps(rep.to_dict(), indent=2) + "\n")
    invalid = len(rep.results) - len(rep.valid) - len(rep.equivalent)
    check = f"{len(rep.equivalent)} proven equivalent" if rep.equivalence_check else "equivalence not checked"
    print(f"{rep.sites} sites; {len(rep.valid)} mutants verified, {invalid} invalid (did not compile) and {check} "
          f"replaced; unmutated run {rep.baseline_seconds:.1f} s, total {rep.seconds:.0f} s; work folder {out}")
    for r in rep.equivalent:
        print(f"equivalent #{r.index}: {r.site.describe()}: {r.detail}")
    for r in rep.survivors:
        print(f"survived #{r.index}: {r.site.describe()}" + (f" ({r.detail})" if r.detail else ""))
    if len(rep.valid) < args.count:
        print(f"only {len(rep.valid)} valid mutants exist at seed {args.seed}", file=sys.stderr)
    low = args.min_score is not None and rep.score < args.min_score
    if low:
        print(f"FAIL: mutation score {rep.score:.1f}% is below --min-score {args.min_score:g}%", file=sys.stderr)
    print(f"killed {rep.killed}/{len(rep.valid)}")
    return 1 if low else 0


_MUTANT_ROW = "{:>4}  {:<10} {:>7}  {:<24} {}"


def _print_mutant(r) -> None:
    """One row of the mutant table; an equivalent or surviving mutant adds the outcome of its check."""
    seconds = r.seconds + r.equiv_seconds
    note = f"  [{r.detail}]" if r.verdict in ("equivalent", "survived") and r.detail else ""
    print(_MUTANT_ROW.format(r.index, r.verdict, f"{seconds:.1f}", r.scenario, r.site.describe() + note), flush=True)


def _mutate_parser(sub) -> None:
    from mixlane.sim_tb.mutate import SCENARIOS, VECTORS

    p = sub.add_parser("mutate", help="mutation score: how many one-change mutants of the Verilog verify kills",
                       description="Apply operator, constant, mux and $signed mutations (plus those of the "
                                   "configuration's architecture) to the generated Verilog, one per mutant, run "
                                   "the regression on each, prove survivors equivalent with Yosys where possible "
                                   "(those are replaced, not counted) and report the rest; last line: killed K/N.")
    _config_args(p)
    p.add_argument("--count", type=int, default=50, help="mutants verified (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1,
                   help="seed of the mutant draw and the stimulus (default: %(default)s)")
    p.add_argument("--sim", choices=("icarus", "verilator"), default="icarus", help="simulator (default: %(default)s)")
    p.add_argument("--vectors", type=int, default=VECTORS, help="random operations per scenario (default: %(default)s)")
    p.add_argument("--scenario", action="append", metavar="NAME",
                   help=f"scenario run on each mutant (repeatable; default: {', '.join(SCENARIOS)})")
    p.add_argument("--jobs", type=int, default=1, help="mutants verified at once (default: %(default)s)")
    p.add_argument("--min-score", type=float, metavar="PCT", help="exit 1 when fewer than PCT%% are killed")
    p.add_argument("--no-equiv-check", action="store_true",
                   help="count every survivor; by default a survivor that Yosys proves equivalent to the original "
                        "is shown as 'equivalent', not counted, and replaced by the next site")
    p.add_argument("--equiv-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="time limit of each Yosys step of the equivalence check (default: %(default)s)")
    p.add_argument("--json", metavar="FILE", help="write every mutant (site, verdict, scenarios, seconds) as JSON")
    p.add_argument("-o", "--output", metavar="DIR", help="work folder (default: out/mutate/<config name>)")
    p.set_defaults(func=cmd_mutate)


def cmd_prove(args) -> int:
    """Formal equivalence of every lane with a behavioural reference (:mod:`mixlane.formal`)."""
    from mixlane.formal import format_counterexample, prove, proof_table

    cfg = _config(args)
    if args.timeout is not None and args.timeout <= 0:
        raise CliError(f"--timeout: {args.timeout!r} is not allowed; use a positive number of seconds")
    if args.split is not None and not 0 <= args.split <= cfg.lane_bits:
        raise CliError(f"--split: {args.split!r} is not allowed; use 0 to the lane width {cfg.lane_bits}")
    if args.rtl and not Path(args.rtl).is_file():
        raise CliError(f"--rtl: {args.rtl!r} not found")
    out = Path(args.output) if args.output else Path("out") / "prove" / cfg.name
    if out.exists() and not out.is_dir():
        raise CliError(f"-o: {str(out)!r} exists and is not a folder")
    print(f"proving the lanes of {cfg.name} [{cfg.content_hash}]{', RTL ' + args.rtl if args.rtl else ''} ...",
          flush=True)
    report = prove(cfg, out, rtl=args.rtl, timeout=args.timeout, split=args.split, yosys=args.yosys,
                   register=args.register,
                   progress=lambda p: _progress(f"{p.module} {p.precision}-bit: {p.status} ({p.seconds:.1f} s)"))
    print(proof_table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    bad = [p for p in report.proofs if p.status == "counterexample"]
    for p in bad:
        print(format_counterexample(p), file=sys.stderr)
    if bad:
        print(f"FAIL: {len(bad)} counterexample(s); work folder {out}", file=sys.stderr)
        return 1
    if not report.passed:
        print(f"UNPROVED: {sum(p.status == 'timeout' for p in report.proofs)} proof(s) timed out", file=sys.stderr)
        return 3
    print("PASS")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixlane", description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="MAC architectures (configuration key mac; options in mac_options):\n"
               + "\n".join(f"  {line}" for line in architecture_lines()))
    parser.add_argument("--plugin", metavar="MODULE", action="append", default=[],
                        help="import a module or .py file that registers more MAC architectures (repeatable)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("presets", help="list the named configurations and the MAC architectures")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list: name, summary, config (schema fields), macs_per_cycle per precision")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("generate", help="write the Verilog and config.json of a configuration")
    _config_args(p)
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("verify", help="run the cocotb regression against the golden model")
    _config_args(p)
    p.add_argument("--sim", choices=("icarus", "verilator"), default="icarus", help="simulator (default: %(default)s)")
    p.add_argument("--vectors", type=int, default=2000, help="random operations (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    p.add_argument("--rtl", metavar="FILE.v", help="check this Verilog instead of regenerating it")
    p.add_argument("--extra-source", metavar="FILE.v", action="append", default=[],
                   help="more Verilog to compile with --rtl (e.g. standard-cell models)")
    p.add_argument("--scenario", action="append", metavar="NAME",
                   help="run only this scenario (repeatable): random, random_stalls, corners, overflow, exhaustive")
    p.add_argument("--mode", choices=("bulk", "cycle"), default="bulk",
                   help="bulk: each scenario's whole stimulus handed to a generated Verilog harness, results "
                        "checked at once (fast); cycle: Python drives and samples every cycle (for debugging "
                        "with waveforms) (default: %(default)s)")
    p.add_argument("--waves", action="store_true", help="record waveforms in the build folder")
    p.add_argument("-o", "--output", metavar="DIR", help="work folder (default: out/verify/<config name>)")
    p.set_defaults(func=cmd_verify)

    _mutate_parser(sub)
    _codesign_parser(sub)
    _sweep_parser(sub)
    soc_commands.add_parsers(sub, _config_args, _config)

    from mixlane.synth.tools import DEFAULT_CLOCK_NS, DEFAULT_LIBERTY, DEFAULT_YOSYS

    p = sub.add_parser("synth", help="synthesize a configuration and its INT8 baseline; area, Fmax, power, ratios",
                       description="Synthesize the configuration and the INT8 conventional baseline of the same "
                                   "width (Yosys, per-block area), find Fmax (OpenSTA), measure power from a "
                                   "gate-level simulation at every supported precision, and write report.json, "
                                   "report.csv and report.md to -o DIR.")
    _config_args(p)
    g = p.add_argument_group("technology")
    g.add_argument("--liberty", metavar="PATH", help=f"liberty file (default: OSU 0.18 um, {DEFAULT_LIBERTY})")
    g.add_argument("--cell-models", metavar="PATH",
                   help="Verilog models of the liberty's cells (default: the OSU 0.18 um models, or <lib>.v beside "
                        "another liberty)")
    g.add_argument("--clock-ns", type=float, default=DEFAULT_CLOCK_NS,
                   help="clock period for ABC, timing and power (default: %(default)s)")
    g.add_argument("--yosys", default=DEFAULT_YOSYS, help="Yosys engine (default: the pinned %(default)s)")
    g.add_argument("--no-adder-cells", action="store_true",
                   help="leave full adders as gates for ABC instead of the liberty's full-adder cell (FAX1 in OSU "
                        "0.18 um; found by its functions), in both designs")
    g = p.add_argument_group("power workload (per precision)")
    g.add_argument("--workload", metavar="SPEC",
                   help="NAME[,key=value...] or key=value[,...]; names: relu (50%% zero activations, the "
                        "default), dense (none), sparse (75%%); keys: zeros, ops, window, warmup, seed, glitches, mix "
                        "(e.g. --workload dense,ops=800,window=512), and mix=P:F/P:F... (e.g. mix=1:0.25/2:0.5/4:0.25) for "
                        "one more measurement at that precision mix. The options below set single keys.")
    g.add_argument("--zero-fraction", type=float, help="fraction of zero activations (default: 0.5)")
    g.add_argument("--power-ops", type=int, help="operations simulated (default: 400)")
    g.add_argument("--window", type=int, help="cycles whose switching is counted (default: 256)")
    g.add_argument("--warmup", type=int, help="cycles before the window (default: 32)")
    g.add_argument("--seed", type=int, help="workload and gate-check seed (default: 1)")
    g.add_argument("--glitches", action="store_true", default=None,
                   help="simulate with the cell models' specify delays (adds glitches) instead of zero delay")
    g = p.add_argument_group("gate-level check")
    g.add_argument("--gate-check", action="store_true",
                   help="also run the cocotb regression on each mapped netlist with the cell models (Icarus)")
    g.add_argument("--gate-vectors", type=int, default=200, help="random vectors of the check (default: %(default)s)")
    g.add_argument("--gate-scenario", action="append", metavar="NAME",
                   help="scenario of the check (repeatable; default: random, random_stalls, corners, overflow)")
    p.add_argument("--transistors", action="store_true",
                   help="also run the technology-independent Yosys flow for a CMOS transistor estimate (slow in "
                        "element mode)")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="synthesis/power steps run at once (default: %(default)s)")
    p.add_argument("--no-cache", action="store_true",
                   help="measure the INT8 baseline again instead of reusing an identical earlier measurement "
                        "(cache: $MIXLANE_CACHE, else ~/.cache/mixlane)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder (reports and work folders)")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("report", help="compare mixlane synth runs (or sweep folders): report.md, report.html, plots",
                       description="Read DIR/report.json of each run and write OUT/report.md, OUT/report.html and "
                                   "plots (PNG, SVG): area per block, MACs/cycle/mm^2 and pJ/MAC per precision "
                                   "against the INT8 baseline.")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="folders written by mixlane synth, or by mixlane sweep (results.json)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    p.add_argument("--title", help="page title")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("prove", help="prove every lane equal to a behavioural reference (Yosys sat)",
                       description="Prove, for all inputs, that every distinct MAC lane of the datapath equals a "
                                   "behavioural reference (unpacked elements, Amaranth * and +) at every precision "
                                   "of the configuration; multi-cycle lanes over one operation's steps. Exit 0: all "
                                   "proved; 1: a counterexample (printed as operands and both results); 3: a proof "
                                   "timed out.")
    _config_args(p)
    p.add_argument("--rtl", metavar="FILE.v", help="prove the lanes of this Verilog file (e.g. a hand edit) "
                                                   "instead of generating the configuration's")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="limit per lane module and precision")
    p.add_argument("--split", type=int, metavar="BITS",
                   help="prove case by case over the top BITS bits of w (default: 4 for 8-bit lanes, else 0)")
    p.add_argument("--register", action=argparse.BooleanOptionalAction, default=False,
                   help="also prove the whole datapath at its ports (reset, ACC, READ: bounded sat -seq) at every "
                        "precision; slow beyond 32-bit registers (default: %(default)s)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--yosys", default=DEFAULT_YOSYS, help="Yosys engine (default: the pinned %(default)s)")
    p.add_argument("-o", "--output", metavar="DIR", help="work folder (default: out/prove/<config name>)")
    p.set_defaults(func=cmd_prove)
    return parser


def _codesign_parser(sub) -> None:
    from mixlane.codesign.data import DATASETS
    from mixlane.codesign.flow import Options
    from mixlane.sim_tb.runner import SIMULATORS

    d = Options()

    p = sub.add_parser("codesign", help="train a network for the configuration, compile it, run it on the RTL",
                       description="Train a small network on a bundled dataset, assign input-channel precisions of "
                                   "the configuration under a bit budget, fine-tune with the datapath's integer "
                                   "semantics, run the whole test set on the golden model and a sample of images on "
                                   "the generated Verilog, and write report.json, report.md and codesign.png to -o "
                                   "DIR (accuracy fp32 / INT8 / mixed, compression, cycles vs the INT8 baseline "
                                   "datapath, dataflow, energy with --synth-report). Needs mixlane[codesign].")
    _config_args(p)
    p.add_argument("--dataset", default=d.dataset, help=f"one of {', '.join(DATASETS)} (default: %(default)s)")
    p.add_argument("--model", metavar="SPEC", help="cnn:C1,C2s2,... or mlp:H1,... (default: cnn:16,64 for "
                                                    "images, mlp:32 for features)")
    p.add_argument("--budget", type=float, metavar="BITS",
                   help="mean bits per weight (default: 5/8 of the widest precision of the mode)")
    p.add_argument("--epochs", type=int, default=d.epochs, help="float training passes (default: %(default)s)")
    p.add_argument("--qat-epochs", type=int, default=d.qat_epochs, help="fine-tuning passes (default: %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="split, initialisation and batch order (default: 0)")
    p.add_argument("--rtl-images", type=int, default=d.rtl_images,
                   help="test images run on the generated Verilog (0: none; default: %(default)s)")
    p.add_argument("--sim", choices=SIMULATORS, default=d.sim,
                   help="simulator of the RTL check (default: %(default)s)")
    p.add_argument("--synth-report", metavar="FILE", help="report.json of `mixlane synth` for this configuration: "
                                                          "energy per inference")
    p.add_argument("--soc-images", type=int, default=0, metavar="N",
                   help="run N test images on the RISC-V SoC with this configuration's extension, and the INT8 "
                        "baselines on the same SoC: cycles per layer (report key soc; default: %(default)s)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=cmd_codesign)


def cmd_codesign(args) -> int:
    from mixlane.codesign import CodesignError
    from mixlane.codesign.flow import Options, codesign

    cfg = _config(args)
    opts = Options(dataset=args.dataset, model=args.model, budget=args.budget, epochs=args.epochs,
                   qat_epochs=args.qat_epochs, seed=args.seed, rtl_images=args.rtl_images, sim=args.sim,
                   synth_report=args.synth_report)
    stages = ()
    if args.soc_images:
        from mixlane.soc.codesign_stage import SocOptions, soc_stage
        stages = (soc_stage(SocOptions(images=args.soc_images)),)
    try:
        rep = codesign(cfg, opts, args.output, stages=stages)
    except CodesignError as exc:
        raise CliError(str(exc)) from None
    print(f"wrote {Path(args.output) / 'report.md'}")
    if rep["status"] != "ok":
        return 0
    soc_ok = rep.get("soc", {}).get("mismatches", 0) == 0
    return 0 if rep["rtl"].get("mismatches", 0) == 0 and rep["rtl"].get("passed", True) and soc_ok else 1


def _sweep_parser(sub) -> None:
    from mixlane.sweep.run import EXECUTORS

    p = sub.add_parser("sweep", help="run steps over a design space (TOML spec): cached, resumable, one table",
                       description="Run the spec's steps (generate, verify, prove, synth, codesign) on every point of "
                                   "its axes; each point and step lands in DIR/points/<config hash>/<step>-<options>/ and is "
                                   "reused on a rerun when nothing it depends on changed; failing points are "
                                   "recorded and the sweep goes on. Writes DIR/results.csv, results.json and "
                                   "results.sqlite. Exit 1 when a point failed.")
    p.add_argument("spec", metavar="SPEC.toml", help="the sweep spec (docs/sweep.md)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="sweep folder (resumes when it exists)")
    p.add_argument("--jobs", type=int, default=1, help="points run at once (default: %(default)s)")
    p.add_argument("--executor", choices=EXECUTORS, default="local", help="where points run (default: local "
                                                                           "worker processes)")
    p.add_argument("--address", metavar="ADDR", help="Ray cluster address (ray://host:10001 or host:6379) for "
                                                      "--executor ray; default: a local Ray with --jobs CPUs")
    p.add_argument("--retry-failed", action="store_true", help="run failed and timed-out points again")
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args) -> int:
    from tqdm import tqdm

    from mixlane.sweep import SweepError
    from mixlane.sweep.run import run_sweep
    from mixlane.sweep.spec import load_spec, points
    from mixlane.sweep.html import write_html
    from mixlane.sweep.table import rows, write_table

    if args.jobs < 1:
        raise CliError(f"--jobs: {args.jobs} is not allowed; use a positive count")
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise CliError(f"-o: {str(out)!r} exists and is not a folder")
    try:
        spec = load_spec(args.spec)
        pts = points(spec)
    except SweepError as exc:
        raise CliError(str(exc)) from None
    for p in pts:
        if p.config is None:
            print(f"point {p.index} ({p.label}): skipped: {p.error}", file=sys.stderr)
    bar = tqdm(total=sum(p.config is not None for p in pts), unit="point", dynamic_ncols=True)

    def progress(c: dict) -> None:
        bar.update(c["done"] - bar.n)
        bar.set_postfix(running=c["running"], failed=c["failed"], cached=c["cached"], invalid=c["invalid"])
    try:
        outcomes = run_sweep(spec, out, jobs=args.jobs, retry_failed=args.retry_failed, executor=args.executor,
                             address=args.address, progress=progress)
    except SweepError as exc:
        raise CliError(str(exc)) from None
    finally:
        bar.close()
    out.mkdir(parents=True, exist_ok=True)
    table = rows(pts, outcomes)
    files = write_table(table, out) + [write_html(table, out, title=f"mixlane sweep {Path(args.spec).name}")]
    failed = [o for o in outcomes if o["status"] in ("failed", "timeout")]
    for o in failed:
        print(f"point {o['point']} ({pts[o['point']].label}): {o['status']}: {o['error']}", file=sys.stderr)
    print(f"{len(pts)} points: {sum(o['status'] == 'ok' for o in outcomes)} ok, {len(failed)} failed, "
          f"{sum(o['status'] == 'invalid' for o in outcomes)} invalid; wrote {', '.join(str(f) for f in files)}")
    return 1 if failed else 0


def _early_plugins(argv: list[str]) -> None:
    """Load ``--plugin`` modules before the parser is built, so ``--help`` lists their architectures."""
    items = [argv[k + 1] for k, a in enumerate(argv[:-1]) if a == "--plugin"]
    items += [a.partition("=")[2] for a in argv if a.startswith("--plugin=")]
    if items:
        architectures.load_plugins(os.pathsep.join(items))


def main(argv: list[str] | None = None) -> int:
    from mixlane.sim_tb.runner import ToolError

    from mixlane.soc import ProgramError, SocError
    from mixlane.synth.tools import SynthError

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        _early_plugins(argv)
        args = build_parser().parse_args(argv)
        args.argv = argv
        return args.func(args)
    except (ConfigError, ToolError, CliError, SynthError, SocError, ProgramError) as exc:
        print(f"mixlane: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mixlane: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
