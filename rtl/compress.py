"""Carry-save compression of weighted bits (Dadda-style 3:2 / 2:2 reduction) and the sum tree.

A *column set* maps a column (weight ``2**col``) to a list of 1-bit Amaranth values. :func:`compress`
reduces it with full and half adders until every column holds at most two bits, and returns the two rows.
The value represented, ``sum(bit << col)``, is preserved exactly.
"""

from __future__ import annotations

import operator

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["compress", "rows_width", "segmented_add", "ReductionTree"]


def rows_width(columns: dict[int, int]) -> int:
    """Bits needed by the two rows of a column set given its bit count per column (its exact maximum)."""
    top = sum(n << col for col, n in columns.items())
    return max(1, top.bit_length())


def compress(m: Module, columns: dict[int, list], *, name: str, limit: int | None = None, cut: dict | None = None):
    """Reduce ``columns`` to two rows ``(row0, row1)``, each a Signal of :func:`rows_width` bits.

    Parameters
    ----------
    m : Module
        Module receiving the combinational adder cells.
    columns : dict
        Column -> list of 1-bit values.
    name : str
        Prefix of the per-level signals (``{name}_l{level}_c{col}_s`` / ``_c``).
    limit : int or None
        Drop columns at or above ``limit`` (arithmetic modulo ``2**limit``).
    cut : dict or None
        Column -> 1-bit value: while it is 1, no carry enters that column (the columns below and from it on
        are summed apart, each field modulo its width); the rows then hold the fields' sums only when added
        with the same cuts (:func:`segmented_add`).
    """
    cols = {c: list(v) for c, v in columns.items() if v and (limit is None or c < limit)}
    width = rows_width({c: len(v) for c, v in cols.items()})
    if limit is not None:
        width = min(width, limit)
    level = 0
    while any(len(v) > 2 for v in cols.values()):
        nxt: dict[int, list] = {}
        for col in sorted(cols):
            bits = cols[col]
            n_fa, rest = divmod(len(bits), 3)
            # a half adder only where it shortens the column below three bits next time
            n_ha = 1 if rest == 2 and n_fa > 0 else 0
            n_cells = n_fa + n_ha
            if n_cells == 0:
                nxt.setdefault(col, []).extend(bits)
                continue
            # one scalar signal per adder output: event-driven simulators re-evaluate every reader of a
            # vector when any of its bits changes, which multiplies events level after level
            s = [Signal(name=f"{name}_l{level}_c{col}_s{k}") for k in range(n_cells)]
            c = [Signal(name=f"{name}_l{level}_c{col}_c{k}") for k in range(n_cells)]
            for k in range(n_fa):
                x, y, z = bits[3 * k: 3 * k + 3]
                m.d.comb += [s[k].eq(x ^ y ^ z), c[k].eq((x & y) | (x & z) | (y & z))]
            if n_ha:
                x, y = bits[3 * n_fa: 3 * n_fa + 2]
                m.d.comb += [s[n_fa].eq(x ^ y), c[n_fa].eq(x & y)]
            used = 3 * n_fa + 2 * n_ha
            nxt.setdefault(col, []).extend([s[k] for k in range(n_cells)] + bits[used:])
            if limit is None or col + 1 < limit:
                if cut and col + 1 in cut:
                    gated = [Signal(name=f"{name}_l{level}_c{col}_g{k}") for k in range(n_cells)]
                    m.d.comb += [g.eq(c[k] & ~cut[col + 1]) for k, g in enumerate(gated)]
                    nxt.setdefault(col + 1, []).extend(gated)
                else:
                    nxt.setdefault(col + 1, []).extend(c[k] for k in range(n_cells))
        cols = nxt
        level += 1
    row0 = Signal(width, name=f"{name}_row0")
    row1 = Signal(width, name=f"{name}_row1")
    for col, bits in cols.items():
        if col >= width:
            continue
        m.d.comb += row0[col].eq(bits[0])
        if len(bits) > 1:
            m.d.comb += row1[col].eq(bits[1])
    return row0, row1


def segmented_add(m: Module, x, y, *, width: int, cut: dict, name: str, carry_in=None) -> Signal:
    """``x + y`` (``width`` bits) with no carry into a column ``b`` while ``cut[b]`` is 1: fields between cuts
    added apart, each modulo its width. ``cut`` maps column -> 1-bit value; ``carry_in`` enters column 0."""
    out = Signal(width, name=f"{name}_sum")
    bounds = sorted({0, width} | {b for b in cut if 0 < b < width})
    carry = carry_in if carry_in is not None else 0
    for lo, hi in zip(bounds, bounds[1:]):
        if lo in cut:
            carry = carry & ~cut[lo]
        seg = Signal(hi - lo + 1, name=f"{name}_seg{lo}")
        m.d.comb += seg.eq(x[lo:hi] + y[lo:hi] + carry)
        m.d.comb += out[lo:hi].eq(seg[:hi - lo])
        carry = seg[hi - lo]
    return out


class ReductionTree(wiring.Component):
    """Sums ``count`` carry-save pairs and a constant into one signed value (combinational).

    Parameters
    ----------
    count : int
        Number of input pairs (one per MAC slot).
    row_width : int
        Width of every input row, unsigned.
    offset : int or sequence of int
        Constant added to the sum (the slots' negative-weight corrections); a sequence gives one constant
        per value of ``code``.
    out_width : int
        Width of ``total``; the result is exact when it fits this signed width.
    shifts : sequence of int, optional
        Per value of ``code``: the rows and offset hold the result times ``2**shifts[code]`` (lanes with
        centred precisions); ``total`` is shifted back. The low ``shifts[code]`` bits of the sum are zero.

    Members
    -------
    rows : In(row_width).array(2 * count)
        ``rows[2k]``, ``rows[2k+1]``: the sum and carry rows of slot ``k`` (separate ports, so that a
        change in one slot wakes only its own readers in event-driven simulation).
    code : In(log2(len(offset)))
        Only with per-code ``offset`` or ``shifts``: selects them.
    total : Out(signed(out_width))
        ``(offset[code] + sum(rows)) >> shifts[code]`` modulo ``2**out_width``.
    """

    def __init__(self, *, count: int, row_width: int, offset, out_width: int, shifts=None):
        self._count = operator.index(count)
        self._row_width = operator.index(row_width)
        self._out_width = operator.index(out_width)
        per_code = not isinstance(offset, int) or shifts is not None
        n_codes = len(offset) if not isinstance(offset, int) else len(shifts) if shifts is not None else 1
        self._offsets = tuple(operator.index(o) for o in offset) if not isinstance(offset, int) \
            else (operator.index(offset),) * n_codes
        self._shifts = tuple(operator.index(s) for s in shifts) if shifts is not None else (0,) * n_codes
        if self._count < 1 or self._row_width < 1 or self._out_width < 2:
            raise ValueError(f"ReductionTree needs count >= 1, row_width >= 1 and out_width >= 2, "
                             f"not {count}, {row_width}, {out_width}")
        if len(self._shifts) != n_codes or (per_code and (n_codes < 2 or n_codes & (n_codes - 1))) \
                or min(self._shifts) < 0:
            raise ValueError(f"ReductionTree needs one offset and one shift >= 0 per code (a power of two "
                             f"codes), not offsets {offset!r} and shifts {shifts!r}")
        members = {"rows": In(unsigned(self._row_width)).array(2 * self._count)}
        if per_code:
            members["code"] = In((n_codes - 1).bit_length())
        members["total"] = Out(signed(self._out_width))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        n = self._out_width + max(self._shifts)
        cols: dict[int, list] = {}
        for r in range(2 * self._count):
            row = self.rows[r]
            for b in range(min(self._row_width, n)):
                cols.setdefault(b, []).append(row[b])
        consts = [o % (1 << n) for o in self._offsets]
        for b in range(n):                      # the constant enters the tree as fixed bits
            mask = sum(1 << c for c, k in enumerate(consts) if k >> b & 1)
            if mask == 0:
                continue
            if mask == (1 << len(consts)) - 1:
                cols.setdefault(b, []).append(Const(1, 1))
            else:                               # a bit of the per-code constant, decoded from code
                bit = Signal(name=f"tree_offset_b{b}")
                m.d.comb += bit.eq(Const(mask, len(consts)).bit_select(self.code, 1))
                cols.setdefault(b, []).append(bit)
        row0, row1 = compress(m, cols, name="tree", limit=n)
        if max(self._shifts) == 0:
            m.d.comb += self.total.eq((row0 + row1)[:n])
            return m
        full = Signal(n, name="tree_scaled")
        m.d.comb += full.eq(row0 + row1)
        # continuous assignments (a Mux chain), not a case statement: no `always @*` in the Verilog
        total = full[:self._out_width]
        for s in sorted(set(self._shifts) - {0}):
            mask = sum(1 << c for c, x in enumerate(self._shifts) if x == s)
            hit = Signal(name=f"tree_shift{s}")
            m.d.comb += hit.eq(Const(mask, len(self._shifts)).bit_select(self.code, 1))
            total = Mux(hit, full[s: s + self._out_width], total)
        m.d.comb += self.total.eq(total)
        return m
