"""A MAC lane described by its partial-product terms per (precision code, step): the common machinery of the
multi-cycle lanes (bit-serial, multi-pass).

A subclass lists, for every precision code, the steps of one operation: ``(weight, constant, terms)``, each
term ``(cell, col, negative, kind, a_bit, w_bit)``: the AND (``kind = "and"``) or XNOR (``"xnor"``) of
``a[a_bit]`` and ``w[w_bit]``, computed by the physical cell ``cell``, counted at column ``col`` with a
negative weight when ``negative``. The step's value is ``constant + sum(+-bit << col)``; the datapath scales it
by ``2**weight`` (and shifts it right by the code's ``shift``).

:class:`TermLane` builds the hardware once for all contexts (a context is a (code, step) pair; one is active
at a time):

- one AND/XNOR per cell; a cell's operands are wires when every context gives it the same bit, else an
  AND-OR multiplexer decoded from the context;
- compressor inputs (slots) shared between contexts: a term goes to the slot its cell already uses in that
  column when it is free (so most slots see one cell and need no gating), else to a free slot of the column;
  the column's height is the tallest context's;
- a negative term enters inverted, through an XOR with a context-decoded constant where contexts disagree,
  and ``-2**col`` moves to that context's offset.
"""

from __future__ import annotations

from collections import defaultdict

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring

from .compress import compress, rows_width
from .contract import LaneContract, lane_signature

__all__ = ["TermLane"]


class TermLane(wiring.Component):
    """Lane built from a per-(code, step) term table (combinational per step).

    Parameters
    ----------
    lane_bits : int
        Width of the ``a`` and ``w`` slices.
    code_bits : int
        Width of ``code``.
    steps : dict
        Code -> list of steps ``(weight, constant, terms)`` (module docstring); codes without an entry
        contribute 0 in one step.
    shifts : dict, optional
        Code -> right shift of the step values (``LaneContract.shifts``); default 0.
    fold_offsets : bool
        Add the code-dependent part of the offsets inside the lane (constant bits decoded from the code, and
        the lane's fixed bias while ``en`` is 0), so that the contract's offset is one constant: lanes of one
        register may then have different codes (``pattern``/``channel`` modes). Single-cycle lanes without
        shifts only.

    Members
    -------
    a, w : In(lane_bits)
    code : In(code_bits)
    en : In(1)
        1 whenever ``code`` is a valid code (the uniform-mode decoder does that): offsets do not depend on it.
    step : In(step_bits)
        Only for lanes with multi-step codes: ``0 .. contract.cycles[code] - 1``.
    sum, carry : Out(row_width)
        ``sum + carry + contract.offsets[code][step]`` is the step's value times ``2**shifts[code]``.
    """

    def __init__(self, *, lane_bits: int, code_bits: int, steps: dict, shifts: dict | None = None,
                 fold_offsets: bool = False):
        self._lane_bits, self._code_bits = int(lane_bits), int(code_bits)
        n_codes = 1 << self._code_bits
        self._steps = {int(c): list(v) for c, v in steps.items()}
        if not self._steps or any(not 0 <= c < n_codes or not v for c, v in self._steps.items()):
            raise ValueError(f"steps: one non-empty list of steps per code 0..{n_codes - 1}")
        cycles = tuple(len(self._steps.get(c, ((0, 0, []),))) for c in range(n_codes))
        self._step_bits = (max(cycles) - 1).bit_length()
        self._build_slots()
        offsets, weights = [], []
        for c in range(n_codes):
            per = self._steps.get(c, [(0, 0, [])])
            offsets.append(tuple(const - sum(1 << col for col, _, inv in self._slots if inv.get((c, s)))
                                 for s, (_, const, _) in enumerate(per)))
            weights.append(tuple(w for w, _, _ in per))
        counts: dict[int, int] = defaultdict(int)
        for col, _, _ in self._slots:
            counts[col] += 1
        shifts = shifts or {}
        self._folded: dict[int, int] = {}          # code -> constant added in the lane (offset + bias, >= 0)
        self._bias = 0
        if fold_offsets:
            if max(cycles) > 1 or any(shifts.values()):
                raise ValueError("fold_offsets: only for single-cycle lanes without shifts")
            self._bias = -min(min(per) for per in offsets)
            self._folded = {c: offsets[c][0] + self._bias for c in range(n_codes)}
            for b in range(max(max(self._folded.values()), self._bias).bit_length()):
                counts[b] += 1
            offsets = [(-self._bias,)] * n_codes
        self._contract = LaneContract(row_width=rows_width(counts), offsets=tuple(offsets),
                                      shifts=tuple(int(shifts.get(c, 0)) for c in range(n_codes)),
                                      weights=tuple(weights), cycles=cycles, register_code=not fold_offsets)
        super().__init__(lane_signature(lane_bits=self._lane_bits, code_bits=self._code_bits,
                                        row_width=self._contract.row_width, step_bits=self._step_bits))

    # ------------------------------------------------------------------------------------------ structure
    def _contexts(self):
        """Every (code, step) with its terms, the busiest first (they lay out the slots)."""
        ctxs = [((c, s), terms) for c, per in self._steps.items() for s, (_, _, terms) in enumerate(per)]
        return sorted(ctxs, key=lambda x: (-len(x[1]), x[0]))

    def _build_slots(self) -> None:
        """``self._slots``: ``(col, users, inv)`` per compressor input, ``users`` ``{(cell, kind): {ctx}}``,
        ``inv`` ``{ctx: negative}``."""
        slots: list[tuple[int, dict, dict]] = []
        by_col: dict[int, list[int]] = defaultdict(list)
        home: dict[tuple, int] = {}                 # (cell, col) -> the slot the cell used there last
        for ctx, terms in self._contexts():
            taken: set[int] = set()
            for cell, col, neg, kind, _, _ in sorted(terms, key=lambda t: (t[1], t[0])):
                k = home.get((cell, col))
                if k is None or k in taken:
                    free = [j for j in by_col[col] if j not in taken]
                    # prefer a slot no cell calls home yet, then any free one, else a new slot
                    unowned = [j for j in free if not slots[j][1]]
                    k = (unowned or free or [None])[0]
                    if k is None:
                        k = len(slots)
                        slots.append((col, {}, {}))
                        by_col[col].append(k)
                taken.add(k)
                home[(cell, col)] = k
                slots[k][1].setdefault((cell, kind), set()).add(ctx)
                slots[k][2][ctx] = neg
        self._slots = sorted(slots, key=lambda s: s[0])

    @property
    def contract(self) -> LaneContract:
        return self._contract

    @property
    def compressor_inputs(self) -> int:
        return len(self._slots)

    @property
    def cells(self) -> int:
        return len({cell for _, users, _ in self._slots for cell, _ in users})

    # ------------------------------------------------------------------------------------------- hardware
    def _cells(self, m: Module, hit, everything: frozenset):
        """The cell values: ``(value(cell, kind) -> Signal, live)``, ``live[cell]`` the contexts in which the
        cell may be 1 (all of them unless its operands are multiplexed, and so gated, by context)."""
        sources: dict = defaultdict(lambda: {"a": defaultdict(set), "w": defaultdict(set)})
        for c, per in self._steps.items():
            for s, (_, _, terms) in enumerate(per):
                for cell, _, _, _, a_bit, w_bit in terms:
                    sources[cell]["a"][a_bit].add((c, s))
                    sources[cell]["w"][w_bit].add((c, s))
        cell_in, live = {}, {}
        for n, (cell, src) in enumerate(sorted(sources.items())):
            cell_in[cell], muxed = {}, False
            for op, port in (("a", self.a), ("w", self.w)):
                if len(src[op]) == 1:
                    cell_in[cell][op] = port[next(iter(src[op]))]
                    continue
                muxed = True
                sig = Signal(name=f"cell{n}_{op}")
                expr = 0
                for bit, ctxs in sorted(src[op].items()):
                    expr = expr | (port[bit] & hit(ctxs))
                m.d.comb += sig.eq(expr)
                cell_in[cell][op] = sig
            # contexts where the cell's AND may be 1: only its own when an operand is multiplexed
            live[cell] = frozenset().union(*src["a"].values()) if muxed else everything
        values: dict = {}

        def value(cell, kind):
            if (cell, kind) not in values:
                x, y = cell_in[cell]["a"], cell_in[cell]["w"]
                values[(cell, kind)] = sig = Signal(name=f"pp{len(values)}_{kind}")
                m.d.comb += sig.eq(x & y if kind == "and" else ~(x ^ y))
            return values[(cell, kind)]

        return value, live

    def elaborate(self, platform):
        m = Module()
        ctx = Signal(self._code_bits + self._step_bits, name="ctx")
        m.d.comb += ctx.eq(Cat(self.step, self.code) if self._step_bits else self.code)
        n_ctx = 1 << len(ctx)
        everything = frozenset((c, s) for c in range(1 << self._code_bits) for s in range(1 << self._step_bits))
        hits: dict[int, Signal] = {}

        def hit(ctxs):
            """1 while one of the contexts ``ctxs`` is active (and the lane enabled)."""
            mask = sum(1 << (c << self._step_bits | s) for c, s in ctxs)
            if mask not in hits:
                hits[mask] = sig = Signal(name=f"ctx_in_{mask:x}")
                m.d.comb += sig.eq(self.en & Const(mask, n_ctx).bit_select(ctx, 1))
            return hits[mask]

        value, live = self._cells(m, hit, everything)
        cols: dict[int, list] = defaultdict(list)
        for k, (col, users, inv) in enumerate(self._slots):
            expr = 0
            for (cell, kind), ctxs in sorted(users.items()):
                v = value(cell, kind)
                needs_gate = kind == "xnor" or not live[cell] <= ctxs
                expr = expr | (v & hit(ctxs) if needs_gate else v)
            bit = Signal(name=f"slot{k}_c{col}")
            negs = {x for x, neg in inv.items() if neg}
            m.d.comb += bit.eq(expr ^ hit(negs) if negs else expr)
            cols[col].append(bit)
        width = max(max(self._folded.values(), default=0), self._bias).bit_length()
        for b in range(width):                  # folded offsets: the code's constant, the bias while off
            mask = sum(1 << c for c, k in self._folded.items() if k >> b & 1)
            bit = Signal(name=f"fold_b{b}")
            m.d.comb += bit.eq(Mux(self.en, Const(mask, n_ctx).bit_select(ctx, 1), self._bias >> b & 1))
            cols[b].append(bit)
        row0, row1 = compress(m, cols, name="lane")
        m.d.comb += [self.sum.eq(row0), self.carry.eq(row1)]
        return m
