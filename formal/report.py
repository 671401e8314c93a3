"""Text output of ``mixlane prove``: the proof table and counterexample lines."""

from __future__ import annotations

from .prove import Proof, ProveReport

__all__ = ["proof_table", "format_counterexample"]


def _slots(slots) -> str:
    """``0-2,4-31``: runs of consecutive slots."""
    runs: list[list[int]] = []
    for s in sorted(slots):
        if runs and s == runs[-1][1] + 1:
            runs[-1][1] = s
        else:
            runs.append([s, s])
    return ",".join(f"{a}-{b}" if b > a + 1 else (f"{a},{b}" if b > a else str(a)) for a, b in runs)


def proof_table(report: ProveReport) -> str:
    """One row per (lane module, precision): slots, steps, cases, result and seconds, then the total."""
    rows = [("lane module", "slots", "prec", "steps", "cases", "result", "seconds")]
    for p in report.proofs:
        rows.append((p.module, _slots(p.slots), f"{p.precision}b", str(p.steps), str(p.cases), p.status,
                     f"{p.seconds:.2f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 2 or i == 5 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    total = sum(p.seconds for p in report.proofs)
    proved = sum(p.status == "proved" for p in report.proofs)
    lines.append(f"{proved} of {len(report.proofs)} proofs passed in {total:.1f} s ({report.engine.split(' (')[0]})")
    lines += sorted({f"scope: {p.scope}" for p in report.proofs if p.scope != "every input"})
    return "\n".join(lines)


def format_counterexample(p: Proof) -> str:
    """One line: the lane, the code and precision, the operands (element values and bits) and both results."""
    cx = p.counterexample or {}
    note = "" if cx.get("aligned", True) else " (and the lane's low shift bits are not zero)"
    free = f", other port bits {cx['free_bits']:#x}" if cx.get("free_bits") else ""
    return (f"COUNTEREXAMPLE {p.module} (slots {_slots(p.slots)}), code {p.code} = {p.precision}-bit: "
            f"a = {cx.get('a')} (bits {cx.get('a_bits', 0):#x}), w = {cx.get('w')} (bits {cx.get('w_bits', 0):#x})"
            f"{free}: reference {cx.get('expected')}, lane {cx.get('actual')}{note}")
