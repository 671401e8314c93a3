"""Golden aligner and lane arithmetic: element values from packed bits, register sums, accumulation.

All functions are vectorised over a batch of ``B`` registers; no per-element Python loops.
Bit arrays are ``uint8`` of shape ``(B, width)`` holding 0/1, bit 0 first (``docs/format.md`` section 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixlane.config import Config
from .layout import decode, meta_field_bits, meta_fields, meta_for_precision

__all__ = ["OP_ACC", "OP_LOAD", "OP_READ", "OP_READ_LOAD", "OP_NAMES", "Ops", "Results",
           "unpack", "pack", "register_sum", "register_results", "op_cycles", "elements_at", "peak_macs_per_cycle",
           "wrap", "saturate", "run", "ScalarAccumulator"]

OP_ACC, OP_LOAD, OP_READ, OP_READ_LOAD = 0, 1, 2, 3
OP_NAMES = {OP_ACC: "ACC", OP_LOAD: "LOAD", OP_READ: "READ", OP_READ_LOAD: "READ_LOAD"}


def _signed(cfg: Config, operand: str) -> bool:
    if operand not in ("a", "w"):
        raise ValueError(f"operand: {operand!r}; use 'a' (activations) or 'w' (weights)")
    return cfg.activation_signed if operand == "a" else cfg.weight_signed


def _windows(bits: np.ndarray, cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """``(B, N)`` uint16: the 16 register bits from the byte holding each granule's first bit (zeros past the
    register end), and ``(N,)`` the granule's bit offset in that window. Any element of <= 8 bits fits."""
    by = np.packbits(bits, axis=1, bitorder="little")
    by = np.concatenate([by, np.zeros((len(by), 2), np.uint8)], axis=1)
    start = np.arange(cfg.max_elements) * cfg.pmin
    win = by[:, start // 8].astype(np.uint16) | (by[:, start // 8 + 1].astype(np.uint16) << 8)
    return win, (start % 8).astype(np.uint16)


def _element_values(win: np.ndarray, offset: np.ndarray, cfg: Config, p: int, signed: bool) -> np.ndarray:
    """``(B, N)`` int32 values of a ``p``-bit element starting at every granule."""
    v = ((win >> offset) & np.uint16((1 << p) - 1)).astype(np.int32)
    if p == 1:
        return 2 * v - 1 if cfg.binary == "bipolar" else v
    if signed:
        v -= (v >> (p - 1)) << p
    return v


def unpack(cfg: Config, bits: np.ndarray, layout: np.ndarray, operand: str) -> np.ndarray:
    """Golden aligner: element values ``(B, N)`` (0 where no element starts) of packed registers."""
    bits = np.asarray(bits, dtype=np.uint8)
    signed = _signed(cfg, operand)
    if max(cfg.precisions) > 8:
        raise ValueError("unpack: elements of at most 8 bits")
    out = np.zeros(layout.shape, dtype=np.int64)
    if not len(bits):
        return out
    win, offset = _windows(bits, cfg)
    present = np.bincount(np.asarray(layout, np.int64).ravel(), minlength=9)
    for p in cfg.precisions:
        if present[p]:
            np.copyto(out, _element_values(win, offset, cfg, p, signed), where=layout == p)
    return out


def pack(cfg: Config, values: np.ndarray, layout: np.ndarray, operand: str) -> np.ndarray:
    """Inverse of :func:`unpack`: element values ``(B, N)`` -> bit arrays ``(B, W)``.

    Bits outside every element are 0. Values out of an element's range raise ``ValueError``;
    values where no element starts must be 0.
    """
    values = np.asarray(values, dtype=np.int64)
    layout = np.asarray(layout, dtype=np.int64)
    if values.shape != layout.shape or values.ndim != 2 or values.shape[1] != cfg.max_elements:
        raise ValueError(f"values: expected shape (B, {cfg.max_elements}) like the layout, got {values.shape}")
    if np.any(values[layout == 0] != 0):
        raise ValueError("values: non-zero value where the layout has no element")
    B, W = values.shape[0], cfg.width
    bits = np.zeros((B, W), dtype=np.uint8)
    for p in cfg.precisions:
        mask = layout == p
        if not mask.any():
            continue
        lo, hi = cfg.element_range(p, operand)
        v = values[mask]
        bad = (v < lo) | (v > hi) | ((p == 1) & (cfg.binary == "bipolar") & (v == 0))
        if bad.any():
            allowed = "{-1, +1}" if p == 1 and cfg.binary == "bipolar" else f"{lo}..{hi}"
            raise ValueError(f"values: {int(v[bad][0])} does not fit a {p}-bit element of operand "
                             f"{operand!r}; allowed {allowed}")
        code = (v + 1) // 2 if (p == 1 and cfg.binary == "bipolar") else v & ((1 << p) - 1)
        b_idx, g_idx = np.nonzero(mask)
        pos = g_idx[:, None] * cfg.pmin + np.arange(p)[None, :]
        bits[b_idx[:, None], pos] = (code[:, None] >> np.arange(p)) & 1
    return bits


def register_sum(cfg: Config, a_bits: np.ndarray, w_bits: np.ndarray, meta: np.ndarray) -> np.ndarray:
    """Sum of element products of each register pair ``(B,)`` (the sum-together MAC)."""
    meta = np.asarray(meta, dtype=np.int64)
    if meta.ndim == 2 and meta.shape[1] == 1 and len(meta) and meta_fields(cfg) == 1:
        return _register_sum_by_code(cfg, a_bits, w_bits, meta)
    layout = decode(cfg, meta)
    return (unpack(cfg, a_bits, layout, "a") * unpack(cfg, w_bits, layout, "w")).sum(axis=1)


def _register_sum_by_code(cfg: Config, a_bits: np.ndarray, w_bits: np.ndarray, meta: np.ndarray) -> np.ndarray:
    """:func:`register_sum` when a register's layout is a function of its one code (uniform, pattern): each
    code's layout row is decoded once and only its element positions are unpacked (same result, less work)."""
    fb = meta_field_bits(cfg)
    if meta.min() < 0 or meta.max() >= (1 << fb):
        decode(cfg, meta)            # raises the decoder's error
    table = decode(cfg, np.arange(1 << fb)[:, None])
    win_a, offset = _windows(np.asarray(a_bits, dtype=np.uint8), cfg)
    win_w, _ = _windows(np.asarray(w_bits, dtype=np.uint8), cfg)
    codes = meta[:, 0]
    out = np.zeros(len(codes), dtype=np.int64)
    count = np.bincount(codes, minlength=1 << fb)
    for c in np.flatnonzero(count):
        # a code on most rows is computed on every row and masked (no copies of the windows); others gathered
        rows = slice(None) if 2 * count[c] > len(codes) else np.flatnonzero(codes == c)
        part = np.zeros(len(codes) if isinstance(rows, slice) else len(rows), dtype=np.int64)
        for p in np.unique(table[c][table[c] > 0]).tolist():
            cols = np.flatnonzero(table[c] == p)
            va = _element_values(win_a[rows][:, cols], offset[cols], cfg, p, cfg.activation_signed)
            vw = _element_values(win_w[rows][:, cols], offset[cols], cfg, p, cfg.weight_signed)
            part += np.einsum("ij,ij->i", va, vw)
        if isinstance(rows, slice):
            out += np.where(codes == c, part, 0)
        else:
            out[rows] += part
    return out


def register_results(cfg: Config, a_bits: np.ndarray, w_bits: np.ndarray, meta: np.ndarray) -> np.ndarray:
    """What an ACC of each register pair adds to its accumulator ``(B,)``: the golden function of the
    configuration's architecture (``cfg.architecture.golden``)."""
    return np.asarray(cfg.architecture.golden_function()(cfg, a_bits, w_bits, meta), dtype=np.int64)


def result_count(ops: "Ops") -> int:
    """Results a batch produces: one per READ and READ_LOAD (also of an accumulator index out of range)."""
    return int(np.isin(ops.op, (OP_READ, OP_READ_LOAD)).sum())


def op_cycles(cfg: Config, op: np.ndarray, meta: np.ndarray) -> np.ndarray:
    """Clock cycles each operation holds the input stream ``(B,)``: an ACC takes the architecture's cycles at
    its register's precision code (:meth:`mixlane.architectures.Architecture.code_cycles`), every other
    operation one. Multi-cycle architectures run in ``uniform`` mode (one code per register)."""
    op = np.asarray(op, dtype=np.int64)
    table = np.array(cfg.architecture.code_cycles(cfg), dtype=np.int64)
    if table.max() == 1:
        return np.ones(len(op), dtype=np.int64)
    if cfg.precision_mode != "uniform":
        raise ValueError(f"op_cycles: multi-cycle operations need precision_mode 'uniform', not "
                         f"{cfg.precision_mode!r}")
    code = np.asarray(meta, dtype=np.int64)[:, 0]
    return np.where(op == OP_ACC, table[np.minimum(code, len(table) - 1)], 1)


def elements_at(cfg: Config, precision: int) -> int:
    """Element products of one register pair whose metadata selects ``precision`` (as many ``precision``-bit
    elements as the mode allows: :func:`mixlane.golden.layout.meta_for_precision`)."""
    if precision not in cfg.mode_precisions:
        raise ValueError(f"precision {precision} is not supported by this configuration "
                         f"({list(cfg.mode_precisions)})")
    return int((decode(cfg, meta_for_precision(cfg, precision, 1)) > 0).sum())


def peak_macs_per_cycle(cfg: Config, precision: int) -> float:
    """Sustained MACs per cycle of back-to-back ACCs at ``precision``: :func:`elements_at` divided by the
    cycles one operation takes there."""
    meta = meta_for_precision(cfg, precision, 1)
    cycles = int(op_cycles(cfg, np.array([OP_ACC]), meta)[0])
    return elements_at(cfg, precision) / cycles


def wrap(x: int, width: int) -> int:
    """Two's complement wrap of ``x`` to ``width`` bits."""
    half = 1 << (width - 1)
    return ((x + half) & ((1 << width) - 1)) - half


def saturate(x: int, width: int) -> int:
    """Clamp ``x`` to the signed ``width``-bit range."""
    half = 1 << (width - 1)
    return min(max(x, -half), half - 1)


@dataclass
class Ops:
    """A batch of ``B`` operations for the datapath (``docs/format.md`` section 6).

    ``op``, ``sel``, ``bias``: ``(B,)`` int; ``meta``: ``(B, meta_fields)`` codes;
    ``a``, ``w``: ``(B, width)`` uint8 bits.
    """

    op: np.ndarray
    sel: np.ndarray
    meta: np.ndarray
    a: np.ndarray
    w: np.ndarray
    bias: np.ndarray

    def __len__(self) -> int:
        return len(self.op)

    def __getitem__(self, idx) -> "Ops":
        return Ops(*(getattr(self, f)[idx] for f in ("op", "sel", "meta", "a", "w", "bias")))

    @staticmethod
    def concat(parts: list["Ops"]) -> "Ops":
        return Ops(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                     ("op", "sel", "meta", "a", "w", "bias")))


@dataclass
class Results:
    """What the datapath must produce for an :class:`Ops` batch.

    ``index``: position in the batch of each READ/READ_LOAD; ``sel``, ``value``: its result;
    ``sums``: the register sum of every operation (meaningful for ACC); ``final``: accumulators at the end;
    ``cycles``: cycles each operation holds the input stream (:func:`op_cycles`); ``overflow``: per operation
    +1 / -1 when an ACC's exact sum left the accumulator's range upwards / downwards (wrapped or saturated), else
    0; ``None`` when the architecture's accumulator model does not report it.
    """

    index: np.ndarray
    sel: np.ndarray
    value: np.ndarray
    sums: np.ndarray
    final: list[int]
    cycles: np.ndarray
    overflow: np.ndarray | None = None


class ScalarAccumulator:
    """Golden accumulator of the architectures that sum a register's products (``docs/format.md`` section 6):
    one signed ``acc_width``-bit value per output; ACC adds the register result (wrap or saturate), LOAD sets the
    bias, READ returns the value."""

    #: records ``overflow`` (see :class:`Results`)
    reports_overflow = True

    def __init__(self, cfg: Config, ops: Ops):
        self.cfg = cfg
        self.sums = register_results(cfg, ops.a, ops.w, ops.meta)
        self._ovf = wrap if cfg.overflow == "wrap" else saturate
        self.overflow = np.zeros(len(ops), np.int8)
        self._half = 1 << (cfg.acc_width - 1)

    def zero(self) -> int:
        return 0

    def acc(self, state: int, i: int) -> int:
        exact = state + int(self.sums[i])
        if not -self._half <= exact < self._half:
            self.overflow[i] = 1 if exact > 0 else -1
        return self._ovf(exact, self.cfg.acc_width)

    def load(self, bias: int) -> int:
        return wrap(bias, self.cfg.acc_width)

    def read(self, state: int) -> int:
        return state

    def sequence(self, ops: Ops, acc: list) -> tuple | None:
        """The whole batch at once for the ``wrap`` policy (same results as :meth:`acc`/:meth:`load`/:meth:`read`
        step by step; ``None`` for ``saturate``, which is sequential): ``(read index, read sel, read values,
        final state)``. Per accumulator, the value before operation ``j`` is the last LOAD's bias plus the ACC
        sums since, wrapped."""
        W = self.cfg.acc_width
        if self.cfg.overflow != "wrap" or W > 60:
            return None
        half = 1 << (W - 1)

        def wrapv(v):
            return ((v + half) & ((1 << W) - 1)) - half
        op, sel, bias = (np.asarray(x, dtype=np.int64) for x in (ops.op, ops.sel, ops.bias))
        x_all = np.where(op == OP_ACC, np.asarray(self.sums, dtype=np.int64), 0)
        values, final = np.zeros(len(op), dtype=np.int64), list(acc)
        for s in range(self.cfg.outputs):
            k = np.flatnonzero(sel == s)
            if not len(k):
                continue
            o, x = op[k], x_all[k]
            is_set = (o == OP_LOAD) | (o == OP_READ_LOAD)
            c_prev = np.cumsum(x) - x                                # ACC sums before j
            last = np.maximum.accumulate(np.where(is_set, np.arange(len(k)), -1))
            last = np.concatenate([[-1], last[:-1]])                 # last LOAD strictly before j
            safe = np.maximum(last, 0)
            base = np.where(last >= 0, wrapv(bias[k][safe]) - c_prev[safe], int(acc[s]))
            before = wrapv(base + c_prev)
            values[k] = before
            exact = before + x
            acc_op = o == OP_ACC
            self.overflow[k[acc_op & (exact >= half)]] = 1
            self.overflow[k[acc_op & (exact < -half)]] = -1
            final[s] = int(wrapv(bias[k[-1]]) if is_set[-1] else wrapv(exact[-1]))
        idx = np.flatnonzero((op == OP_READ) | (op == OP_READ_LOAD))
        return idx, sel[idx], values[idx], final


def run(cfg: Config, ops: Ops, acc: list | None = None, *, vectorised: bool = True) -> Results:
    """Execute ``ops`` from accumulator state ``acc`` (zeros after reset): the expected results. The
    accumulator semantics are the architecture's (``cfg.architecture.golden_accumulator``); a model that already
    computed the register sums exposes them as ``sums``, one that can run a whole batch at once has
    ``sequence(ops, acc)`` (used unless ``vectorised`` is false; the step-by-step methods are the reference)."""
    model = cfg.architecture.accumulator_model()(cfg, ops)
    sums = getattr(model, "sums", None)
    if sums is None:
        sums = register_results(cfg, ops.a, ops.w, ops.meta)
    acc = list(acc) if acc is not None else [model.zero() for _ in range(cfg.outputs)]
    whole = getattr(model, "sequence", None) if vectorised else None
    done = whole(ops, acc) if whole else None
    if done is not None:
        idx, sel_out, values, acc = done
        return Results(idx, sel_out, values, sums, acc, op_cycles(cfg, ops.op, ops.meta),
                       getattr(model, "overflow", None))
    n_out = cfg.outputs
    idx, sel_out, val = [], [], []
    for i, (op, s, bias) in enumerate(zip(ops.op.tolist(), ops.sel.tolist(), ops.bias.tolist())):
        inside = s < n_out
        if op == OP_ACC:
            if inside:
                acc[s] = model.acc(acc[s], i)
        elif op == OP_LOAD:
            if inside:
                acc[s] = model.load(bias)
        else:
            idx.append(i)
            sel_out.append(s)
            val.append(model.read(acc[s]) if inside else 0)
            if op == OP_READ_LOAD and inside:
                acc[s] = model.load(bias)
    values = np.array(val, dtype=np.int64) if all(-(1 << 62) < v < (1 << 62) for v in val) \
        else np.array(val, dtype=object)
    return Results(np.array(idx, dtype=np.int64), np.array(sel_out, dtype=np.int64), values,
                   sums, acc, op_cycles(cfg, ops.op, ops.meta), getattr(model, "overflow", None))
