"""Sum-apart (DVAFS-style) lane and subword accumulators: every element's product is kept and accumulated
apart.

:class:`SumApartLane` is one ``lane_bits x lane_bits`` partial-product array: cell ``(u, v)`` (``a[u] & w[v]``)
sits at column ``u + v`` for every precision, and at precision ``p`` the cells whose bits belong to one
element (``u // p == v // p``) are on. Element ``k``'s product therefore fills columns ``2kp .. 2kp+2p-1`` of
the array and the carries into column ``2kp`` are cut: one compressor and one segmented adder give all the
products apart (two's complement, each modulo ``2**(2p)``). Negative partial products enter inverted through an
XOR with a code-decoded constant; the constants of a code's fields enter as code-decoded bits.

:class:`SubwordAccumulators` keeps, per output, one ``acc_width``-bit register per lane, split at precision
``p`` into ``lane_bits / p`` subword accumulators of ``acc_width * p / lane_bits`` bits: an ACC sign-extends
each product into its subword and adds with the carries cut at the subword boundaries (wrap-around in each).
"""

from __future__ import annotations

import operator
from collections import defaultdict

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .accumulator import OP_ACC, OP_LOAD, OP_READ_LOAD
from .compress import compress, segmented_add
from .contract import LaneContract, lane_signature

__all__ = ["SumApartLane", "SubwordAccumulators"]


class SumApartLane(wiring.Component):
    """Multi-precision lane whose products stay apart (combinational, one cycle).

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

    Members
    -------
    a, w : In(lane_bits)
    code : In(code_bits)
    en : In(1)
    vec : Out(2 * lane_bits)
        At precision ``p``: product ``k`` in bits ``2kp .. 2kp+2p-1`` (two's complement); 0 when ``en`` is 0
        or the code has no precision.
    """

    def __init__(self, *, precisions, lane_bits: int, a_signed: bool, w_signed: bool, bipolar: bool):
        self._precisions = tuple(operator.index(p) for p in precisions)
        self._lane_bits = operator.index(lane_bits)
        if not self._precisions or any(p < 1 or self._lane_bits % p for p in self._precisions):
            raise ValueError(f"precisions must divide lane_bits {lane_bits}, not {precisions!r}")
        self._a_signed, self._w_signed, self._bipolar = bool(a_signed), bool(w_signed), bool(bipolar)
        self._code_bits = max(1, (len(self._precisions) - 1).bit_length())
        n = 1 << self._code_bits
        self._contract = LaneContract(row_width=2 * self._lane_bits, offsets=((0,),) * n, shifts=(0,) * n,
                                      weights=((0,),) * n, cycles=(1,) * n, register_code=False, kind="apart")
        super().__init__(lane_signature(lane_bits=self._lane_bits, code_bits=self._code_bits,
                                        row_width=2 * self._lane_bits, kind="apart"))

    @property
    def contract(self) -> LaneContract:
        return self._contract

    def _terms(self):
        """Per code: ``(cells, constants)``; cells ``(u, v) -> (kind, negative)``, constants ``col -> bit``
        (the fields' negative-weight corrections, each modulo its field)."""
        out = {}
        P = self._lane_bits
        for c, p in enumerate(self._precisions):
            cells, const = {}, 0
            for k in range(P // p):
                lo, field = 2 * k * p, 0
                for i in range(p):
                    for j in range(p):
                        u, v = k * p + i, k * p + j
                        if p == 1 and self._bipolar:          # 2 * xnor - 1: the bit at 2u+1, -1 at 2u
                            cells[(u, v)] = ("xnor", False)
                            field -= 1
                            continue
                        neg = (self._a_signed and p > 1 and i == p - 1) != (self._w_signed and p > 1 and j == p - 1)
                        cells[(u, v)] = ("and", neg)
                        if neg:
                            field -= 1 << (i + j)
                const |= (field % (1 << 2 * p)) << lo
            out[c] = (cells, const)
        return out

    def elaborate(self, platform):
        m = Module()
        P, n_codes = self._lane_bits, 1 << self._code_bits
        sel = {}
        for c in range(len(self._precisions)):
            sel[c] = Signal(name=f"sel{self._precisions[c]}")
            m.d.comb += sel[c].eq(self.en & (self.code == c))
        decoded: dict[int, Signal] = {}

        def codes_in(mask: int, name: str) -> Signal:
            if mask not in decoded:
                decoded[mask] = s = Signal(name=f"{name}_{mask:x}")
                m.d.comb += s.eq(self.en & Const(mask, n_codes).bit_select(self.code, 1))
            return decoded[mask]

        terms = self._terms()
        users: dict[tuple, dict] = defaultdict(dict)            # (u, v) -> code -> (kind, neg)
        for c, (cells, _) in terms.items():
            for cell, spec in cells.items():
                users[cell][c] = spec
        cols: dict[int, list] = defaultdict(list)
        for (u, v), per in sorted(users.items()):
            ands = sum(1 << c for c, (kind, _) in per.items() if kind == "and")
            negs = sum(1 << c for c, (_, neg) in per.items() if neg)
            if ands:
                bit = Signal(name=f"pp_u{u}_v{v}")
                expr = self.a[u] & self.w[v] & codes_in(ands, "on")
                m.d.comb += bit.eq(expr ^ codes_in(negs, "neg") if negs else expr)
                cols[u + v].append(bit)
            xnors = sum(1 << c for c, (kind, _) in per.items() if kind == "xnor")
            if xnors:                               # bipolar 1-bit: weight 2, one column up
                bit = Signal(name=f"xnor_u{u}")
                m.d.comb += bit.eq(~(self.a[u] ^ self.w[v]) & codes_in(xnors, "xnor"))
                cols[u + v + 1].append(bit)
        for b in range(2 * P):                                  # the fields' constants
            mask = sum(1 << c for c, (_, const) in terms.items() if const >> b & 1)
            if mask:
                cols[b].append(codes_in(mask, "const"))
        # carries never enter the first column of a field: cut at 2kp for the codes that start a field there
        cut = {}
        for b in range(2 * self._precisions[0], 2 * P, 2 * self._precisions[0]):
            mask = sum(1 << c for c, p in enumerate(self._precisions) if b % (2 * p) == 0)
            if mask:
                cut[b] = codes_in(mask, "cut")
        row0, row1 = compress(m, cols, name="apart", limit=2 * P, cut=cut)
        total = segmented_add(m, row0, row1, width=2 * P, cut=cut, name="apart")
        m.d.comb += self.vec.eq(total)
        return m


class SubwordAccumulators(wiring.Component):
    """``outputs`` accumulators of ``lanes`` ``acc_width``-bit lane registers, split into subwords by the
    precision of each ACC (one register set each, reset to 0). Latency 1 cycle.

    ACC adds product ``k`` of lane ``l`` (from ``vec``, :class:`SumApartLane` layout, at the precision of the
    lane's code ``codes[l]``) into subword ``k`` of register ``l`` (``acc_width * p / lane_bits`` bits,
    wrap-around); LOAD and READ_LOAD set every lane register
    to ``bias`` (its low ``acc_width`` bits); ``read`` is ``Cat`` of the selected output's lane registers before
    the edge (0 when ``sel >= outputs``).

    Members
    -------
    en : In(1)
    op : In(2)
    sel : In(sel_bits)
    codes : In(code_bits).array(lanes)
    vec : In(lanes * 2 * lane_bits)
    bias : In(signed(acc_width))
    read : Out(lanes * acc_width)
    """

    def __init__(self, *, outputs: int, lanes: int, lane_bits: int, acc_width: int, precisions):
        self._outputs, self._lanes = operator.index(outputs), operator.index(lanes)
        self._lane_bits, self._acc_width = operator.index(lane_bits), operator.index(acc_width)
        self._precisions = tuple(precisions)
        if self._acc_width * self._precisions[0] % self._lane_bits:
            raise ValueError(f"acc_width {acc_width} must split into {lane_bits // self._precisions[0]} subwords")
        self._code_bits = max(1, (len(self._precisions) - 1).bit_length())
        super().__init__({
            "en": In(1), "op": In(2), "sel": In(max(1, (self._outputs - 1).bit_length())),
            "codes": In(self._code_bits).array(self._lanes), "vec": In(self._lanes * 2 * self._lane_bits),
            "bias": In(signed(self._acc_width)), "read": Out(unsigned(self._lanes * self._acc_width)),
        })

    def _expand(self, m: Module, lane_vec, lane: int):
        """The lane's products sign-extended into their subwords, per code (a Mux chain over the codes)."""
        code = self.codes[lane]
        A, P = self._acc_width, self._lane_bits
        out = Const(0, A)
        for c, p in enumerate(self._precisions):
            F = A * p // P
            fields = [lane_vec[2 * k * p: 2 * k * p + 2 * p].as_signed() for k in range(P // p)]
            wide = Cat(*[_sext(f, F) for f in fields])
            out = Mux(code == c, wide, out)
        sig = Signal(A, name=f"expand{lane}")
        m.d.comb += sig.eq(out)
        return sig

    def elaborate(self, platform):
        m = Module()
        A, P, L = self._acc_width, self._lane_bits, self._lanes
        regs = [[Signal(A, name=f"acc{o}_lane{l}") for l in range(L)] for o in range(self._outputs)]
        inside = Signal(name="sel_inside")
        m.d.comb += inside.eq(self.sel < self._outputs)
        cur = []
        for l in range(L):
            chain = regs[0][l]
            for o in range(1, self._outputs):
                chain = Mux(self.sel == o, regs[o][l], chain)
            s = Signal(A, name=f"acc_cur_lane{l}")
            m.d.comb += s.eq(Mux(inside, chain, 0))
            cur.append(s)
        m.d.comb += self.read.eq(Cat(*cur))
        nxt = []
        for l in range(L):
            # subword boundaries inside the lane register: no carry into bit b for the codes whose subwords
            # start there
            cut = {}
            for b in range(1, A):
                mask = sum(1 << c for c, p in enumerate(self._precisions) if b % (A * p // P) == 0)
                if mask:
                    s = Signal(name=f"cut_lane{l}_b{b}")
                    m.d.comb += s.eq(Const(mask, 1 << self._code_bits).bit_select(self.codes[l], 1))
                    cut[b] = s
            add = self._expand(m, self.vec[2 * P * l: 2 * P * (l + 1)], l)
            nxt.append(segmented_add(m, cur[l], add, width=A, cut=cut, name=f"acc_lane{l}"))
        for o in range(self._outputs):
            with m.If(self.en & (self.sel == o)):
                with m.Switch(self.op):
                    with m.Case(OP_ACC):
                        m.d.sync += [regs[o][l].eq(nxt[l]) for l in range(L)]
                    with m.Case(OP_LOAD, OP_READ_LOAD):
                        m.d.sync += [regs[o][l].eq(self.bias) for l in range(L)]
        return m


def _sext(value, width: int):
    """``value`` (signed) sign-extended or truncated to ``width`` bits."""
    n = len(value)
    if width <= n:
        return value[:width]
    return Cat(value, value[n - 1].replicate(width - n))
