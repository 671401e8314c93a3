"""Bit-serial MAC lane: operands as bit planes, a few planes per cycle.

At precision ``p`` a ``lane_bits`` slice holds ``n = lane_bits // p`` elements. An operation takes several
steps (cycles); step ``s`` adds ``sum_e a_e[i] * w_e[j] * 2**(i + j)`` over the bit pairs ``(i, j)`` the step
covers, as a popcount of ``a_i AND w_j`` planes per column (Cowan et al.): the top plane of a two's complement
operand has negative weight, bipolar 1-bit elements multiply by XNOR (``2 * xnor - 1``).

- ``serial = "weights"`` (1-D, UNPU-like): the activation bits in parallel, ``bits_per_cycle`` weight planes
  per step: ``ceil(p / bits_per_cycle)`` steps, ``lane_bits * bits_per_cycle`` AND cells.
- ``serial = "both"`` (2-D, Loom-like): ``bits_per_cycle`` planes of each operand per step:
  ``ceil(p / bits_per_cycle) ** 2`` steps, ``(lane_bits // pmin) * bits_per_cycle ** 2`` AND cells.

Every step's bits enter the same carry-save compressor; a step's value is scaled by ``2**weight`` in the
datapath (:class:`~mixlane.rtl.contract.LaneContract` ``weights``), negative bits enter inverted with the
constant moved to the per-(code, step) offset.
"""

from __future__ import annotations

import operator
from collections import defaultdict

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import wiring

from .compress import compress, rows_width
from .contract import LaneContract, lane_signature

__all__ = ["BitSerialLane", "bit_serial_terms", "SERIAL_KINDS"]

SERIAL_KINDS = ("weights", "both")


def _groups(p: int, bpc: int) -> list[range]:
    return [range(g, min(p, g + bpc)) for g in range(0, p, bpc)]


def bit_serial_terms(p: int, *, lane_bits: int, a_signed: bool, w_signed: bool, bipolar: bool,
                     bits_per_cycle: int, serial: str):
    """Per step of one operation at precision ``p``: ``(weight, constant, terms)``, each term
    ``(cell, col, negative, kind, a_bit, w_bit)``. ``cell`` names the AND/XNOR cell that computes it (chosen so
    that a cell keeps its ``a`` source across steps and precisions where it can); ``kind`` is ``"and"`` or
    ``"xnor"``; the step's value is ``constant + sum(+-bit << col)``."""
    n = lane_bits // p
    if p == 1 and bipolar:       # 2 * xnor - 1 per element, one step, on the cells of the AND terms
        cell = (lambda e: (e, 0)) if serial == "weights" else (lambda e: (e, 0, 0))
        return [(0, -n, [(cell(e), 1, False, "xnor", e, e) for e in range(n)])]
    neg_a = lambda i: a_signed and p > 1 and i == p - 1      # noqa: E731
    neg_w = lambda j: w_signed and p > 1 and j == p - 1      # noqa: E731
    steps = []
    groups = _groups(p, bits_per_cycle)
    if serial == "weights":
        for gw in groups:
            terms = [((e * p + i, j - gw[0]), i + j - gw[0], neg_a(i) != neg_w(j), "and", e * p + i, e * p + j)
                     for e in range(n) for i in range(p) for j in gw]
            steps.append((gw[0], 0, terms))
    else:
        for ga in groups:
            for gw in groups:
                terms = [((e, i - ga[0], j - gw[0]), i - ga[0] + j - gw[0], neg_a(i) != neg_w(j), "and",
                          e * p + i, e * p + j) for e in range(n) for i in ga for j in gw]
                steps.append((ga[0] + gw[0], 0, terms))
    return steps


class BitSerialLane(wiring.Component):
    """Multi-precision bit-serial MAC lane (combinational per step; the datapath sequences the steps).

    Parameters
    ----------
    precisions : tuple of int
        Supported precisions, sorted; ``code`` indexes this tuple.
    lane_bits : int
        Width of the operand slices (``pmax``).
    a_signed, w_signed : bool
        Two's complement operands for precisions >= 2.
    bipolar : bool
        1-bit elements are {-1, +1} (XNOR) instead of {0, 1} (AND).
    bits_per_cycle : int
        Bit planes of a serial operand handled per step (1, 2, 4 or 8).
    serial : str
        ``"weights"`` (1-D) or ``"both"`` (2-D), see the module docstring.

    Members
    -------
    a, w : In(lane_bits)
    code : In(code_bits)
    en : In(1)
        1 whenever ``code`` is a valid code (the datapath's uniform-mode decoder does that).
    step : In(step_bits)
        Step of the operation, ``0 .. contract.cycles[code] - 1``.
    sum, carry : Out(row_width)
        ``sum + carry + contract.offsets[code][step]`` is the step's value.
    """

    def __init__(self, *, precisions, lane_bits: int, a_signed: bool, w_signed: bool, bipolar: bool,
                 bits_per_cycle: int = 1, serial: str = "weights"):
        self._precisions = tuple(operator.index(p) for p in precisions)
        self._lane_bits = operator.index(lane_bits)
        if not self._precisions or any(p < 1 or self._lane_bits % p for p in self._precisions):
            raise ValueError(f"precisions must divide lane_bits {lane_bits}, not {precisions!r}")
        self._bpc = operator.index(bits_per_cycle)
        if self._bpc not in (1, 2, 4, 8):
            raise ValueError(f"bits_per_cycle must be 1, 2, 4 or 8, not {bits_per_cycle!r}")
        if serial not in SERIAL_KINDS:
            raise ValueError(f"serial must be one of {SERIAL_KINDS}, not {serial!r}")
        self._serial = serial
        self._code_bits = max(1, (len(self._precisions) - 1).bit_length())
        n_codes = 1 << self._code_bits
        self._steps = {c: bit_serial_terms(p, lane_bits=self._lane_bits, a_signed=bool(a_signed),
                                           w_signed=bool(w_signed), bipolar=bool(bipolar),
                                           bits_per_cycle=self._bpc, serial=serial)
                       for c, p in enumerate(self._precisions)}
        cycles = tuple(len(self._steps[c]) if c in self._steps else 1 for c in range(n_codes))
        self._step_bits = (max(cycles) - 1).bit_length()
        self._build_slots()
        offsets, weights = [], []
        for c in range(n_codes):
            steps = self._steps.get(c, [(0, 0, [])])
            offsets.append(tuple(const - sum(1 << col for col, _, inv in self._slots if inv.get((c, s)))
                                 for s, (_, const, _) in enumerate(steps)))
            weights.append(tuple(w for w, _, _ in steps))
        counts: dict[int, int] = defaultdict(int)
        for col, _, _ in self._slots:
            counts[col] += 1
        self._contract = LaneContract(row_width=rows_width(counts), offsets=tuple(offsets), shifts=(0,) * n_codes,
                                      weights=tuple(weights), cycles=cycles, register_code=True)
        super().__init__(lane_signature(lane_bits=self._lane_bits, code_bits=self._code_bits,
                                        row_width=self._contract.row_width, step_bits=self._step_bits))

    def _build_slots(self) -> None:
        """Compressor inputs: slot ``(col, k)`` takes the ``k``-th term of every context in column ``col``
        (one context, a (code, step) pair, is active at a time). ``self._slots``: ``(col, users, inv)`` with
        ``users`` ``{(cell, kind): {ctx}}`` and ``inv`` ``{ctx: negative}``."""
        slots: dict[tuple[int, int], tuple[dict, dict]] = {}
        for c, steps in self._steps.items():
            for s, (_, _, terms) in enumerate(steps):
                seen: dict[int, int] = defaultdict(int)
                for cell, col, neg, kind, _, _ in sorted(terms, key=lambda t: (t[1], t[0])):
                    key = (col, seen[col])
                    seen[col] += 1
                    users, inv = slots.setdefault(key, ({}, {}))
                    users.setdefault((cell, kind), set()).add((c, s))
                    inv[(c, s)] = neg
        self._slots = [(col, users, inv) for (col, _), (users, inv) in sorted(slots.items())]

    @property
    def contract(self) -> LaneContract:
        return self._contract

    @property
    def compressor_inputs(self) -> int:
        return len(self._slots)

    def _ctx_index(self, c: int, s: int) -> int:
        return c << self._step_bits | s

    def elaborate(self, platform):
        m = Module()
        ctx = Signal(self._code_bits + self._step_bits, name="ctx")
        m.d.comb += ctx.eq(Cat(self.step, self.code) if self._step_bits else self.code)
        n_ctx = 1 << len(ctx)
        hits: dict[int, Signal] = {}

        def hit(ctxs, name="hit"):
            """1 while one of the contexts ``ctxs`` is active (and the lane enabled)."""
            mask = sum(1 << self._ctx_index(c, s) for c, s in ctxs)
            if mask not in hits:
                hits[mask] = sig = Signal(name=f"{name}_{mask:x}")
                m.d.comb += sig.eq(self.en & Const(mask, n_ctx).bit_select(ctx, 1))
            return hits[mask]

        # operand sources of every cell per context; a cell whose source never changes is a plain wire
        sources: dict[tuple, dict[str, dict[int, set]]] = defaultdict(lambda: {"a": defaultdict(set),
                                                                                "w": defaultdict(set)})
        for c, steps in self._steps.items():
            for s, (_, _, terms) in enumerate(steps):
                for cell, _, _, _, a_bit, w_bit in terms:
                    sources[cell]["a"][a_bit].add((c, s))
                    sources[cell]["w"][w_bit].add((c, s))
        cell_in: dict[tuple, dict[str, object]] = {}
        for n, (cell, src) in enumerate(sorted(sources.items())):
            cell_in[cell] = {}
            for op, port in (("a", self.a), ("w", self.w)):
                if len(src[op]) == 1:
                    cell_in[cell][op] = port[next(iter(src[op]))]
                    continue
                sig = Signal(name=f"cell{n}_{op}")
                expr = 0
                for bit, ctxs in sorted(src[op].items()):
                    expr = expr | (port[bit] & hit(ctxs, "src"))
                m.d.comb += sig.eq(expr)
                cell_in[cell][op] = sig
        values: dict[tuple, Signal] = {}

        def value(cell, kind):
            if (cell, kind) not in values:
                x, y = cell_in[cell]["a"], cell_in[cell]["w"]
                values[(cell, kind)] = sig = Signal(name=f"pp{len(values)}_{kind}")
                m.d.comb += sig.eq(x & y if kind == "and" else ~(x ^ y))
            return values[(cell, kind)]

        cols: dict[int, list] = defaultdict(list)
        for k, (col, users, inv) in enumerate(self._slots):
            expr = 0
            for (cell, kind), ctxs in sorted(users.items()):
                expr = expr | (value(cell, kind) & hit(ctxs))
            bit = Signal(name=f"slot{k}_c{col}")
            inv_ctx = [x for x, neg in inv.items() if neg]
            m.d.comb += bit.eq(expr ^ hit(inv_ctx, "inv") if inv_ctx else expr)
            cols[col].append(bit)
        row0, row1 = compress(m, cols, name="lane")
        m.d.comb += [self.sum.eq(row0), self.carry.eq(row1)]
        return m
