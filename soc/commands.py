"""``mixlane soc build`` and ``mixlane soc run``: the parsers and what they do (the CLI registers them)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Callable

from .errors import ProgramError, SocError

__all__ = ["add_parsers"]


def add_parsers(sub, config_args: Callable, config: Callable) -> None:
    """Add ``soc`` with its ``build`` and ``run`` subcommands to the CLI's subparsers. ``config_args(parser)``
    adds the configuration options, ``config(args)`` reads them."""
    p = sub.add_parser("soc", help="the datapath inside a RISC-V core (VexRiscv + CFU): build, run C programs",
                       description="The SoC: VexRiscv, RAM, a console and the configuration's datapath as the "
                                   "core's custom function unit (docs/isa.md), simulated with Verilator.")
    ssub = p.add_subparsers(dest="soc_command", required=True)

    b = ssub.add_parser("build", help="write the SoC Verilog, simulator, C header, start-up code and linker script")
    _common(b, config_args)
    b.add_argument("-o", "--output", required=True, metavar="DIR", help="build folder")
    b.set_defaults(func=lambda args: _build(args, config))

    r = ssub.add_parser("run", help="compile C files with the extension's header and run them on the SoC",
                        description="Compile FILE.c (with mixlane_cfu.h on the include path), run it; the "
                                    "program's output is this command's output and its main() value the exit "
                                    "status. Compile error: exit 2; hang, trap or bus error: one line, exit 3.")
    _common(r, config_args)
    r.add_argument("sources", nargs="+", metavar="FILE.c", help="C (or assembly) sources of the program")
    r.add_argument("--max-cycles", type=int, default=100_000_000, help="stop after this many cycles "
                                                                      "(default: %(default)s)")
    r.add_argument("--cycles", action="store_true", help="print the cycle count on stderr")
    r.add_argument("-I", dest="include", action="append", default=[], metavar="DIR", help="more include folders")
    r.add_argument("-D", dest="define", action="append", default=[], metavar="NAME[=VALUE]", help="C defines")
    r.add_argument("--build-dir", metavar="DIR", help="SoC build folder (default: a cache keyed by the "
                                                       "configuration: $MIXLANE_CACHE/soc/...)")
    r.set_defaults(func=lambda args: _run(args, config))


def _common(p, config_args: Callable) -> None:
    config_args(p)
    p.add_argument("--no-extension", action="store_true", help="the core alone (custom instructions answer 0)")
    p.add_argument("--ram-kib", type=int, default=256, help="RAM size in KiB, a power of two (default: %(default)s)")
    p.add_argument("--a-regs", type=int, default=64, help="activation/metadata buffer depth (default: %(default)s)")
    p.add_argument("--w-regs", type=int, default=64, help="weight buffer depth (default: %(default)s)")


def _soc(args, config: Callable, folder, full_verilog: bool = False):
    from .build import build_soc

    cfg = None if args.no_extension else config(args)
    if args.ram_kib < 1 or args.ram_kib & (args.ram_kib - 1):
        raise SocError(f"--ram-kib: {args.ram_kib} is not allowed; use a power of two")
    return build_soc(cfg, folder, ram_kib=args.ram_kib, a_regs=args.a_regs, w_regs=args.w_regs, full_verilog=full_verilog,
                     log=lambda line: print(line, file=sys.stderr, flush=True))


def _build(args, config: Callable) -> int:
    b = _soc(args, config, args.output, full_verilog=True)
    print(f"SoC in {b.folder}: Verilog mixlane_soc.v, simulator {b.simulator.relative_to(b.folder)}, header mixlane_cfu.h, "
          f"start-up crt0.S + console.c, linker script link.ld")
    return 0


def _run(args, config: Callable) -> int:
    from .program import compile_program, run_program

    b = _soc(args, config, args.build_dir)
    (b.folder / "programs").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=b.folder / "programs") as tmp:     # runs at once do not share files
        try:
            res = run_program(b, compile_program(b, args.sources, Path(tmp) / (Path(args.sources[0]).stem + ".bin"),
                                                 include=args.include, defines=args.define),
                              max_cycles=args.max_cycles)
        except ProgramError as exc:
            return _failed(exc)
    sys.stdout.write(res.stdout)
    sys.stdout.flush()
    if args.cycles:
        print(f"cycles: {res.cycles} ({res.seconds:.2f} s, {res.cycles_per_second / 1e6:.2f} M cycles/s)",
              file=sys.stderr)
    return res.exit_code & 0xFF


def _failed(exc: ProgramError) -> int:
    """A compile error: the compiler's messages and one line, exit 2; a failed run: its output and one line, 3."""
    if exc.kind == "compile":
        sys.stderr.write(exc.details)
        print(f"mixlane: error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(exc.details)
    sys.stdout.flush()
    print(f"mixlane: error: {exc}", file=sys.stderr)
    return 3
