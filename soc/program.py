"""Compile C for the SoC (Debian's bare-metal RISC-V GCC and picolibc) and run it on the simulator."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .build import RUNTIME, SocBuild
from .errors import ProgramError, SocError

__all__ = ["CC", "CFLAGS", "RunResult", "check_compiler", "compile_program", "run_program", "TRAP_CAUSES"]

CC = "riscv64-unknown-elf-gcc"
OBJCOPY = "riscv64-unknown-elf-objcopy"
#: rv32im with the 2.2 ISA spec (which still has csrr in the base; the rv32im multilib is the one for ilp32).
CFLAGS = ("-march=rv32im", "-mabi=ilp32", "-misa-spec=2.2", "--specs=picolibc.specs", "-O2",
          "-ffunction-sections", "-fdata-sections")
LDFLAGS = ("-nostartfiles", "-Wl,--gc-sections", "-DPICOLIBC_INTEGER_PRINTF_SCANF")
TRAP_CAUSES = {0: "instruction address misaligned", 1: "instruction access fault", 2: "illegal instruction",
               3: "breakpoint", 4: "load address misaligned", 5: "load access fault",
               6: "store address misaligned", 7: "store access fault", 11: "environment call"}


@dataclass
class RunResult:
    """One run: the program's output, exit status (its ``main`` return value) and cycles from reset."""

    stdout: str
    exit_code: int
    cycles: int
    seconds: float

    @property
    def cycles_per_second(self) -> float:
        return self.cycles / self.seconds if self.seconds > 0 else 0.0


def check_compiler() -> None:
    """Raise :class:`SocError` naming the packages when the RISC-V compiler is missing."""
    for tool in (CC, OBJCOPY):
        if not shutil.which(tool):
            raise SocError(f"{tool} not found; install it with `apt-get install gcc-riscv64-unknown-elf "
                           "picolibc-riscv64-unknown-elf` (or run scripts/setup.sh)")


def compile_program(build: SocBuild, sources: list[str | Path], out: str | Path, *,
                    include: list[str | Path] = (), defines: list[str] = ()) -> Path:
    """Compile and link ``sources`` with the SoC's start-up code and header; return the raw image (``.bin``).
    A compile or link error raises :class:`ProgramError` (kind ``compile``) with the compiler's messages."""
    check_compiler()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for s in sources:
        if not Path(s).is_file():
            raise ProgramError(f"{s}: no such file", kind="compile")
    elf = out.with_suffix(".elf")
    runtime = [build.folder / name for name in RUNTIME if name.endswith((".c", ".S"))]
    cmd = [CC, *CFLAGS, *LDFLAGS, f"-I{build.include_dir}", *(f"-I{p}" for p in include),
           *(f"-D{d}" for d in defines), "-T", str(build.folder / "link.ld"), "-o", str(elf),
           *map(str, runtime), *map(str, sources)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise ProgramError(f"compiling {', '.join(Path(s).name for s in sources)} failed (exit {res.returncode})",
                           kind="compile", details=res.stderr)
    res = subprocess.run([OBJCOPY, "-O", "binary", str(elf), str(out)], capture_output=True, text=True)
    if res.returncode != 0:
        raise ProgramError(f"objcopy failed: {res.stderr.strip()}", kind="compile", details=res.stderr)
    if out.stat().st_size > build.ram_bytes - 0x4000:
        raise ProgramError(f"{out.name}: {out.stat().st_size} bytes do not fit the SoC's {build.ram_kib} KiB RAM "
                           "(with 16 KiB of stack); build it with a larger --ram-kib", kind="compile")
    return out


def run_program(build: SocBuild, image: str | Path, *, max_cycles: int = 100_000_000) -> RunResult:
    """Run a program image; return its output, exit status and cycles. A hang (``max_cycles``), a trap or a bus
    error raises :class:`ProgramError` (kind ``run``) naming the cause and the program counter; what the
    program printed before is in ``details``."""
    if max_cycles < 1:
        raise SocError(f"--max-cycles: {max_cycles} is not allowed; use a positive count")
    status_file = Path(image).with_suffix(".status")
    status_file.unlink(missing_ok=True)
    t0 = time.perf_counter()
    res = subprocess.run([str(build.simulator), str(image), str(max_cycles), str(status_file)],
                         capture_output=True)
    seconds = time.perf_counter() - t0
    out = res.stdout.decode("utf-8", errors="replace")
    if res.returncode != 0 or not status_file.exists():
        raise SocError(f"the SoC simulator failed (exit {res.returncode}): {res.stderr.decode().strip()[:300]}")
    st = dict(item.split("=", 1) for item in status_file.read_text().split())
    cycles = int(st["cycles"])
    if st["status"] == "exit":
        return RunResult(out, int(st["code"]), cycles, seconds)
    if st["status"] == "timeout":
        msg = f"no exit after {cycles} cycles (--max-cycles); last instruction at pc {st['pc']}"
    elif st["status"] == "unsettled":
        raise SocError(f"the core and the extension did not settle on the CFU port at cycle {cycles} (a "
                       "combinational loop through the port); the simulator cannot run this SoC")
    elif st["status"] == "trap":
        cause = int(st["cause"])
        name = TRAP_CAUSES.get(cause, f"exception {cause}")
        extra = f" (instruction word {st['tval']})" if cause == 2 else f" (address {st['tval']})" if cause in (4, 5, 6, 7) else ""
        msg = f"{name} at pc {st['epc']}{extra}"
    else:
        what = "write to" if st["write"] == "1" else "read from"
        msg = f"bus error: {what} unmapped address {st['addr']} near pc {st['pc']}"
    raise ProgramError(msg, kind="run", details=out)
