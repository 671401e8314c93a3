"""Command line: ``mixlane generate | verify | presets`` (also ``python -m mixlane``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .config import MAC_ARCHITECTURES, PRESETS, Config, ConfigError, load_config, parse_overrides, preset

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


def cmd_presets(args) -> int:
    width = max(len(n) for n in PRESETS)
    for name, (summary, cfg) in PRESETS.items():
        print(f"{name:<{width}}  {summary}  [{cfg.content_hash}]")
    print("\nMAC architectures: " + ", ".join(f"{k} ({v['summary']})" for k, v in MAC_ARCHITECTURES.items()))
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
          f"{args.vectors} random vectors{', RTL ' + args.rtl if args.rtl else ''} ...", flush=True)
    res = run_regression(cfg, sim=args.sim, out_dir=out, vectors=args.vectors, seed=args.seed, rtl=args.rtl,
                         extra_sources=args.extra_source, waves=args.waves, scenarios=args.scenario or None)
    print(f"{'scenario':<15}{'ops':>8}{'results':>9}{'lane-MACs':>12}{'cycles':>9}{'seconds':>9}  status")
    for t in res.tests:
        status = "ok" if t["mismatches"] == 0 else f"{t['mismatches']} MISMATCH"
        print(f"{t['scenario']:<15}{t['ops']:>8}{t['results']:>9}{t['lane_macs']:>12}{t['cycles']:>9}"
              f"{t['seconds']:>9.2f}  {status}")
    sim_s = sum(t["seconds"] for t in res.tests)
    rate = res.lane_macs / sim_s if sim_s else 0.0
    print(f"checked {res.checked_results} results covering {res.lane_macs} lane-MACs "
          f"({rate:,.0f} lane-MACs/s in simulation; build {res.build_seconds:.1f} s, run {res.run_seconds:.1f} s)")
    print(f"JUnit XML: {res.results_xml}   log: {res.log}")
    if not res.passed:
        for f in res.failures:
            print(f"FAIL {f}", file=sys.stderr)
        if not res.failures:
            print(f"FAIL: the simulation did not complete every scenario; see {res.log}", file=sys.stderr)
        return 1
    print("PASS")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixlane", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("presets", help="list the named configurations")
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
    p.add_argument("--waves", action="store_true", help="record waveforms in the build folder")
    p.add_argument("-o", "--output", metavar="DIR", help="work folder (default: out/verify/<config name>)")
    p.set_defaults(func=cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    from mixlane.sim_tb.runner import ToolError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, ToolError, CliError) as exc:
        print(f"mixlane: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mixlane: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
