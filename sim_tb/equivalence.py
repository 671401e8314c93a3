"""Equivalent mutants: prove with Yosys that a mutant of the generated Verilog computes what the original does.

A mutant that survives the regression may be *equivalent* (no input sequence can tell it from the original,
e.g. ``x ^ 0`` -> ``x | 0`` on a lane row bit that is tied to 0 in another module). :class:`EquivalenceChecker`
proves it or gives up; only a proof classifies a mutant as equivalent:

1. ``synth/scripts/equiv_cut.ys`` on each design (the original once, then each survivor): flatten, propagate
   constants across the former module boundaries (``opt``, exact identities only: no undef rewrites) and cut
   every register into ports (``expose -evert-dff``: Q an input, D an output).
2. If both cut netlists are the same text, the designs are the same circuit. Else ``equiv_miter.ys``: a miter
   of the two, structurally equal logic merged, and a SAT proof that for every input *and every register
   state* all outputs and all next states agree. Both designs have the same registers with the same initial
   values (checked here; mutations never touch declarations), so by induction they agree on every run.

Anything else (a counterexample, a Yosys error, the timeout) is "not proven" and the mutant stays a survivor.
The proof is 2-state; the generated designs initialise every register, so simulation sees no X either.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from mixlane.synth.tools import DEFAULT_YOSYS, TOP_NAME, SynthError, find_tool, run_yosys

__all__ = ["Equivalence", "EquivalenceChecker", "DEFAULT_TIMEOUT", "check_prover"]

#: Seconds allowed for each Yosys step of one mutant's check.
DEFAULT_TIMEOUT = 60.0
_INIT = re.compile(r"^\s*attribute \\init (\S+)\n\s*wire (?:width \d+ )?(?:input|output) \d+ (\S+)$", re.M)


@dataclass(frozen=True)
class Equivalence:
    """The outcome of one check: ``proven`` or not, why (one line), and how long it took."""

    proven: bool
    reason: str
    seconds: float


def check_prover(yosys: str = DEFAULT_YOSYS) -> None:
    """Raise :class:`~mixlane.synth.tools.SynthError` (one line, naming the package) if ``yosys`` is missing."""
    find_tool(yosys)


def _initial_values(netlist: str) -> dict[str, str]:
    """Register name (its Q port) -> initial value, from a cut netlist of ``equiv_cut.ys``."""
    return {name: value for value, name in _INIT.findall(netlist)}


class EquivalenceChecker:
    """Proves mutants of ``original`` (Verilog text) equivalent to it; work files under ``work_dir``.

    The original's cut netlist is made on first use (once, thread-safe). ``timeout`` bounds each Yosys step.
    """

    def __init__(self, original: str, work_dir: str | Path, *, yosys: str = DEFAULT_YOSYS,
                 timeout: float = DEFAULT_TIMEOUT, top: str = TOP_NAME):
        self.original, self.work = original, Path(work_dir).resolve()
        self.yosys, self.timeout, self.top = yosys, timeout, top
        self._gold: Path | None = None
        self._lock = threading.Lock()

    def _cut(self, text: str, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "design.v").write_text(text)    # same name for both: Yosys's cell names carry it
        run_yosys("equiv_cut.ys", folder, {"DESIGN": "design.v", "TOP": self.top, "OUTPUT": "cut.il"},
                  yosys=self.yosys, timeout=self.timeout)
        return folder / "cut.il"

    def gold(self) -> Path:
        """The original's cut netlist (made once)."""
        with self._lock:
            if self._gold is None:
                self._gold = self._cut(self.original, self.work / "original")
            return self._gold

    def check(self, mutant: str, folder: str | Path) -> Equivalence:
        """Try to prove the Verilog ``mutant`` equivalent to the original; work files in ``folder``."""
        t0 = time.perf_counter()
        try:
            proven, reason = self._prove(mutant, Path(folder).resolve())
        except SynthError as exc:
            proven, reason = False, _failure(str(exc))
        return Equivalence(proven, reason, round(time.perf_counter() - t0, 2))

    def _prove(self, mutant: str, folder: Path) -> tuple[bool, str]:
        gold = self.gold()
        gate = self._cut(mutant, folder / "mutant")
        gold_text, gate_text = gold.read_text(), gate.read_text()
        if gold_text == gate_text:
            return True, "same netlist after flattening and constant propagation (Yosys)"
        if _initial_values(gold_text) != _initial_values(gate_text):
            return False, "not proven: the registers or their initial values differ after optimisation"
        miter = folder / "miter"
        miter.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(gold, miter / "gold.il")
        shutil.copyfile(gate, miter / "gate.il")
        res = run_yosys("equiv_miter.ys", miter, {"GOLD": "gold.il", "GATE": "gate.il", "TOP": self.top},
                        yosys=self.yosys, timeout=self.timeout)
        log = Path(res["log"]).read_text(errors="replace")
        if "SUCCESS" not in log:
            return False, "not proven: no SAT verdict in the Yosys log"
        merged = not re.search(r"^\s+\d+\s+\$eqx$", log, re.M)
        return True, ("same circuit after flattening, constant propagation and merging (Yosys miter)" if merged
                      else "SAT proof on the flattened netlists, registers cut (Yosys miter)")


def _failure(message: str) -> str:
    """One line for a Yosys step that did not end in a proof."""
    if "proof did fail" in message:
        return "not equivalent: Yosys found a counterexample"
    if "timed out" in message:
        return f"not proven: {message.split(' (log:')[0]}"
    return f"not proven: {message[:200]}"
