"""BitFusion lane: 2x2 BitBricks fused by shift-add into 2-, 4- and 8-bit products (Sharma et al., ISCA'18).

A ``lane_bits`` slice holds ``(lane_bits / 2)**2`` bricks; brick ``(x, y)`` multiplies digit ``x`` of ``a`` by
digit ``y`` of ``w`` (2 bits each, extended to 3-bit two's complement: the top digit of a signed element is
signed, the others unsigned), a 5-bit signed product. At precision ``p`` the bricks whose digits belong to the
same element are on; each is shifted by ``2 * (x' + y')`` (its digits' positions inside the element) and all are
summed: the products of the lane's elements, summed together. The shift-add is one carry-save compressor whose
inputs the codes share (a :class:`~mixlane.rtl.term_lane.TermLane` whose cells are brick product bits); a
product enters biased by +16 (non-negative), ``-16 << shift`` moves to the code's offset. One cycle per
operation, precisions 2, 4 and 8.
"""

from __future__ import annotations

import operator

from amaranth.hdl import Cat, Module, Mux, Signal, signed

from .term_lane import TermLane

__all__ = ["BitFusionLane", "bitfusion_terms", "BRICK_BITS"]

#: Operand digit width of a BitBrick.
BRICK_BITS = 2
_PRODUCT_BITS = 5           # signed product of two 3-bit two's complement digits: -6 .. 9
_BIAS = 1 << (_PRODUCT_BITS - 1)


def bitfusion_terms(p: int, *, lane_bits: int):
    """One step of one operation at precision ``p``: ``(0, constant, terms)``, each term a bit of a biased
    brick product ``((x, y, bit), col, False, "brick", x, y)``."""
    k, n = p // BRICK_BITS, lane_bits // BRICK_BITS
    terms, const = [], 0
    for x in range(n):
        for y in range(n):
            if x // k != y // k:
                continue                       # digits of different elements: brick off
            shift = BRICK_BITS * (x % k + y % k)
            const -= _BIAS << shift
            terms += [((x, y, b), shift + b, False, "brick", x, y) for b in range(_PRODUCT_BITS)]
    return [(0, const, terms)]


class BitFusionLane(TermLane):
    """Sum-together BitFusion lane (combinational, one cycle).

    Parameters
    ----------
    precisions : tuple of int
        Supported precisions, a subset of (2, 4, 8), sorted; ``code`` indexes this tuple.
    lane_bits : int
        Width of the operand slices (``pmax``).
    a_signed, w_signed : bool
        Two's complement operands.
    fold_offsets : bool
        The code-dependent offsets inside the lane (:class:`~mixlane.rtl.term_lane.TermLane`): lanes of a
        register may then run different precisions (``pattern``/``channel`` modes).

    Members: as :class:`~mixlane.rtl.term_lane.TermLane` (no ``step``).
    """

    def __init__(self, *, precisions, lane_bits: int, a_signed: bool, w_signed: bool, fold_offsets: bool = False):
        precisions = tuple(operator.index(p) for p in precisions)
        lane_bits = operator.index(lane_bits)
        if not precisions or any(p not in (2, 4, 8) or lane_bits % p for p in precisions):
            raise ValueError(f"BitFusion precisions must be 2, 4 or 8 and divide lane_bits {lane_bits}, "
                             f"not {precisions!r}")
        self._precisions = precisions
        self._a_signed, self._w_signed = bool(a_signed), bool(w_signed)
        steps = {c: bitfusion_terms(p, lane_bits=lane_bits) for c, p in enumerate(precisions)}
        super().__init__(lane_bits=lane_bits, code_bits=max(1, (len(precisions) - 1).bit_length()), steps=steps,
                         fold_offsets=fold_offsets)

    @property
    def bricks(self) -> int:
        return (self._lane_bits // BRICK_BITS) ** 2

    def _cells(self, m: Module, hit, everything: frozenset):
        """The BitBricks: per brick, its on-contexts, sign controls decoded from the code, the 5-bit product."""
        n = self._lane_bits // BRICK_BITS
        codes = {c: p // BRICK_BITS for c, p in enumerate(self._precisions)}
        bits: dict[tuple, Signal] = {}
        live: dict[tuple, frozenset] = {}
        for x in range(n):
            for y in range(n):
                on = frozenset((c, 0) for c, k in codes.items() if x // k == y // k)
                if not on:
                    continue
                # a digit is signed where it is the top digit of its element at the code's precision
                sa = [(c, 0) for c, k in codes.items() if self._a_signed and x % k == k - 1]
                sw = [(c, 0) for c, k in codes.items() if self._w_signed and y % k == k - 1]
                ad, wd = self.a[BRICK_BITS * x: BRICK_BITS * x + 2], self.w[BRICK_BITS * y: BRICK_BITS * y + 2]
                a3 = Signal(signed(3), name=f"brick{x}{y}_a")
                w3 = Signal(signed(3), name=f"brick{x}{y}_w")
                m.d.comb += [a3.eq(Cat(ad, ad[1] & hit(sa) if sa else 0)),
                             w3.eq(Cat(wd, wd[1] & hit(sw) if sw else 0))]
                prod = Signal(signed(_PRODUCT_BITS), name=f"brick{x}{y}_p")
                m.d.comb += prod.eq(a3 * w3)
                biased = Signal(_PRODUCT_BITS, name=f"brick{x}{y}_u")
                m.d.comb += biased.eq(Mux(hit(on), prod + _BIAS, 0))
                for b in range(_PRODUCT_BITS):
                    bits[(x, y, b)] = biased[b]
                    live[(x, y, b)] = on
        return (lambda cell, kind: bits[cell]), live
