"""Stimulus: operation batches for the datapath, built with the golden model's packers.

Every generator returns a :class:`mixlane.golden.Ops` batch that ends with a read of every accumulator,
so each ACC is covered by a checked result. Generators are pure functions of ``(cfg, rng, ...)``.
"""

from __future__ import annotations

import numpy as np

from mixlane.config import Config
from mixlane.golden import (OP_ACC, OP_LOAD, OP_READ, OP_READ_LOAD, Ops, decode, meta_field_bits, meta_fields,
                            meta_for_precision, pack)

__all__ = ["SCENARIOS", "random_meta", "backpressure_ops", "meta_for_precision", "random_ops", "dense_ops", "corner_ops", "overflow_ops",
           "exhaustive_ops", "throughput_ops", "build", "lane_macs", "DEFAULT_SCENARIOS", "save_ops", "load_ops",
           "OPS_FILE_ENV", "activation_ops", "zeros_ops", "default_scenarios"]

#: Environment variable naming the ``.npz`` file of the ``file`` scenario (set by the runner).
OPS_FILE_ENV = "MIXLANE_OPS_FILE"
_OPS_FIELDS = ("op", "sel", "meta", "a", "w", "bias")


def _empty(cfg: Config, n: int) -> Ops:
    return Ops(op=np.zeros(n, np.int64), sel=np.zeros(n, np.int64),
               meta=np.zeros((n, meta_fields(cfg)), np.int64), a=np.zeros((n, cfg.width), np.uint8),
               w=np.zeros((n, cfg.width), np.uint8), bias=np.zeros(n, np.int64))


def random_meta(cfg: Config, rng: np.random.Generator, n: int, reserved: float = 0.02) -> np.ndarray:
    """Metadata codes ``(n, F)``: valid codes, with a fraction ``reserved`` of reserved/off codes."""
    F, fb = meta_fields(cfg), meta_field_bits(cfg)
    mode = cfg.precision_mode
    n_valid = {"uniform": len(cfg.precisions), "pattern": len(cfg.patterns),
               "channel": len(cfg.channel_levels), "element": len(cfg.precisions)}[mode]
    meta = rng.integers(0, n_valid, (n, F))
    if mode == "element":
        # mostly short runs of one precision, as trained networks have; sometimes fully random
        runs = rng.random(n) < 0.5
        meta[runs] = np.repeat(rng.integers(0, n_valid, (int(runs.sum()), F // 8 + 1)), 8, axis=1)[:, :F]
    if (1 << fb) > n_valid and reserved > 0:
        bad = rng.random((n, F)) < reserved / max(1, F if mode == "element" else 1)
        meta[bad] = rng.integers(n_valid, 1 << fb, int(bad.sum()))
    return meta


def _neutral(cfg: Config, layout: np.ndarray) -> np.ndarray:
    """Background element values: 0, or +1 for bipolar 1-bit elements (which have no 0)."""
    if cfg.binary == "bipolar":
        return (layout == 1).astype(np.int64)
    return np.zeros(layout.shape, np.int64)


def _values(cfg: Config, rng: np.random.Generator, layout: np.ndarray, operand: str, style: str) -> np.ndarray:
    """Element values for ``layout``: ``uniform`` random, ``extreme`` (range ends) or ``sparse`` (70% zero)."""
    vals = np.zeros(layout.shape, np.int64)
    for p in cfg.precisions:
        mask = layout == p
        if not mask.any():
            continue
        lo, hi = cfg.element_range(p, operand)
        n = int(mask.sum())
        if style == "extreme":
            v = np.where(rng.random(n) < 0.5, lo, hi)
        else:
            v = rng.integers(lo, hi + 1, n)
            if style == "sparse":
                v[rng.random(n) < 0.7] = 0
        if p == 1 and cfg.binary == "bipolar":
            v = np.where(v >= 0, 1, -1)
        vals[mask] = v
    return vals


def _fill_registers(cfg: Config, rng: np.random.Generator, ops: Ops, rows: np.ndarray, style: str) -> None:
    layout = decode(cfg, ops.meta[rows])
    if style == "bits":
        # uniformly random bits: uniformly random element values, and random bits under switched-off lanes
        ops.a[rows] = rng.integers(0, 2, (len(rows), cfg.width), dtype=np.uint8)
        ops.w[rows] = rng.integers(0, 2, (len(rows), cfg.width), dtype=np.uint8)
        return
    ops.a[rows] = pack(cfg, _values(cfg, rng, layout, "a", "sparse" if style == "sparse" else style), layout, "a")
    ops.w[rows] = pack(cfg, _values(cfg, rng, layout, "w", style if style != "sparse" else "uniform"), layout, "w")


def _bias(cfg: Config, rng: np.random.Generator, n: int) -> np.ndarray:
    half = 1 << (cfg.acc_width - 1)
    small = rng.integers(-1000, 1000, n)
    big = rng.integers(-half, half, n, dtype=np.int64)
    return np.where(rng.random(n) < 0.1, big, np.where(rng.random(n) < 0.5, 0, small))


def random_ops(cfg: Config, rng: np.random.Generator, n: int) -> Ops:
    """Constrained-random stream of about ``n`` operations.

    Output tiles: each accumulator is loaded with a random bias, receives 1-8 ACCs (interleaved across
    accumulators), and is read with READ or READ_LOAD; extra READs, metadata changing every operation,
    value styles mixed per register (random bits, full range, sparse activations, range ends).
    """
    ops = _empty(cfg, n)
    ops.op[:] = OP_ACC
    ops.sel[:] = rng.integers(0, cfg.outputs, n)
    # roughly one read per 5 ops; the op after a READ_LOAD needs no LOAD
    r = rng.random(n)
    ops.op[r < 0.15] = OP_READ_LOAD
    ops.op[(r >= 0.15) & (r < 0.19)] = OP_LOAD
    ops.op[(r >= 0.19) & (r < 0.22)] = OP_READ
    ops.bias[:] = _bias(cfg, rng, n)
    ops.meta[:] = random_meta(cfg, rng, n)
    styles = rng.choice(["bits", "uniform", "sparse", "extreme"], n, p=[0.4, 0.3, 0.2, 0.1])
    for style in ("bits", "uniform", "sparse", "extreme"):
        rows = np.nonzero(styles == style)[0]
        if len(rows):
            _fill_registers(cfg, rng, ops, rows, style)
    return Ops.concat([ops, read_all(cfg)])


def dense_ops(cfg: Config, rng: np.random.Generator, n: int) -> Ops:
    """:func:`random_ops` with register bits mostly ones (each operation draws a density of 0.8-1): many
    partial products are set at once, so the deep carries of the adder trees fire, which uniformly random bits
    reach rarely (``mixlane mutate`` found a tree carry that 100 uniform operations left unchecked)."""
    ops = random_ops(cfg, rng, n)
    rows = np.nonzero(ops.op == OP_ACC)[0]
    density = rng.uniform(0.8, 1.0, (len(rows), 1))
    ops.a[rows] = rng.random((len(rows), cfg.width)) < density
    ops.w[rows] = rng.random((len(rows), cfg.width)) < density
    return ops


def backpressure_ops(cfg: Config, rng: np.random.Generator, repeats: int = 8) -> Ops:
    """Every operation kind right behind a READ (whose result may wait on a not-ready consumer), ``repeats``
    times each: directed stimulus for the coverage bins "<op> held"."""
    pairs = []
    for op in (OP_ACC, OP_LOAD, OP_READ, OP_READ_LOAD):
        for _ in range(repeats):
            pairs += [OP_READ, op]
    ops = _empty(cfg, len(pairs))
    ops.op[:] = pairs
    ops.sel[:] = rng.integers(0, cfg.outputs, len(pairs))
    ops.meta[:] = random_meta(cfg, rng, len(pairs), reserved=0)
    _fill_registers(cfg, rng, ops, np.nonzero(ops.op == OP_ACC)[0], "uniform")
    ops.bias[:] = _bias(cfg, rng, len(pairs))
    return Ops.concat([ops, read_all(cfg)])


def read_all(cfg: Config) -> Ops:
    """READ_LOAD (bias 0) of every accumulator."""
    ops = _empty(cfg, cfg.outputs)
    ops.op[:] = OP_READ_LOAD
    ops.sel[:] = np.arange(cfg.outputs)
    return ops


def _acc_then_read(cfg: Config, metas: np.ndarray, a: np.ndarray, w: np.ndarray, sel: int = 0) -> Ops:
    """Each register pair accumulated alone and read back: ACC, READ_LOAD, ACC, READ_LOAD, ..."""
    n = len(metas)
    ops = _empty(cfg, 2 * n)
    ops.op[0::2], ops.op[1::2] = OP_ACC, OP_READ_LOAD
    ops.sel[:] = sel
    ops.meta[0::2], ops.a[0::2], ops.w[0::2] = metas, a, w
    return ops


def corner_ops(cfg: Config, rng: np.random.Generator) -> Ops:
    """Directed corners: every precision at its range ends (all four sign combinations), every pattern /
    level / reserved code, single-element registers at every position, metadata changing between ops."""
    parts = []
    F, fb = meta_fields(cfg), meta_field_bits(cfg)
    for p in cfg.mode_precisions:
        meta = meta_for_precision(cfg, p, 1)
        layout = decode(cfg, meta)
        for a_end in (0, 1):
            for w_end in (0, 1):
                ea, ew = cfg.element_range(p, "a")[a_end], cfg.element_range(p, "w")[w_end]
                if p == 1 and cfg.binary == "bipolar":
                    ea, ew = 2 * a_end - 1, 2 * w_end - 1
                va = np.where(layout == p, ea, _neutral(cfg, layout))
                vw = np.where(layout == p, ew, _neutral(cfg, layout))
                parts.append(_acc_then_read(cfg, meta, pack(cfg, va, layout, "a"), pack(cfg, vw, layout, "w")))
    # every metadata code value in every field position (reserved ones included), random data
    codes = np.arange(1 << fb)
    metas = np.repeat(codes[:, None], F, axis=1)
    if F > 1:
        rolled = np.stack([np.roll(np.arange(F) % (1 << fb), k) for k in range(1 << fb)])
        metas = np.concatenate([metas, rolled])
    n = len(metas)
    a = rng.integers(0, 2, (n, cfg.width), dtype=np.uint8)
    w = rng.integers(0, 2, (n, cfg.width), dtype=np.uint8)
    parts.append(_acc_then_read(cfg, metas, a, w))
    # all ones / all zeros registers under random metadata
    metas = random_meta(cfg, rng, 8, reserved=0.0)
    ones = np.ones((8, cfg.width), np.uint8)
    zeros = np.zeros((8, cfg.width), np.uint8)
    parts.append(_acc_then_read(cfg, metas, ones, ones))
    parts.append(_acc_then_read(cfg, metas, ones, zeros))
    parts.append(_acc_then_read(cfg, metas, zeros, ones))
    # metadata changing on every op inside one accumulation
    m = random_meta(cfg, rng, 16)
    ops = _empty(cfg, 17)
    ops.op[:16] = OP_ACC
    ops.meta[:16] = m
    ops.a[:16] = rng.integers(0, 2, (16, cfg.width), dtype=np.uint8)
    ops.w[:16] = rng.integers(0, 2, (16, cfg.width), dtype=np.uint8)
    ops.op[16] = OP_READ_LOAD
    parts.append(ops)
    # LOAD extremes then READ without any ACC; out-of-range selector
    half = 1 << (cfg.acc_width - 1)
    ops = _empty(cfg, 6)
    ops.op[:] = [OP_LOAD, OP_READ, OP_LOAD, OP_READ_LOAD, OP_READ, OP_READ]
    ops.bias[:] = [half - 1, 0, -half, 0, 0, 0]
    if (1 << cfg.sel_bits) > cfg.outputs:
        ops.sel[5] = cfg.outputs  # no such accumulator: reads 0
    parts.append(ops)
    return Ops.concat(parts + [read_all(cfg)])


def overflow_ops(cfg: Config, rng: np.random.Generator) -> Ops:
    """Accumulator overflow both ways: load near the limits, add max-magnitude register sums."""
    parts = []
    half = 1 << (cfg.acc_width - 1)
    p = max(cfg.mode_precisions, key=lambda q: cfg.width // q * cfg.max_product(q))
    meta = meta_for_precision(cfg, p, 1)
    layout = decode(cfg, meta)
    combos = []
    for a_end in (0, 1):
        for w_end in (0, 1):
            va = np.where(layout == p, cfg.element_range(p, "a")[a_end], _neutral(cfg, layout))
            vw = np.where(layout == p, cfg.element_range(p, "w")[w_end], _neutral(cfg, layout))
            combos.append((pack(cfg, va, layout, "a"), pack(cfg, vw, layout, "w")))
    for a_bits, w_bits in combos:
        for start in (half - 3, -half + 2, 0):
            k = 6
            ops = _empty(cfg, k + 2)
            ops.op[0], ops.bias[0] = OP_LOAD, start
            ops.op[1:k + 1] = OP_ACC
            ops.meta[1:k + 1], ops.a[1:k + 1], ops.w[1:k + 1] = meta, a_bits, w_bits
            ops.op[k + 1] = OP_READ_LOAD
            parts.append(ops)
    # a long run of maximum sums: enough to cross the range when acc_width is small
    a_bits, w_bits = max(combos, key=lambda c: abs(int(_sum(cfg, meta, *c))))
    per = max(1, abs(int(_sum(cfg, meta, a_bits, w_bits))))
    k = min(4096, (2 * half) // per + 3)
    ops = _empty(cfg, k + 1)
    ops.op[:k] = OP_ACC
    ops.meta[:k], ops.a[:k], ops.w[:k] = meta, a_bits, w_bits
    ops.op[k] = OP_READ_LOAD
    parts.append(ops)
    return Ops.concat(parts + [read_all(cfg)])


def _sum(cfg, meta, a_bits, w_bits):
    from mixlane.golden import register_results
    return register_results(cfg, a_bits, w_bits, meta)[0]


def exhaustive_ops(cfg: Config, rng: np.random.Generator) -> Ops:
    """Every operand pair of every precision up to 4 bits, each alone in a register (rotating through the
    element positions), and each filling a whole register; every register read on its own."""
    parts = []
    for p in cfg.mode_precisions:
        if p > 4:
            continue
        meta1 = meta_for_precision(cfg, p, 1)
        layout1 = decode(cfg, meta1)[0]
        pos = np.nonzero(layout1 == p)[0]
        lo_a, hi_a = cfg.element_range(p, "a")
        lo_w, hi_w = cfg.element_range(p, "w")
        avals = np.arange(lo_a, hi_a + 1)
        wvals = np.arange(lo_w, hi_w + 1)
        if p == 1 and cfg.binary == "bipolar":
            avals = wvals = np.array([-1, 1])
        pa, pw = np.meshgrid(avals, wvals, indexing="ij")
        pa, pw = pa.ravel(), pw.ravel()
        n = len(pa)
        layout = np.repeat(layout1[None, :], n, axis=0)
        metas = np.repeat(meta1, n, axis=0)
        # (1) the pair in every element of the register
        va = np.where(layout == p, pa[:, None], _neutral(cfg, layout))
        vw = np.where(layout == p, pw[:, None], _neutral(cfg, layout))
        parts.append(_acc_then_read(cfg, metas, pack(cfg, va, layout, "a"), pack(cfg, vw, layout, "w")))
        if p == 1 and cfg.binary == "bipolar":
            continue  # no zero background for bipolar elements: (1) covers every pair at every position
        # (2) the pair alone, at position k mod elements, zeros elsewhere
        va = _neutral(cfg, layout)
        vw = _neutral(cfg, layout)
        where = pos[np.arange(n) % len(pos)]
        va[np.arange(n), where] = pa
        vw[np.arange(n), where] = pw
        parts.append(_acc_then_read(cfg, metas, pack(cfg, va, layout, "a"), pack(cfg, vw, layout, "w")))
    if not parts:
        return read_all(cfg)
    return Ops.concat(parts + [read_all(cfg)])


def activation_ops(cfg: Config, rng: np.random.Generator) -> Ops:
    """Every activation value of the widest precision (0..255 for unsigned 8-bit) against random weights,
    each register accumulated and read on its own: the value (1) alone at a rotating position, zeros elsewhere,
    (2) in every element, (3) among random partners (half of them zero) and weights (a quarter zero). For
    lanes whose arithmetic depends on the activation's value (trimming) and on its neighbours (sharing)."""
    p = cfg.mode_precisions[-1]
    meta1 = meta_for_precision(cfg, p, 1)
    layout1 = decode(cfg, meta1)[0]
    pos = np.nonzero(layout1 == p)[0]
    bipolar = p == 1 and cfg.binary == "bipolar"
    lo, hi = cfg.element_range(p, "a")
    vals = np.array([-1, 1]) if bipolar else np.arange(lo, hi + 1)
    n, rows = len(vals), np.arange(len(vals))
    layout = np.repeat(layout1[None, :], n, axis=0)
    metas = np.repeat(meta1, n, axis=0)
    on, neutral = layout == p, _neutral(cfg, layout)

    def draw(operand: str, zeros: float) -> np.ndarray:
        lo_, hi_ = cfg.element_range(p, operand)
        v = rng.integers(lo_, hi_ + 1, layout.shape)
        v[v == 0] = hi_
        if bipolar:
            v = np.where(v > 0, 1, -1)
        elif zeros:
            v[rng.random(v.shape) < zeros] = 0
        return np.where(on, v, neutral)

    parts = []
    alone = neutral.copy()
    alone[rows, pos[rows % len(pos)]] = vals
    among = draw("a", 0.5)
    among[rows, pos[(7 * rows + 3) % len(pos)]] = vals
    for va, vw in ((alone, draw("w", 0)), (np.where(on, vals[:, None], neutral), draw("w", 0)),
                   (among, draw("w", 0.25))):
        parts.append(_acc_then_read(cfg, metas, pack(cfg, va, layout, "a"), pack(cfg, vw, layout, "w")))
    return Ops.concat(parts + [read_all(cfg)])


def zeros_ops(cfg: Config, rng: np.random.Generator, n: int, fraction: float) -> Ops:
    """Output tiles of 8 ACCs of random registers (random precision codes) whose activation elements are 0
    with probability ``fraction`` (weights uniform), each tile closed by a READ_LOAD: activation tensors
    at a given sparsity (bipolar 1-bit elements, which have no 0, stay as drawn)."""
    ops = _empty(cfg, n)
    ops.op[:] = OP_ACC
    ops.op[7::8] = OP_READ_LOAD
    ops.sel[:] = (np.arange(n) // 8) % cfg.outputs
    ops.meta[:] = random_meta(cfg, rng, n, reserved=0.0)
    layout = decode(cfg, ops.meta)
    a = _values(cfg, rng, layout, "a", "uniform")
    bipolar = (layout == 1) & (cfg.binary == "bipolar")
    a[(rng.random(a.shape) < fraction) & ~bipolar] = 0
    ops.a[:] = pack(cfg, a, layout, "a")
    ops.w[:] = pack(cfg, _values(cfg, rng, layout, "w", "uniform"), layout, "w")
    return Ops.concat([ops, read_all(cfg)])


def lane_macs(cfg: Config, ops: Ops) -> int:
    """Element products in the ACC operations of ``ops`` (each one is checked through a later read)."""
    acc = ops.op == OP_ACC
    return int((decode(cfg, ops.meta[acc]) > 0).sum())


def throughput_ops(cfg: Config, rng: np.random.Generator, n: int, precision: int | None = None) -> Ops:
    """Back-to-back ACCs of random registers at one precision (2 bits when supported), READ_LOAD every 16."""
    p = precision or (2 if 2 in cfg.mode_precisions else cfg.mode_precisions[0])
    ops = _empty(cfg, n)
    ops.op[:] = OP_ACC
    ops.op[15::16] = OP_READ_LOAD
    ops.sel[:] = (np.arange(n) // 16) % cfg.outputs
    ops.meta[:] = meta_for_precision(cfg, p, 1)
    ops.a[:] = rng.integers(0, 2, (n, cfg.width), dtype=np.uint8)
    ops.w[:] = rng.integers(0, 2, (n, cfg.width), dtype=np.uint8)
    return Ops.concat([ops, read_all(cfg)])


def _rand_vals(cfg: Config, rng: np.random.Generator, precs: np.ndarray, operand: str,
               keep: float = 1.0) -> np.ndarray:
    """Random values, each in the range of its element's precision; a fraction ``1 - keep`` set to 0
    (not for bipolar 1-bit elements, which have no 0)."""
    vals = np.zeros(precs.shape, np.int64)
    for p in np.unique(precs):
        lo, hi = cfg.element_range(int(p), operand)
        m = precs == p
        v = rng.integers(lo, hi + 1, int(m.sum()))
        if p == 1 and cfg.binary == "bipolar":
            v = np.where(v >= 0, 1, -1)
        elif keep < 1:
            v[rng.random(v.size) >= keep] = 0
        vals[m] = v
    return vals


def tensor_ops(cfg: Config, rng: np.random.Generator) -> Ops:
    """Real layers through the golden tensor helpers: a 2-D convolution (uniform / channel precisions) or a
    matrix-vector product (pattern / element precisions), with padding of partial registers.

    With ``overflow = 'saturate'`` and a narrow accumulator the helpers refuse layers whose partial sums
    could saturate; the values are then made sparser until the layer fits."""
    for keep in (1.0, 0.3, 0.1, 0.02, 0.0):
        try:
            return _tensor_ops(cfg, rng, keep)
        except ValueError as exc:
            if "saturate" not in str(exc):
                raise
    return read_all(cfg)


def _tensor_ops(cfg: Config, rng: np.random.Generator, keep: float) -> Ops:
    from mixlane.golden import conv2d_ops, matvec_ops, pattern_layouts

    mode = cfg.precision_mode
    levels = np.array(cfg.mode_precisions)
    bias_max = 1 << min(12, cfg.acc_width - 2)
    if mode in ("uniform", "channel"):
        C, O, k = 3, 4, 3
        cprec = rng.choice(levels, C) if mode == "channel" else np.full(C, rng.choice(levels))
        has_bipolar = cfg.binary == "bipolar" and (cprec == 1).any()
        x = _rand_vals(cfg, rng, np.repeat(cprec, 36).reshape(C, 6, 6), "a", keep)
        wgt = _rand_vals(cfg, rng, np.repeat(cprec, O * k * k).reshape(C, O, k, k).transpose(1, 0, 2, 3), "w", keep)
        bias = rng.integers(-bias_max, bias_max, O) if keep == 1 else np.zeros(O, np.int64)
        ops, _ = conv2d_ops(cfg, x, wgt, stride=1, padding=0 if has_bipolar else 1,
                            prec=cprec if mode == "channel" else int(cprec[0]), bias=bias)
        return ops
    M = 6
    if mode == "pattern":
        ids = rng.integers(0, len(cfg.patterns), 3)
        tab = pattern_layouts(cfg)
        prec = np.concatenate([tab[i][tab[i] > 0] for i in ids])
        prec = prec[: len(prec) - int(rng.integers(0, len(tab[ids[-1]][tab[ids[-1]] > 0])))]
        A = _rand_vals(cfg, rng, np.tile(prec, (M, 1)), "w", keep)
        x = _rand_vals(cfg, rng, prec, "a", keep)
        ops, _ = matvec_ops(cfg, A, x, pattern_ids=ids, bias=rng.integers(-bias_max, bias_max, M) * int(keep == 1))
        return ops
    K = int(rng.integers(cfg.width // cfg.pmax, 3 * cfg.width // cfg.pmin))
    prec = rng.choice(levels, K)
    A = _rand_vals(cfg, rng, np.tile(prec, (M, 1)), "w", keep)
    x = _rand_vals(cfg, rng, prec, "a", keep)
    ops, _ = matvec_ops(cfg, A, x, prec, bias=rng.integers(-bias_max, bias_max, M) * int(keep == 1))
    return ops


def save_ops(path, ops: Ops) -> None:
    """Write ``ops`` as an ``.npz`` file (the ``file`` scenario's input)."""
    np.savez_compressed(path, **{f: getattr(ops, f) for f in _OPS_FIELDS})


def load_ops(path) -> Ops:
    """Read an ``.npz`` file written by :func:`save_ops`."""
    with np.load(path) as data:
        missing = [f for f in _OPS_FIELDS if f not in data]
        if missing:
            raise ValueError(f"{path}: not an operations file (no {missing[0]!r}); write it with save_ops")
        return Ops(*(data[f] for f in _OPS_FIELDS))


def _file_ops(cfg: Config, rng: np.random.Generator, n: int) -> Ops:
    import os

    return load_ops(os.environ[OPS_FILE_ENV])


#: name -> (builder(cfg, rng, vectors), idle probability, output-ready probability)
SCENARIOS = {
    "random": (lambda cfg, rng, n: random_ops(cfg, rng, n), 0.0, 1.0),
    "random_stalls": (lambda cfg, rng, n: Ops.concat([random_ops(cfg, rng, max(64, n // 4)),
                                                      backpressure_ops(cfg, rng)]), 0.3, 0.5),
    "corners": (lambda cfg, rng, n: corner_ops(cfg, rng), 0.1, 0.8),
    "overflow": (lambda cfg, rng, n: overflow_ops(cfg, rng), 0.0, 1.0),
    "exhaustive": (lambda cfg, rng, n: exhaustive_ops(cfg, rng), 0.0, 1.0),
    "tensor": (lambda cfg, rng, n: tensor_ops(cfg, rng), 0.05, 0.9),
    "throughput": (lambda cfg, rng, n: throughput_ops(cfg, rng, n), 0.0, 1.0),
    "dense": (lambda cfg, rng, n: dense_ops(cfg, rng, max(256, n // 4)), 0.0, 1.0),
    "file": (_file_ops, 0.0, 1.0),      # operations from $MIXLANE_OPS_FILE (a compiled network, say)
    "activations": (lambda cfg, rng, n: activation_ops(cfg, rng), 0.0, 1.0),
    "zeros0": (lambda cfg, rng, n: zeros_ops(cfg, rng, max(64, n // 2), 0.0), 0.0, 1.0),
    "zeros50": (lambda cfg, rng, n: zeros_ops(cfg, rng, max(64, n // 2), 0.5), 0.0, 1.0),
    "zeros80": (lambda cfg, rng, n: zeros_ops(cfg, rng, max(64, n // 2), 0.8), 0.0, 1.0),
}
#: What a regression runs unless told otherwise (``throughput`` is for benchmarks), plus the configuration's
#: architecture's own (:attr:`mixlane.architectures.Architecture.scenarios`): :func:`default_scenarios`.
DEFAULT_SCENARIOS = ("random", "random_stalls", "corners", "overflow", "exhaustive", "tensor", "dense")


def default_scenarios(cfg: Config) -> tuple[str, ...]:
    """The scenarios a regression of ``cfg`` runs by default."""
    return DEFAULT_SCENARIOS + tuple(s for s in cfg.architecture.scenarios if s not in DEFAULT_SCENARIOS)


def build(cfg: Config, scenario: str, seed: int, vectors: int, *, ops_file=None) -> Ops:
    """The operation batch of ``scenario`` (deterministic in ``seed``); ``ops_file`` is the ``file``
    scenario's input (default ``$MIXLANE_OPS_FILE``)."""
    if scenario == "file" and ops_file is not None:
        return load_ops(ops_file)
    rng = np.random.default_rng([seed, list(SCENARIOS).index(scenario)])
    return SCENARIOS[scenario][0](cfg, rng, vectors)
