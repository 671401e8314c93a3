"""Carry-save compression of weighted bits (Dadda-style 3:2 / 2:2 reduction) and the sum tree.

A *column set* maps a column (weight ``2**col``) to a list of 1-bit Amaranth values. :func:`compress`
reduces it with full and half adders until every column holds at most two bits, and returns the two rows.
The value represented, ``sum(bit << col)``, is preserved exactly.
"""

from __future__ import annotations

import operator

from amaranth.hdl import Const, Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["compress", "rows_width", "ReductionTree"]


def rows_width(columns: dict[int, int]) -> int:
    """Bits needed by the two rows of a column set given its bit count per column (its exact maximum)."""
    top = sum(n << col for col, n in columns.items())
    return max(1, top.bit_length())


def compress(m: Module, columns: dict[int, list], *, name: str, limit: int | None = None):
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


class ReductionTree(wiring.Component):
    """Sums ``count`` carry-save pairs and a constant into one signed value (combinational).

    Parameters
    ----------
    count : int
        Number of input pairs (one per MAC slot).
    row_width : int
        Width of every input row, unsigned.
    offset : int
        Constant added to the sum (the slots' negative-weight corrections).
    out_width : int
        Width of ``total``; the result is exact when it fits this signed width.

    Members
    -------
    rows : In(row_width).array(2 * count)
        ``rows[2k]``, ``rows[2k+1]``: the sum and carry rows of slot ``k`` (separate ports, so that a
        change in one slot wakes only its own readers in event-driven simulation).
    total : Out(signed(out_width))
        ``offset + sum(rows)`` modulo ``2**out_width``.
    """

    def __init__(self, *, count: int, row_width: int, offset: int, out_width: int):
        self._count = operator.index(count)
        self._row_width = operator.index(row_width)
        self._offset = operator.index(offset)
        self._out_width = operator.index(out_width)
        if self._count < 1 or self._row_width < 1 or self._out_width < 2:
            raise ValueError(f"ReductionTree needs count >= 1, row_width >= 1 and out_width >= 2, "
                             f"not {count}, {row_width}, {out_width}")
        super().__init__({
            "rows": In(unsigned(self._row_width)).array(2 * self._count),
            "total": Out(signed(self._out_width)),
        })

    def elaborate(self, platform):
        m = Module()
        n = self._out_width
        cols: dict[int, list] = {}
        for r in range(2 * self._count):
            row = self.rows[r]
            for b in range(min(self._row_width, n)):
                cols.setdefault(b, []).append(row[b])
        const = self._offset % (1 << n)
        for b in range(n):                      # the constant enters the tree as fixed bits
            if const >> b & 1:
                cols.setdefault(b, []).append(Const(1, 1))
        row0, row1 = compress(m, cols, name="tree", limit=n)
        m.d.comb += self.total.eq((row0 + row1)[:n])
        return m
