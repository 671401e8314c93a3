"""Tensor helpers: whole tensors -> the datapath's operation stream, and the exact integers it must produce.

Pure numpy (no HDL, no simulator). Packing follows ``docs/format.md`` sections 3 and 4:

- ``uniform``: one precision for the whole reduction, ``width // p`` elements per register.
- ``pattern``: each register uses one pattern id; elements are consumed in order by the pattern's segments.
  Ids are given (``pattern_ids``) or chosen greedily from the per-element precisions.
- ``channel``: elements are grouped by precision (stable, ascending precision), each group is packed into
  lanes of ``pmax // p`` elements, the lanes of all groups fill registers in order; unused lanes are off
  (code 3). This permutes the reduction axis, which leaves a dot product unchanged.
- ``element``: per-element codes back to back; an element that does not fit starts the next register; the
  tail of every register is filled with zero elements of the largest precision that fits.

Padding elements are 0 (all bits 0). A bipolar 1-bit padding pair (both bits 0) contributes
``(-1) * (-1) = +1``; these pairs are counted and ``-count`` is folded into the accumulator preload
(``pad_correction``), so the read-out is the exact dot product.

Operands: ``a`` are activations (operand ``'a'``), ``w`` weights (operand ``'w'``).

Expected values are computed directly with numpy int64 arithmetic, never through the register model. With
``overflow = 'wrap'`` they are the exact values wrapped to ``acc_width`` bits (the exact values whenever they
fit); with ``overflow = 'saturate'`` the builders raise if any partial sum could leave the accumulator range
(then the exact value is what the hardware produces). Architectures that approximate at run time
(``Architecture.exact`` false: SPARQ, NB-SMT trimming) compute other values from the same operations: take
theirs from :func:`mixlane.golden.run`.

Result order: every builder emits exactly one READ_LOAD per output value, in C order of the returned
``expected`` array (see :func:`read_order` and :func:`results_to_tensor`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixlane.config import LANE_OFF_CODE, Config
from .arith import OP_ACC, OP_LOAD, OP_READ, OP_READ_LOAD, Ops, Results, pack
from .layout import decode, meta_fields, pattern_layouts, uniform_meta

__all__ = ["PackedReduction", "pack_reduction", "dot_ops", "matvec_ops", "conv2d_ops", "im2col",
           "read_order", "results_to_tensor"]

_OPERAND_NAMES = {"a": "activations", "w": "weights"}


# ------------------------------------------------------------------------------------------- helpers
def _int_array(x, name: str) -> np.ndarray:
    """``x`` as an int64 array; floats must be integral."""
    arr = np.asarray(x)
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    raise ValueError(f"{name}: expected integer values, got dtype {arr.dtype}")


def _range_tables(cfg: Config, operand: str) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive ``lo``/``hi`` of each precision 0..8 (index = precision)."""
    lo = np.zeros(max(cfg.precisions) + 1, np.int64)
    hi = np.zeros_like(lo)
    for p in cfg.precisions:
        lo[p], hi[p] = cfg.element_range(p, operand)
    return lo, hi


def _first_bad(cfg: Config, vals: np.ndarray, precs: np.ndarray, operand: str):
    """``(flat index, value, precision)`` of the first value out of range, or None (precs broadcast)."""
    precs = np.broadcast_to(precs, vals.shape)
    lo, hi = _range_tables(cfg, operand)
    bad = (vals < lo[precs]) | (vals > hi[precs])
    if cfg.binary == "bipolar":
        bad |= (precs == 1) & (vals == 0)
    if not bad.any():
        return None
    i = int(np.flatnonzero(bad)[0])
    return i, int(vals.flat[i]), int(precs.flat[i])


def _range_message(cfg: Config, where: str, value: int, p: int, operand: str) -> str:
    if p == 1 and cfg.binary == "bipolar":
        allowed = "{-1, +1} (bipolar)"
    else:
        lo, hi = cfg.element_range(p, operand)
        allowed = f"{lo}..{hi}"
    return (f"{where}: value {value} does not fit a {p}-bit element of operand {operand!r} "
            f"({_OPERAND_NAMES[operand]}); allowed {allowed}")


def _check_range(cfg: Config, vals: np.ndarray, precs: np.ndarray, operand: str, name: str) -> None:
    hit = _first_bad(cfg, vals, precs, operand)
    if hit is not None:
        i, v, p = hit
        idx = np.unravel_index(i, vals.shape)
        raise ValueError(_range_message(cfg, f"{name}[{', '.join(str(int(k)) for k in idx)}]", v, p, operand))


def _wrap_arr(x: np.ndarray, width: int) -> np.ndarray:
    if width >= 64:
        return x
    half = np.int64(1 << (width - 1))
    return ((x + half) & np.int64((1 << width) - 1)) - half


# ------------------------------------------------------------------------------------------- planning
@dataclass(frozen=True)
class _Plan:
    """Where every element of a length-``K`` reduction goes; shared by both operands and by every row."""

    meta: np.ndarray      # (R, F) codes
    layout: np.ndarray    # (R, N) precision per granule (decode(meta))
    index: np.ndarray     # (R, N) element index per granule, -1 for padding or no element
    prec: np.ndarray      # (K,) precision of each element
    pad_count: int        # bipolar 1-bit padding pairs (each contributes +1)


def _resolve_prec(cfg: Config, prec, K: int) -> np.ndarray | None:
    if prec is None:
        return None
    arr = _int_array(prec, "prec")
    if arr.ndim == 0:
        arr = np.full(K, int(arr), np.int64)
    elif arr.shape != (K,):
        raise ValueError(f"prec: expected a scalar or {K} precisions (one per element), got shape {arr.shape}")
    allowed = cfg.mode_precisions
    bad = ~np.isin(arr, allowed)
    if bad.any():
        raise ValueError(f"prec: {int(arr[bad][0])}-bit elements are not allowed in {cfg.precision_mode} mode "
                         f"of this config; use one of {list(allowed)}")
    return arr


def _need_prec(cfg: Config, prec: np.ndarray | None) -> np.ndarray:
    if prec is None:
        raise ValueError(f"prec: required in {cfg.precision_mode} mode (a scalar or one precision per element)")
    return prec


def _no_pattern_ids(cfg: Config, pattern_ids) -> None:
    if pattern_ids is not None:
        raise ValueError(f"pattern_ids: only used in pattern mode, this config is {cfg.precision_mode} mode; "
                         "drop the argument")


def _pattern_slot_precs(cfg: Config) -> list[np.ndarray]:
    tab = pattern_layouts(cfg)[: len(cfg.patterns)]
    return [row[row > 0] for row in tab]


def _choose_patterns(cfg: Config, prec: np.ndarray) -> np.ndarray:
    """Greedy: per register the pattern whose element precisions match the next elements, consuming the
    most elements (ties: lowest id). One loop step per register."""
    slots = _pattern_slot_precs(cfg)
    K, j, ids = len(prec), 0, []
    while j < K:
        best, best_n = -1, 0
        for pid, sp in enumerate(slots):
            n = min(sp.size, K - j)
            if n > best_n and np.array_equal(sp[:n], prec[j:j + n]):
                best, best_n = pid, n
        if best < 0:
            head = prec[j:j + 8].tolist()
            raise ValueError(f"prec: no pattern fits the elements from index {j} (precisions {head}"
                             f"{'...' if K - j > 8 else ''}); patterns are "
                             f"{[[list(s) for s in pat] for pat in cfg.patterns]}")
        ids.append(best)
        j += best_n
    return np.array(ids, np.int64)


def _pattern_plan(cfg: Config, K: int, prec, pattern_ids):
    if pattern_ids is None:
        if prec is None:
            raise ValueError("prec: pattern mode needs prec or pattern_ids (one pattern id per register)")
        ids = _choose_patterns(cfg, prec)
    else:
        ids = _int_array(pattern_ids, "pattern_ids")
        if ids.ndim != 1:
            raise ValueError(f"pattern_ids: expected one id per register (1-D), got shape {ids.shape}")
        bad = (ids < 0) | (ids >= len(cfg.patterns))
        if bad.any():
            raise ValueError(f"pattern_ids: {int(ids[bad][0])} is not a pattern id; use 0..{len(cfg.patterns) - 1}")
    counts = np.array([s.size for s in _pattern_slot_precs(cfg)], np.int64)[ids]
    cap = np.cumsum(counts)
    total = int(cap[-1]) if len(cap) else 0
    if total < K:
        raise ValueError(f"pattern_ids: {len(ids)} registers hold {total} elements but the reduction has {K}; "
                         "pass more pattern ids")
    if len(ids) and (int(cap[-2]) if len(ids) > 1 else 0) >= K:
        raise ValueError(f"pattern_ids: the last of {len(ids)} registers would hold only padding; "
                         "pass fewer pattern ids")
    seq = np.arange(total, dtype=np.int64)
    seq[seq >= K] = -1
    return ids[:, None], seq


def _channel_plan(cfg: Config, prec: np.ndarray):
    levels, L = cfg.channel_levels, cfg.lanes
    seqs, codes = [], []
    for p in np.unique(prec):                     # at most 3 levels, ascending precision
        members = np.flatnonzero(prec == p)       # stable: original order inside a group
        per = cfg.pmax // int(p)
        nl = -(-len(members) // per)
        padded = np.full(nl * per, -1, np.int64)
        padded[: len(members)] = members
        seqs.append(padded)
        codes.append(np.full(nl, levels.index(int(p)), np.int64))
    codes = np.concatenate(codes) if codes else np.zeros(0, np.int64)
    R = -(-len(codes) // L)
    meta = np.full(R * L, LANE_OFF_CODE, np.int64)
    meta[: len(codes)] = codes
    seq = np.concatenate(seqs) if seqs else np.zeros(0, np.int64)
    return meta.reshape(R, L), seq


def _element_plan(cfg: Config, prec: np.ndarray):
    W, N, K = cfg.width, cfg.max_elements, len(prec)
    lut = np.zeros(max(cfg.precisions) + 1, np.int64)
    lut[list(cfg.precisions)] = np.arange(len(cfg.precisions))
    codes = lut[prec]
    cum = np.concatenate([[0], np.cumsum(prec)])
    rows, seqs = [], []
    j = 0
    while j < K:                                  # one step per register
        e = int(np.searchsorted(cum, cum[j] + W, side="right")) - 1
        rem = W - int(cum[e] - cum[j])
        pads = []
        for p in reversed(cfg.precisions):        # zero elements of the largest precision that fits
            n, rem = rem // p, rem % p
            pads += [p] * n
        assert rem == 0
        row = np.zeros(N, np.int64)
        row[: e - j] = codes[j:e]
        row[e - j: e - j + len(pads)] = lut[pads]
        rows.append(row)
        seqs += [np.arange(j, e, dtype=np.int64), np.full(len(pads), -1, np.int64)]
        j = e
    meta = np.stack(rows) if rows else np.zeros((0, N), np.int64)
    seq = np.concatenate(seqs) if seqs else np.zeros(0, np.int64)
    return meta, seq


def _plan(cfg: Config, K: int, prec=None, pattern_ids=None) -> _Plan:
    prec = _resolve_prec(cfg, prec, K)
    mode = cfg.precision_mode
    if mode == "uniform":
        _no_pattern_ids(cfg, pattern_ids)
        prec = _need_prec(cfg, prec)
        ps = np.unique(prec)
        if len(ps) > 1:
            raise ValueError(f"prec: uniform mode needs one precision for the whole reduction, got {ps.tolist()}; "
                             "use pattern, channel or element mode for mixed precisions")
        p = int(ps[0]) if K else cfg.precisions[0]
        per = cfg.width // p
        R = -(-K // per)
        meta = uniform_meta(cfg, p, R)
        seq = np.arange(R * per, dtype=np.int64)
        seq[seq >= K] = -1
    elif mode == "pattern":
        meta, seq = _pattern_plan(cfg, K, prec, pattern_ids)
    elif mode == "channel":
        _no_pattern_ids(cfg, pattern_ids)
        meta, seq = _channel_plan(cfg, _need_prec(cfg, prec))
    else:
        _no_pattern_ids(cfg, pattern_ids)
        meta, seq = _element_plan(cfg, _need_prec(cfg, prec))
    meta = np.asarray(meta, np.int64).reshape(-1, meta_fields(cfg))
    layout = decode(cfg, meta)
    present = layout > 0
    assert int(present.sum()) == seq.size, "internal: slot count mismatch"
    index = np.full(layout.shape, -1, np.int64)
    index[present] = seq
    used = seq >= 0
    slot_prec = layout[present][used]
    if prec is None:                              # pattern ids only: precisions come from the patterns
        prec = np.zeros(K, np.int64)
        prec[seq[used]] = slot_prec
    else:
        wrong = slot_prec != prec[seq[used]]
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            k = int(seq[used][i])
            r = int(np.nonzero(present)[0][np.flatnonzero(used)[i]])
            raise ValueError(f"prec: element {k} has precision {int(prec[k])} but register {r} "
                             f"(pattern {int(meta[r, 0])}) has a {int(slot_prec[i])}-bit slot there")
    pad_count = int(((index < 0) & (layout == 1)).sum()) if cfg.binary == "bipolar" else 0
    return _Plan(meta, layout, index, prec, pad_count)


def _pack_rows(cfg: Config, plan: _Plan, vals: np.ndarray, operand: str) -> np.ndarray:
    """Values ``(M, K)`` -> packed bits ``(M, R, W)`` under ``plan`` (padding: 0, or -1 for bipolar 1-bit)."""
    M = vals.shape[0]
    R, N = plan.layout.shape
    if R == 0 or M == 0:
        return np.zeros((M, R, cfg.width), np.uint8)
    slot = vals[:, np.maximum(plan.index, 0)]                                     # (M, R, N)
    pad = np.where((plan.layout == 1) & (cfg.binary == "bipolar"), -1, 0)
    slot = np.where(plan.index >= 0, slot, np.where(plan.layout > 0, pad, 0))
    layout = np.broadcast_to(plan.layout, (M, R, N)).reshape(M * R, N)
    return pack(cfg, slot.reshape(M * R, N), layout, operand).reshape(M, R, cfg.width)


# ------------------------------------------------------------------------------------------- public API
@dataclass
class PackedReduction:
    """A length-``K`` reduction packed into ``R`` register pairs.

    ``meta (R, meta_fields)`` codes, ``a_bits``/``w_bits (R, width)`` uint8, ``pad_correction`` (int, <= 0)
    to add to the accumulator preload; ``layout (R, N)`` (``decode(meta)``), ``index (R, N)`` the element
    index held by each granule (-1: padding or no element), ``prec (K,)`` the precision of every element.
    """

    meta: np.ndarray
    a_bits: np.ndarray
    w_bits: np.ndarray
    pad_correction: int
    layout: np.ndarray
    index: np.ndarray
    prec: np.ndarray

    @property
    def registers(self) -> int:
        return len(self.meta)

    @property
    def pattern_ids(self) -> np.ndarray:
        """The pattern id of each register (``pattern`` mode)."""
        return self.meta[:, 0].copy()


def pack_reduction(cfg: Config, a, w, prec=None, pattern_ids=None) -> PackedReduction:
    """Pack the reduction ``sum_k a[k] * w[k]`` into register pairs (``docs/format.md`` sections 3-4).

    ``prec``: scalar or ``(K,)`` per-element precisions. In ``pattern`` mode give ``pattern_ids`` (one per
    register; precisions then follow from the patterns, and are checked against ``prec`` if both are given)
    or only ``prec`` (ids chosen greedily).
    """
    a = _int_array(a, "a")
    w = _int_array(w, "w")
    if a.ndim != 1 or w.shape != a.shape:
        raise ValueError(f"a, w: expected two 1-D arrays of equal length, got shapes {a.shape} and {w.shape}")
    plan = _plan(cfg, len(a), prec, pattern_ids)
    _check_range(cfg, a, plan.prec, "a", "a")
    _check_range(cfg, w, plan.prec, "w", "w")
    return PackedReduction(plan.meta, _pack_rows(cfg, plan, a[None], "a")[0], _pack_rows(cfg, plan, w[None], "w")[0],
                           -plan.pad_count, plan.layout, plan.index, plan.prec)


def _expected(cfg: Config, exact: np.ndarray, preload: np.ndarray, abs_sum: np.ndarray, pad_count: int,
              what: str) -> np.ndarray:
    """Hardware result of outputs whose exact value is ``exact``: wrapped, or checked not to saturate."""
    if cfg.overflow == "saturate":
        half = 1 << (cfg.acc_width - 1)
        bound = np.abs(preload) + abs_sum + pad_count
        bad = bound >= half
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"overflow: {what} {i} could saturate the {cfg.acc_width}-bit accumulator part way "
                             f"(|partial sums| up to {int(bound.flat[i])}); use a wider acc_width, "
                             "overflow='wrap' or smaller values")
        return exact
    return _wrap_arr(exact, cfg.acc_width)


def _bias_vec(bias, n: int, name: str) -> np.ndarray:
    b = _int_array(0 if bias is None else bias, "bias")
    if b.ndim == 0:
        return np.full(n, int(b), np.int64)
    if b.shape != (n,):
        raise ValueError(f"bias: expected a scalar or {n} values (one per {name}), got shape {b.shape}")
    return b


def _dots_ops(cfg: Config, plan: _Plan, a_bits: np.ndarray, a_of: np.ndarray, w_bits: np.ndarray,
              w_of: np.ndarray, preload: np.ndarray) -> Ops:
    """``D`` dot products sharing ``plan``, output-stationary over the ``outputs`` accumulators.

    Output ``d`` uses accumulator ``d % outputs``; tiles of ``outputs`` consecutive outputs: LOAD of the first
    tile, then per tile the ACCs interleaved (register-major, accumulator-minor) and one READ_LOAD per output in
    order, each preloading the same accumulator for the next tile.
    """
    D, O = len(a_of), cfg.outputs
    R, F = plan.meta.shape
    W = cfg.width
    n0 = min(O, D)
    n = n0 + D * (R + 1)
    d = np.arange(D)
    t, s = d // O, d % O
    n_t = np.minimum(O, D - t * O)
    base = n0 + (R + 1) * O * t
    acc_pos = (base[:, None] + np.arange(R)[None, :] * n_t[:, None] + s[:, None]).ravel()     # (D*R,)
    read_pos = base + R * n_t + s
    op = np.empty(n, np.int64)
    sel = np.empty(n, np.int64)
    bias = np.zeros(n, np.int64)
    meta = np.zeros((n, F), np.int64)
    a = np.zeros((n, W), np.uint8)
    w = np.zeros((n, W), np.uint8)
    op[:n0], sel[:n0], bias[:n0] = OP_LOAD, s[:n0], preload[:n0]
    op[acc_pos], sel[acc_pos] = OP_ACC, np.repeat(s, R)
    meta[acc_pos] = np.tile(plan.meta, (D, 1))
    a[acc_pos] = a_bits[a_of].reshape(D * R, W)
    w[acc_pos] = w_bits[w_of].reshape(D * R, W)
    op[read_pos], sel[read_pos] = OP_READ_LOAD, s
    nxt = d + O
    bias[read_pos] = np.where(nxt < D, preload[np.minimum(nxt, max(D - 1, 0))], 0)
    return Ops(op=op, sel=sel, meta=meta, a=a, w=w, bias=bias)


def dot_ops(cfg: Config, a, w, prec=None, *, bias: int = 0, sel: int = 0, pattern_ids=None) -> tuple[Ops, int]:
    """Ops for ``a . w + bias`` on accumulator ``sel``: LOAD(bias + pad_correction), one ACC per register,
    READ_LOAD (bias 0). Returns ``(ops, expected)``; ``expected`` = exact ``a . w + bias`` (numpy int64)."""
    if not 0 <= int(sel) < cfg.outputs:
        raise ValueError(f"sel: {sel} is not an accumulator; use 0..{cfg.outputs - 1}")
    packed = pack_reduction(cfg, a, w, prec, pattern_ids)
    av, wv = _int_array(a, "a"), _int_array(w, "w")
    plan = _Plan(packed.meta, packed.layout, packed.index, packed.prec, -packed.pad_correction)
    exact = np.array([int(np.dot(av, wv)) + int(bias)], np.int64)
    preload = _wrap_arr(np.array([int(bias) - plan.pad_count], np.int64), cfg.acc_width)
    abs_sum = np.array([int(np.dot(np.abs(av), np.abs(wv)))], np.int64)
    expected = _expected(cfg, exact, np.array([int(bias) - plan.pad_count]), abs_sum, plan.pad_count, "output")
    ops = _dots_ops(cfg, plan, packed.a_bits[None], np.zeros(1, np.int64), packed.w_bits[None],
                    np.zeros(1, np.int64), preload)
    ops.sel[:] = int(sel)
    return ops, int(expected[0])


def matvec_ops(cfg: Config, A, x, prec=None, *, bias=None, pattern_ids=None) -> tuple[Ops, np.ndarray]:
    """Ops for ``A @ x + bias`` (``A (M, K)`` weights, ``x (K,)`` activations), output-stationary.

    Row ``m`` accumulates in accumulator ``m % outputs``; rows are processed in tiles of ``outputs`` rows
    whose ACCs are interleaved (all accumulators of a tile live at once). Returns ``(ops, expected (M,))``;
    the READ_LOADs appear in row order ``0..M-1``.
    """
    A = _int_array(A, "A")
    x = _int_array(x, "x")
    if A.ndim != 2 or x.ndim != 1 or A.shape[1] != x.shape[0]:
        raise ValueError(f"A, x: expected shapes (M, K) and (K,), got {A.shape} and {x.shape}")
    M, K = A.shape
    plan = _plan(cfg, K, prec, pattern_ids)
    _check_range(cfg, x, plan.prec, "a", "x")
    _check_range(cfg, A, plan.prec[None, :], "w", "A")
    b = _bias_vec(bias, M, "row")
    raw_preload = b - plan.pad_count
    exact = A @ x + b
    expected = _expected(cfg, exact, raw_preload, np.abs(A) @ np.abs(x), plan.pad_count, "row")
    ops = _dots_ops(cfg, plan, _pack_rows(cfg, plan, x[None], "a"), np.zeros(M, np.int64),
                    _pack_rows(cfg, plan, A, "w"), np.arange(M), _wrap_arr(raw_preload, cfg.acc_width))
    return ops, expected


def _pair(v, name: str) -> tuple[int, int]:
    t = (v, v) if np.ndim(v) == 0 else tuple(v)
    if len(t) != 2 or any(int(q) != q for q in t):
        raise ValueError(f"{name}: expected an integer or a pair of integers, got {v!r}")
    return int(t[0]), int(t[1])


def im2col(x, kh: int, kw: int, *, stride=1, padding=0, pad_value: int = 0) -> np.ndarray:
    """Patches of ``x (C, H, W)`` as columns: ``(C*kh*kw, H'*W')``.

    Row order is c-major, then kernel row ``i``, then kernel column ``j`` (row ``(c*kh + i)*kw + j``, the order
    of ``weights.reshape(O, C*kh*kw)``); column ``y*W' + x`` is output pixel ``(y, x)``.
    ``H' = (H + 2*pad_h - kh) // stride_h + 1``, same for ``W'``; the image is padded with ``pad_value``.
    """
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"x: expected shape (C, H, W), got {x.shape}")
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    if sh < 1 or sw < 1 or ph < 0 or pw < 0:
        raise ValueError(f"stride/padding: need stride >= 1 and padding >= 0, got {stride!r}/{padding!r}")
    C, H, Wd = x.shape
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    if xp.shape[1] < kh or xp.shape[2] < kw:
        raise ValueError(f"kernel: {kh}x{kw} is larger than the padded image {xp.shape[1]}x{xp.shape[2]}")
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]   # (C,H',W',kh,kw)
    Ho, Wo = win.shape[1], win.shape[2]
    return np.ascontiguousarray(win.transpose(0, 3, 4, 1, 2)).reshape(C * kh * kw, Ho * Wo)


def conv2d_ops(cfg: Config, x, weights, *, stride=1, padding=0, prec=None, bias=None,
               pattern_ids=None) -> tuple[Ops, np.ndarray]:
    """Ops for the 2-D convolution (cross-correlation) of ``x (C, H, W)`` with ``weights (O, C, kh, kw)``.

    Via :func:`im2col`: each output ``(o, y, x)`` is the dot product of weight row ``o`` with patch column
    ``(y, x)`` (reduction length ``C*kh*kw``, c-major then ``kh``, ``kw``). ``prec``: a scalar, one precision per
    input channel ``(C,)`` (e.g. the channel levels in ``channel`` mode), or one per reduction element
    ``(C*kh*kw,)``. Spatial zero padding uses the value 0, which a bipolar 1-bit activation cannot hold (raises).
    ``bias``: scalar or ``(O,)``. Returns ``(ops, expected (O, H', W'))``; outputs in C order of ``expected``
    (``d = (o*H' + y)*W' + x``) use accumulator ``d % outputs`` and are read in that order.
    """
    x = _int_array(x, "x")
    weights = _int_array(weights, "weights")
    if x.ndim != 3 or weights.ndim != 4 or weights.shape[1] != x.shape[0]:
        raise ValueError(f"x, weights: expected shapes (C, H, W) and (O, C, kh, kw), got {x.shape} and {weights.shape}")
    O, C, kh, kw = weights.shape
    K = C * kh * kw
    if prec is not None:
        pa = _int_array(prec, "prec")
        if pa.ndim == 1 and pa.shape == (C,) and K != C:
            prec = np.repeat(pa, kh * kw)
    plan = _plan(cfg, K, prec, pattern_ids)
    ph, pw = _pair(padding, "padding")
    if (ph or pw) and cfg.binary == "bipolar" and (plan.prec == 1).any():
        c = int(np.flatnonzero(plan.prec == 1)[0]) // (kh * kw)
        raise ValueError(f"padding: spatial zero padding is not representable for bipolar 1-bit activations "
                         f"(input channel {c}); use padding=0 or pad x with +-1 yourself")
    cols = im2col(x, kh, kw, stride=stride, padding=padding)                # (K, P)
    sh, sw = _pair(stride, "stride")
    Ho, Wo = (x.shape[1] + 2 * ph - kh) // sh + 1, (x.shape[2] + 2 * pw - kw) // sw + 1
    P = cols.shape[1]
    assert P == Ho * Wo
    hit = _first_bad(cfg, cols, plan.prec[:, None], "a")
    if hit is not None:
        i, v, p = hit
        k, pix = divmod(i, P)
        c, rest = divmod(k, kh * kw)
        ki, kj = divmod(rest, kw)
        yy, xx = divmod(pix, Wo)
        where = f"x[{c}, {yy * sh + ki - ph}, {xx * sw + kj - pw}]"
        raise ValueError(_range_message(cfg, where, v, p, "a"))
    wm = weights.reshape(O, K)
    _check_range(cfg, weights, plan.prec.reshape(C, kh, kw)[None], "w", "weights")
    b = _bias_vec(bias, O, "output channel")
    exact = (wm @ cols + b[:, None]).ravel()                                  # (O*P,)
    raw_preload = np.repeat(b, P) - plan.pad_count
    abs_sum = (np.abs(wm) @ np.abs(cols)).ravel()
    expected = _expected(cfg, exact, raw_preload, abs_sum, plan.pad_count, "output")
    D = O * P
    d = np.arange(D)
    ops = _dots_ops(cfg, plan, _pack_rows(cfg, plan, cols.T, "a"), d % max(P, 1),
                    _pack_rows(cfg, plan, wm, "w"), d // max(P, 1), _wrap_arr(raw_preload, cfg.acc_width))
    return ops, expected.reshape(O, Ho, Wo)


def read_order(ops: Ops, expected) -> np.ndarray:
    """The expected values in the order the READ/READ_LOAD ops of ``ops`` appear (for ops built by the
    helpers here: ``expected`` flattened in C order). Raises if the counts differ."""
    exp = np.asarray(expected, np.int64).ravel()
    n = int(np.count_nonzero((ops.op == OP_READ) | (ops.op == OP_READ_LOAD)))
    if n != exp.size:
        raise ValueError(f"expected: {exp.size} values but the ops have {n} reads")
    return exp


def results_to_tensor(results: Results | np.ndarray, shape) -> np.ndarray:
    """Read-out values (a :class:`Results` or the values in read order) as a tensor of ``shape``
    (the shape of the ``expected`` returned with the ops)."""
    vals = results.value if isinstance(results, Results) else np.asarray(results, np.int64)
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(q) for q in shape)
    if vals.size != int(np.prod(shape)):
        raise ValueError(f"results: {vals.size} values do not fill shape {shape}")
    return vals.reshape(shape)
