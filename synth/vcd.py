"""Switching activity from a VCD: transitions per net bit per clock period and the fraction of time high.

:func:`parse_vcd` streams the file (gate-level VCDs are large) and counts only while dumping is on (from the end
of the initial ``$dumpvars`` to ``$dumpoff``, again after each ``$dumpon``); :class:`VcdActivity` holds the
counts and converts them with the clock period. Net names are normalised the way VCD and OpenSTA both reduce
them (escapes and blanks removed, vector bits as ``bus[3]``).

Units: VCD time in the file's ``$timescale`` (:attr:`VcdActivity.timescale_s` seconds per unit), clock period
in ns, activity in transitions per clock period (OpenSTA's convention).
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

from .tools import SynthError

__all__ = [
    "VcdActivity",
    "parse_vcd",
]


_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12, "fs": 1e-15}


def _norm(name: str) -> str:
    """Net name as VCD and OpenSTA both reduce to: escapes and blanks removed (``\\acc.x [3]`` -> ``acc.x[3]``)."""
    return re.sub(r"[\\\s]", "", name)


@dataclass
class VcdActivity:
    """Switching activity counted from a VCD over its dumping intervals.

    ``bits`` maps every dumped net bit (normalised name, ``bus[3]`` for vector bits) to an index into
    ``toggles`` (0<->1 transitions; a pass through x/z between equal values is none), ``high`` (time
    high) and ``unknown`` (x/z seen while counting). ``duration`` is the counted time in VCD units of
    ``timescale_s`` seconds.
    """

    timescale_s: float
    duration: int = 0
    bits: dict[str, int] = field(default_factory=dict)
    toggles: list[int] = field(default_factory=list)
    high: list[int] = field(default_factory=list)
    unknown: list[bool] = field(default_factory=list)

    def cycles(self, clock_ns: float) -> float:
        """Clock periods in the counted time."""
        return self.duration * self.timescale_s / (clock_ns * 1e-9)

    def activity(self, clock_ns: float) -> dict[str, tuple[float, float]]:
        """Net bit -> (transitions per clock period, fraction of time high)."""
        cycles = self.cycles(clock_ns)
        if cycles <= 0:
            raise SynthError("VCD: no counted time (dumping never on?)")
        dur = float(self.duration)
        return {name: (self.toggles[i] / cycles, self.high[i] / dur) for name, i in self.bits.items()}


def parse_vcd(path: str | Path, scope: str | None = None) -> VcdActivity:
    """Count transitions per net bit in a VCD, streaming (files can be large).

    Counting runs from the end of the initial ``$dumpvars`` block to ``$dumpoff`` (or the last time
    stamp), and again after each ``$dumpon`` block (whose values are a new baseline, not transitions).
    ``scope``: only variables of that scope path (dot-joined, e.g. ``power_tb.dut``); default all.
    """
    path = Path(path)
    if not path.is_file():
        raise SynthError(f"VCD {path} not found")
    opener = gzip.open if path.name.endswith(".gz") else open
    act = None
    ids: dict[str, list[tuple[int, int]]] = {}     # id code -> [(first bit index, width)]
    cur: list[str] = []
    last: list[str] = []
    since: list[int] = []
    with opener(path, "rt", errors="replace") as fh:
        # ---- header
        tokens: list[str] = []
        scopes: list[str] = []
        timescale = None
        for line in fh:
            tokens.extend(line.split())
            if "$enddefinitions" in line:
                break
        else:
            raise SynthError(f"VCD {path}: no $enddefinitions (truncated header?)")
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            j = i + 1
            while j < len(tokens) and tokens[j] != "$end":
                j += 1
            args = tokens[i + 1:j]
            if tok == "$timescale":
                m = re.fullmatch(r"(\d+)\s*([a-z]+)", "".join(args))
                if not m or m.group(2) not in _UNITS:
                    raise SynthError(f"VCD {path}: cannot read $timescale {' '.join(args)!r}")
                timescale = int(m.group(1)) * _UNITS[m.group(2)]
            elif tok == "$scope" and len(args) >= 2:
                scopes.append(args[1])
            elif tok == "$upscope":
                scopes.pop() if scopes else None
            elif tok == "$var" and len(args) >= 4:
                if scope is None or ".".join(scopes) == scope:
                    width, code, ref = int(args[1]), args[2], " ".join(args[3:])
                    if act is None:
                        act = VcdActivity(timescale_s=1.0)
                    m = re.fullmatch(r"(.*?)\s*\[\s*(-?\d+)\s*(?::\s*(-?\d+)\s*)?\]", ref)
                    base = _norm(m.group(1)) if m else _norm(ref)
                    start = len(cur)
                    if m and m.group(3) is not None:
                        msb, lsb = int(m.group(2)), int(m.group(3))
                        step = -1 if msb >= lsb else 1
                        names = [f"{base}[{msb + step * k}]" for k in range(width)]
                    elif m:
                        names = [f"{base}[{m.group(2)}]"] if width == 1 else \
                            [f"{base}[{int(m.group(2)) - k}]" for k in range(width)]
                    else:
                        names = [base] if width == 1 else [f"{base}[{width - 1 - k}]" for k in range(width)]
                    for k, name in enumerate(names):
                        act.bits.setdefault(name, start + k)
                    if not m and width == 1:      # Icarus dumps a `wire [0:0] n` as plain `n`; OpenSTA names it n[0]
                        act.bits.setdefault(f"{base}[0]", start)
                    ids.setdefault(code, []).append((start, width))
                    cur.extend("x" * width)
            i = j + 1
        if timescale is None:
            raise SynthError(f"VCD {path}: no $timescale")
        if act is None:
            raise SynthError(f"VCD {path}: no variables" + (f" in scope {scope!r}" if scope else ""))
        act.timescale_s = timescale
        n = len(cur)
        last = ["x"] * n
        since = [0] * n
        act.toggles = [0] * n
        act.high = [0] * n
        act.unknown = [False] * n
        toggles, high, unknown = act.toggles, act.high, act.unknown
        # ---- value changes
        t = 0
        counting = False
        block = None           # "$dumpvars" / "$dumpon" / "$dumpoff" / "$dumpall" while inside that block
        t_on = 0

        def change(b: int, ch: str) -> None:
            old = cur[b]
            if old == ch:
                return
            cur[b] = ch
            if counting:
                if old == "1":
                    high[b] += t - since[b]
                if ch == "1":
                    since[b] = t
                if ch in "01":
                    if last[b] != ch and last[b] in "01":
                        toggles[b] += 1
                    last[b] = ch
                else:
                    unknown[b] = True
            elif ch in "01":
                last[b] = ch

        def start_counting() -> None:
            nonlocal counting, t_on
            counting, t_on = True, t
            for b in range(n):
                since[b] = t
                if cur[b] in "01":
                    last[b] = cur[b]

        def stop_counting() -> None:
            nonlocal counting
            for b in range(n):
                if cur[b] == "1":
                    high[b] += t - since[b]
            act.duration += t - t_on
            counting = False

        for line in fh:
            line = line.strip()
            if not line:
                continue
            c = line[0]
            if c == "#":
                t = int(line[1:])
                continue
            if c in "01xzXZ":
                entries = ids.get(line[1:].strip())
                if entries:
                    ch = c.lower()
                    for start, _ in entries:
                        change(start, ch)
                continue
            if c in "bB":
                value, _, code = line[1:].partition(" ")
                entries = ids.get(code.strip())
                if entries:
                    value = value.lower()
                    for start, width in entries:
                        v = value
                        if len(v) < width:
                            v = (v[0] if v[0] in "xz" else "0") * (width - len(v)) + v
                        elif len(v) > width:
                            v = v[-width:]
                        for k, ch in enumerate(v):
                            change(start + k, ch)
                continue
            if c in "rR":
                continue
            if c == "$":
                word = line.split()[0]
                if word in ("$dumpvars", "$dumpon", "$dumpall", "$dumpoff"):
                    if word == "$dumpoff" and counting:
                        stop_counting()
                    block = word
                    if line.endswith("$end") and word != line:
                        line = "$end"
                if line == "$end" or line.endswith(" $end") or word == "$end":
                    if block in ("$dumpvars", "$dumpon"):
                        start_counting()
                    block = None
                continue
        if counting:
            stop_counting()
    return act
