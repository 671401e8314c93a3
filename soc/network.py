"""A compiled network on the SoC: generate its C, build, run images, compare logits, count cycles per layer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mixlane.codesign.integer import IntNetwork, input_codes
from .build import SocBuild
from .errors import SocError
from .cprog import input_steps
from .kernels import bitserial_program, rv32im_program
from .netgen import extension_program, plan_layers
from .program import compile_program, run_program

__all__ = ["NetworkRun", "run_network", "parse_network_output", "breakdown"]


@dataclass
class NetworkRun:
    """Logits ``(N, classes)`` and cycles ``(N, layers)`` of ``N`` images on the SoC, with the check."""

    kind: str
    logits: np.ndarray
    cycles: np.ndarray
    mismatches: int
    total_cycles: int
    seconds: float
    program_bytes: int

    @property
    def cycles_per_inference(self) -> float:
        return float(self.cycles.sum(axis=1).mean())

    @property
    def cycles_per_layer(self) -> list[float]:
        return [float(v) for v in self.cycles.mean(axis=0)]

    def summary(self) -> dict:
        return {"images_checked": int(len(self.logits)), "mismatches": self.mismatches,
                "cycles_per_inference": round(self.cycles_per_inference, 1),
                "cycles_per_layer": [round(v, 1) for v in self.cycles_per_layer],
                "simulated_cycles": self.total_cycles, "seconds": round(self.seconds, 2),
                "program_bytes": self.program_bytes}


def parse_network_output(text: str, classes: int, layers: int) -> tuple[np.ndarray, np.ndarray]:
    """The program's ``image n`` blocks -> logits ``(N, classes)`` (signed 32-bit) and cycles ``(N, layers)``."""
    logits, cycles = [], []
    for block in re.split(r"^image \d+\n", text, flags=re.M)[1:]:
        lines = block.split("\n")
        vals = [int(v, 16) for v in lines[:classes]]
        logits.append([v - (1 << 32) if v >> 31 else v for v in vals])
        cyc = lines[classes].split()
        if cyc[:1] != ["cycles"] or len(cyc) != layers + 1:
            raise ValueError(f"unexpected program output: {lines[classes]!r}")
        cycles.append([int(c) for c in cyc[1:]])
    return np.array(logits, np.int64).reshape(-1, classes), np.array(cycles, np.int64).reshape(-1, layers)


def run_network(build: SocBuild, net: IntNetwork, reds, x: np.ndarray, expected: np.ndarray, out_dir: str | Path,
                *, kind: str = "extension", schedule: str = "resident", skip: tuple[str, ...] = (),
                max_cycles: int = 2_000_000_000) -> NetworkRun:
    """Run the float inputs ``x`` (their first-layer codes, as the golden inference computes them) through
    ``net`` on ``build``: ``kind`` ``extension`` (the datapath, ``schedule`` resident or streamed), ``rv32im``
    (reference kernels on the plain core) or ``bitserial`` (bit-serial kernels on the plain core); ``expected`` are the golden logits ``(N, classes)``. ``skip``:
    parts of the extension program left out (a cycle breakdown: the logits are then not checked)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images = input_steps(net.layers[0], input_codes(net.layers[0], x))
    if kind == "extension":
        src = extension_program(net, plan_layers(net, reds), images, build.facts, schedule=schedule, skip=skip)
        name = f"net_{schedule}" + "".join(f"_no_{p}" for p in skip)
    elif kind == "rv32im":
        src = rv32im_program(net, images)
        name = "net_rv32im"
    elif kind == "bitserial":
        src = bitserial_program(net, images)
        name = "net_bitserial"
    else:
        raise SocError(f"kind: {kind!r} is not allowed; use extension, rv32im or bitserial")
    c_file = out / f"{name}.c"
    c_file.write_text(src)
    image = compile_program(build, [c_file], out / f"{name}.bin")
    res = run_program(build, image, max_cycles=max_cycles)
    (out / f"{name}.out").write_text(res.stdout)
    if res.exit_code != 0:
        raise SocError(f"{name}: the program exited with {res.exit_code}: {res.stdout.strip()[-200:]!r}")
    classes = net.layers[-1].spec.cout
    try:
        logits, cycles = parse_network_output(res.stdout, classes, len(net.layers))
    except ValueError as exc:
        raise SocError(f"{name}: unreadable program output ({exc}); see {out / (name + '.out')}") from None
    bad = len(expected) if logits.shape != expected.shape else int((logits != expected).any(axis=1).sum())
    bad = 0 if skip else bad
    return NetworkRun(kind if kind != "extension" else f"extension/{schedule}", logits, cycles, bad, res.cycles,
                      res.seconds, image.stat().st_size)


def breakdown(build: SocBuild, net: IntNetwork, reds, x: np.ndarray, out_dir: str | Path, *,
              max_cycles: int = 2_000_000_000) -> dict:
    """Where one inference's cycles go on the extension (weights resident): the program run whole, then with
    requantization, activation packing and the datapath's instructions (``mac``, ``read_load``) left out one
    after the other; each part costs what leaving it out saves, ``other`` is what remains (weight and metadata
    pushes, loops, control). Cycle-exact: the simulation does not depend on the host."""
    from .netgen import PARTS

    x1 = x[:1]
    dummy = np.zeros((1, net.layers[-1].spec.cout), np.int64)
    totals = []
    for k in range(len(PARTS) + 1):
        r = run_network(build, net, reds, x1, dummy, out_dir, skip=PARTS[:k], max_cycles=max_cycles)
        totals.append(int(r.cycles.sum()))
    parts = {p: totals[k] - totals[k + 1] for k, p in enumerate(PARTS)}
    parts["other"] = totals[-1]
    return {"cycles": totals[0], "parts": parts}
