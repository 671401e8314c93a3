"""Multi-bitwidth sum-together MAC lane.

The lane multiplies ``lane_bits``-bit slices of ``a`` and ``w`` at the precision selected by ``code`` and
emits the sum of the products in carry-save form. Every precision's result is a weighted count of
partial-product bits ``a[u] & w[v]`` (``XNOR`` for bipolar 1-bit); the bits of all precisions that land in the
same column with the same sign share one input of the compressor (they are OR-ed: one precision is active
at a time). A negative-weight bit ``b`` enters as ``~b`` with a constant ``-2**col`` moved to :attr:`offset`,
so the compressor only adds non-negative bits.
"""

from __future__ import annotations

import operator
from collections import defaultdict

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .compress import compress, rows_width
from .contract import LaneContract

__all__ = ["SumTogetherLane", "ConventionalLane", "lane_terms", "centre_shift"]


def lane_terms(p: int, *, lane_bits: int, packed: bool, a_signed: bool, w_signed: bool,
               bipolar: bool) -> list[tuple[int, bool, str, int, int]]:
    """Weighted bits of one lane at precision ``p``: ``(col, negative, kind, u, v)``.

    ``kind`` is ``"and"`` (``a[u] & w[v]``), ``"xnor"`` (``~(a[u] ^ w[u])``) or ``"one"`` (the constant 1
    while the precision is selected). ``packed``: the lane holds ``lane_bits // p`` elements; otherwise one
    element in its low ``p`` bits.
    """
    offsets = range(0, lane_bits, p) if packed else range(1)
    terms = []
    if p == 1 and bipolar:
        # each element contributes 2*xnor - 1; the -1s of all elements form one bit of weight -len(offsets)
        terms += [(1, False, "xnor", off, off) for off in offsets]
        terms.append((len(offsets).bit_length() - 1, True, "one", 0, 0))
        return terms
    for off in offsets:
        for i in range(p):
            for j in range(p):
                neg = (a_signed and p > 1 and i == p - 1) != (w_signed and p > 1 and j == p - 1)
                terms.append((i + j, neg, "and", off + i, off + j))
    return terms


def centre_shift(p: int, *, lane_bits: int, bipolar: bool) -> int:
    """Column shift that puts precision ``p``'s partial products at the centre of the ``lane_bits``-wide
    array, where it is tallest: every column of the shifted sum of ``lane_bits // p`` products then has at
    most as many bits as the full-precision product's column (``lane_bits ** 2`` compressor inputs in all)."""
    if p >= lane_bits:
        return 0
    if p == 1 and bipolar:
        return max(0, lane_bits - 2)     # XNOR bits already carry weight 2
    return lane_bits - p


class SumTogetherLane(wiring.Component):
    """Sum-together multi-precision MAC lane (combinational).

    Parameters
    ----------
    precisions : tuple of int
        Supported precisions, sorted; ``code`` indexes this tuple.
    lane_bits : int
        Width of the operand slices (``pmax``).
    packed : bool
        True: ``lane_bits // p`` elements per lane (lane modes); False: one element in the low bits
        (``element`` mode, after the aligner).
    a_signed, w_signed : bool
        Two's complement operands for precisions >= 2.
    bipolar : bool
        1-bit elements are {-1, +1} (XNOR) instead of {0, 1} (AND).
    centred : bool
        Place each precision's bits at :func:`centre_shift` (the result is scaled by ``2**shifts[code]``)
        on the cells of one ``lane_bits x lane_bits`` AND array, ``a`` as is and ``w`` permuted per
        precision, cells a precision does not use masked by the code; a cell that is negative in one
        precision and positive in another enters through an XOR with a code-dependent constant.
        ``lane_bits ** 2`` inputs instead of up to ~1.5x that; only for datapaths where every lane of a
        register has the same code (``uniform``).

    Members
    -------
    a, w : In(lane_bits)
        Operand slices.
    code : In(code_bits)
        Precision code (index into ``precisions``); codes without a precision give 0.
    en : In(1)
        Lane enable; 0 gives a product sum of 0.
    sum, carry : Out(row_width)
        Carry-save product sum: ``sum + carry + offsets[code]`` equals the sum of products times
        ``2**shifts[code]``.
    """

    def __init__(self, *, precisions, lane_bits: int, packed: bool, a_signed: bool, w_signed: bool,
                 bipolar: bool, centred: bool = False):
        self._precisions = tuple(operator.index(p) for p in precisions)
        self._lane_bits = operator.index(lane_bits)
        if not self._precisions or any(p < 1 or self._lane_bits % p for p in self._precisions):
            raise ValueError(f"precisions must divide lane_bits {lane_bits}, not {precisions!r}")
        self._packed, self._bipolar = bool(packed), bool(bipolar)
        self._a_signed, self._w_signed = bool(a_signed), bool(w_signed)
        self._centred = bool(centred)
        code_bits = max(1, (len(self._precisions) - 1).bit_length())
        codes = range(1 << code_bits)
        self._shift = {p: centre_shift(p, lane_bits=self._lane_bits, bipolar=self._bipolar)
                       if self._centred else 0 for p in self._precisions}

        # slot groups: key -> per precision its terms there; slot k of a group ORs the k-th term of each.
        # Not centred: key (col, negative), every slot has a fixed sign.
        # Centred: key (col, u), the cell of the lane_bits x lane_bits array that multiplies a[u] by w'[col-u]
        # (one term per precision, signs mixed), where w' is w permuted per precision (self._perm[p][j] = v:
        # the element order reversed, which lands every product of the precision on the array's centre
        # columns): one AND per cell and one operand multiplexer per w bit instead of a multiplexer per cell.
        # Constant terms (bipolar -1s) take a cell their precision leaves free.
        by_key: dict[tuple, dict[int, list]] = defaultdict(dict)
        self._perm: dict[int, dict[int, int]] = {p: {} for p in self._precisions}
        P = self._lane_bits
        for p in self._precisions:
            terms = lane_terms(p, lane_bits=self._lane_bits, packed=self._packed, a_signed=self._a_signed,
                               w_signed=self._w_signed, bipolar=self._bipolar)
            for t in sorted(terms, key=lambda t: t[2] == "one"):
                t = (t[0] + self._shift[p],) + tuple(t[1:])
                col, _, kind, u, v = t
                if not self._centred:
                    key = (col, t[1])
                elif kind != "one":
                    key, j = (col, u), col - u
                    if not 0 <= j < P or self._perm[p].setdefault(j, v) != v or p in by_key.get(key, {}):
                        raise AssertionError(f"centred lane: term {t} of precision {p} has no array cell "
                                             f"(the permutation of w is not consistent)")
                else:
                    free = [u for u in range(max(0, col - P + 1), min(P, col + 1)) if p not in by_key[(col, u)]]
                    key = (col, free[0]) if free else (col, P + len([k for k in by_key if k[0] == col]))
                by_key[key].setdefault(p, []).append(t)
        # per slot (key, k): the inversion for every code (a bit with negative weight b enters as ~b, and
        # -2**col moves to the code's offset); codes without a term there take the common value, else 0
        self._slots: list[tuple[int, tuple, int, tuple[bool, ...]]] = []     # (col, key, k, inv per code)
        for key, per_p in sorted(by_key.items()):
            for k in range(max(len(v) for v in per_p.values())):
                negs = {self._precisions.index(p): ts[k][1] for p, ts in per_p.items() if k < len(ts)}
                common = set(negs.values())
                fill = common.pop() if len(common) == 1 else False
                inv = tuple(negs.get(c, fill) for c in codes)
                self._slots.append((key[0], key, k, inv))
        self._by_key = by_key
        self._offsets = tuple(-sum(1 << col for col, _, _, inv in self._slots if inv[c]) for c in codes)
        self._shifts = tuple(self._shift[self._precisions[c]] if c < len(self._precisions) else 0
                             for c in codes)
        counts: dict[int, int] = defaultdict(int)
        for col, *_ in self._slots:
            counts[col] += 1
        self._row_width = rows_width(counts)
        super().__init__({
            "a": In(self._lane_bits),
            "w": In(self._lane_bits),
            "code": In(code_bits),
            "en": In(1),
            "sum": Out(unsigned(self._row_width)),
            "carry": Out(unsigned(self._row_width)),
        })

    @property
    def offsets(self) -> tuple[int, ...]:
        """Per code: constant to add to ``sum + carry`` (negative-weight corrections)."""
        return self._offsets

    @property
    def shifts(self) -> tuple[int, ...]:
        """Per code: ``sum + carry + offsets[code]`` is the product sum times ``2**shifts[code]``."""
        return self._shifts

    @property
    def offset(self) -> int:
        """The offset when it does not depend on the code (lanes that are not centred)."""
        if len(set(self._offsets)) != 1:
            raise ValueError("this lane's offset depends on the code; use offsets[code]")
        return self._offsets[0]

    @property
    def row_width(self) -> int:
        return self._row_width

    @property
    def contract(self) -> LaneContract:
        """One cycle per operation; per-code offsets and shifts (register-wide) only when centred."""
        n = len(self._offsets)
        return LaneContract(row_width=self._row_width, offsets=tuple((o,) for o in self._offsets),
                            shifts=self._shifts, weights=((0,),) * n, cycles=(1,) * n,
                            register_code=self._centred)

    @property
    def compressor_inputs(self) -> int:
        """Bits entering the lane's compressor (after sharing across precisions)."""
        return len(self._slots)

    def elaborate(self, platform):
        m = Module()
        sel = {}
        for idx, p in enumerate(self._precisions):
            sel[p] = Signal(name=f"sel{p}")
            m.d.comb += sel[p].eq(self.en & (self.code == idx))
        gated_a = {}
        for p in self._precisions if not self._centred else ():
            gated_a[p] = Signal(self._lane_bits, name=f"a_sel{p}")
            m.d.comb += gated_a[p].eq(self.a & sel[p].replicate(self._lane_bits))

        def term_bit(p, kind, u, v):
            if kind == "and":
                return gated_a[p][u] & self.w[v]
            if kind == "xnor":
                return sel[p] & ~(self.a[u] ^ self.w[v])
            return sel[p]

        code_sig: dict[tuple[str, int], Signal] = {}   # decoded code sets, shared by the cells

        def code_in(name, mask):
            if (name, mask) not in code_sig:
                code_sig[(name, mask)] = s = Signal(name=f"{name}_{mask:x}")
                m.d.comb += s.eq(Const(mask, 1 << len(self.code)).bit_select(self.code, 1))
            return code_sig[(name, mask)]

        w_perm = {}
        if self._centred:     # w' per column: the w bit each precision puts there, gated by its select
            for j in range(self._lane_bits):
                srcs = defaultdict(list)
                for p in self._precisions:
                    if j in self._perm[p]:
                        srcs[self._perm[p][j]].append(sel[p])
                w_perm[j] = s = Signal(name=f"w_perm{j}")
                expr = 0
                for v, sels in sorted(srcs.items()):
                    gate = sels[0]
                    for g in sels[1:]:
                        gate = gate | g
                    expr = expr | (gate & self.w[v])
                m.d.comb += s.eq(expr)

        def centred_bit(col, key, per_p):
            u, j = key[1], col - key[1]
            ors = []
            ands = [p for p, ts in per_p.items() if ts[0][2] == "and"]
            if ands:
                live = {p for p in self._precisions if j in self._perm[p]}
                cell = self.a[u] & w_perm[j]
                if set(ands) != live:      # other precisions route a w bit here that this cell must drop
                    mask = sum(1 << self._precisions.index(p) for p in ands)
                    cell = cell & code_in("keep", mask)
                ors.append(cell)
            for p, ts in per_p.items():
                if ts[0][2] == "xnor":
                    ors.append(sel[p] & ~(self.a[u] ^ w_perm[j]))
                elif ts[0][2] == "one":
                    ors.append(sel[p])
            return ors

        cols: dict[int, list] = defaultdict(list)
        for col, key, k, inv in self._slots:
            per_p = self._by_key[key]
            if self._centred:
                ors = centred_bit(col, key, per_p)
            else:
                ors = [term_bit(p, ts[k][2], ts[k][3], ts[k][4]) for p, ts in per_p.items() if k < len(ts)]
            expr = ors[0]
            for o in ors[1:]:
                expr = expr | o
            tag = "".join("n" if x else "p" for x in sorted(set(inv))) if len(set(inv)) > 1 else \
                ("n" if inv[0] else "p")
            name = f"pp_c{col}_a{key[1]}{tag}" if self._centred else f"pp_c{col}{tag}{k}"
            bit = Signal(name=name)
            if all(inv):
                m.d.comb += bit.eq(~expr)
            elif any(inv):
                mask = sum(1 << c for c, x in enumerate(inv) if x)
                m.d.comb += bit.eq(expr ^ code_in("inv", mask))
            else:
                m.d.comb += bit.eq(expr)
            cols[col].append(bit)
        row0, row1 = compress(m, cols, name="lane")
        m.d.comb += [self.sum.eq(row0), self.carry.eq(row1)]
        return m


class ConventionalLane(wiring.Component):
    """Baseline lane: one plain ``lane_bits x lane_bits`` multiplier (Amaranth ``*``, mapped by the synthesis
    tool), for the INT8 datapath that precision-scalable lanes are compared against. Same ports as
    :class:`SumTogetherLane`; the product leaves as ``sum`` (biased to be non-negative), ``carry`` is 0.

    Parameters: as :class:`SumTogetherLane`; ``precisions`` must be ``(lane_bits,)`` and ``packed`` true.
    """

    def __init__(self, *, precisions, lane_bits: int, packed: bool, a_signed: bool, w_signed: bool,
                 bipolar: bool, centred: bool = False):
        self._lane_bits = operator.index(lane_bits)
        if centred:
            raise ValueError("ConventionalLane has one precision: centred must be False")
        if tuple(precisions) != (self._lane_bits,) or not packed:
            raise ValueError(f"ConventionalLane supports only precisions ({lane_bits},) in packed lanes, "
                             f"not {precisions!r}")
        self._a_signed, self._w_signed = bool(a_signed), bool(w_signed)
        n = 2 * self._lane_bits
        self._bias = 1 << (n - 1) if (a_signed or w_signed) else 0
        self._row_width = n
        super().__init__({
            "a": In(self._lane_bits),
            "w": In(self._lane_bits),
            "code": In(1),
            "en": In(1),
            "sum": Out(unsigned(n)),
            "carry": Out(unsigned(n)),
        })

    @property
    def offset(self) -> int:
        return -self._bias

    @property
    def offsets(self) -> tuple[int, ...]:
        return (-self._bias, -self._bias)

    @property
    def shifts(self) -> tuple[int, ...]:
        return (0, 0)

    @property
    def row_width(self) -> int:
        return self._row_width

    @property
    def contract(self) -> LaneContract:
        return LaneContract(row_width=self._row_width, offsets=((-self._bias,),) * 2, shifts=(0, 0),
                            weights=((0,),) * 2, cycles=(1, 1), register_code=False)

    def elaborate(self, platform):
        m = Module()
        a = self.a.as_signed() if self._a_signed else self.a
        w = self.w.as_signed() if self._w_signed else self.w
        product = Signal(signed(self._row_width + 1), name="product")
        m.d.comb += product.eq(a * w)
        live = Signal(name="live")
        m.d.comb += live.eq(self.en & (self.code == 0))
        m.d.comb += [self.sum.eq(Mux(live, product, 0) + self._bias), self.carry.eq(0)]
        return m
