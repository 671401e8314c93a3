"""Power workloads: the golden operation streams the gate-level power simulation runs, and their MACs.

- :func:`parse_workload` reads ``mixlane synth --workload`` (named :data:`WORKLOADS` refined by ``key=value``
  items; keys :data:`WORKLOAD_DEFAULTS`, spellings :data:`WORKLOAD_ALIASES`); :func:`mix_label` writes a mix back.
- :func:`workload_ops`: random activations and weights at one precision or a precision mix
  (:func:`mix_meta`, :func:`check_mix`), a fraction of the activations zero (ReLU-like), back-to-back ACCs with a
  READ_LOAD every :data:`READ_EVERY` operations; the golden model (:func:`mixlane.golden.run`) gives the
  expected results.
- :func:`workload_macs`: MACs per cycle of a range of operations (READ_LOAD cycles do no MAC).
- :func:`write_stimulus`: the operation stream as a ``$readmemh`` file, one packed word per operation
  (:func:`payload_fields`, the testbench ``synth/scripts/power_tb.v`` unpacks it).

Units: MACs are element products; one operation per clock cycle.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .tools import SynthError

__all__ = [
    "READ_EVERY",
    "WORKLOAD_DEFAULTS",
    "WORKLOADS",
    "WORKLOAD_ALIASES",
    "parse_workload",
    "mix_meta",
    "check_mix",
    "workload_ops",
    "workload_macs",
    "mix_label",
    "payload_fields",
    "write_stimulus",
]


#: One READ_LOAD every this many operations in the workload.
READ_EVERY = 16


# ---------------------------------------------------------------------------------------------- workload
#: Power workload settings and their defaults (``mixlane synth --workload``).
WORKLOAD_DEFAULTS = {"zero_fraction": 0.5, "ops": 400, "window": 256, "warmup": 32, "seed": 1, "glitches": False,
                     "mix": None}
#: Named workloads: starting points that ``key=value`` items refine.
WORKLOADS = {"relu": {"zero_fraction": 0.5}, "dense": {"zero_fraction": 0.0}, "sparse": {"zero_fraction": 0.75}}
#: Other spellings of workload keys in ``--workload`` (the command line resolves them the same way).
WORKLOAD_ALIASES = {"zeros": "zero_fraction"}


def parse_workload(spec: str) -> dict[str, Any]:
    """Parse ``[NAME][,key=value...]`` (``relu,zeros=0.3,ops=800,window=512,warmup=32,seed=7,glitches=1``,
    ``mix=1:0.25/2:0.5/4:0.25`` for an extra measurement at a precision mix, see :func:`mix_meta`)
    into the settings it names (only those). Keys: :data:`WORKLOAD_DEFAULTS` (``zeros`` for ``zero_fraction``);
    names: :data:`WORKLOADS`. Raises :class:`SynthError` with one line naming the bad item."""
    out: dict[str, Any] = {}
    for n, item in enumerate(x.strip() for x in spec.split(",")):
        if not item:
            raise SynthError(f"--workload {spec!r}: empty item; use NAME[,key=value...] or key=value[,...]")
        if "=" not in item:
            if n or item not in WORKLOADS:
                raise SynthError(f"--workload {spec!r}: {item!r} is not a workload name; use one of "
                                 f"{', '.join(WORKLOADS)} first, then key=value items")
            out.update(WORKLOADS[item])
            continue
        key, _, text = (s.strip() for s in item.partition("="))
        key = WORKLOAD_ALIASES.get(key, key)
        if key not in WORKLOAD_DEFAULTS:
            raise SynthError(f"--workload {spec!r}: unknown key {key!r}; use zeros, "
                             f"{', '.join(k for k in WORKLOAD_DEFAULTS if k != 'zero_fraction')}")
        try:
            if key == "mix":           # mix=1:0.25/2:0.5/4:0.25 (precision:fraction, fractions sum to 1)
                value = {int(p): float(f) for p, f in (x.split(":") for x in text.split("/"))}
                ok = bool(value) and all(f >= 0 for f in value.values()) and \
                    math.isclose(sum(value.values()), 1.0, abs_tol=1e-6)
            elif key == "zero_fraction":
                value: Any = float(text)
                ok = 0.0 <= value <= 1.0
            elif key == "glitches":
                value = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}[text.lower()]
                ok = True
            else:
                value = int(text)
                ok = value >= (0 if key == "seed" else 1)
        except (ValueError, KeyError):
            ok = False
        if not ok:
            allowed = {"zero_fraction": "a fraction from 0 to 1", "glitches": "0 or 1",
                       "mix": "precision:fraction items joined by / whose fractions sum to 1 (mix=2:0.7/4:0.3)",
                       "seed": "an integer >= 0"}.get(key, "a positive integer")
            raise SynthError(f"--workload {spec!r}: {key}={text!r} is not allowed; use {allowed}")
        out[key] = value
    return out


def mix_meta(cfg: Any, mix: dict[int, float], n: int, rng: Any) -> Any:
    """Metadata of ``n`` operations drawing precisions from ``mix`` (precision -> probability, summing to 1).

    What a draw decides follows the mode: ``uniform`` and ``pattern`` one precision per operation (``pattern``:
    the pattern with the most elements of it); ``channel`` the level of each lane, once for the whole workload
    (a layer's channels keep their precision), lanes apportioned to the mix and shuffled; ``element`` the
    precision of each element of each operation.
    """
    from mixlane.golden.layout import meta_fields
    from mixlane.sim_tb.stimulus import meta_for_precision

    precs = sorted(mix)
    probs = np.array([mix[p] for p in precs], float)
    mode = cfg.precision_mode
    if mode in ("uniform", "pattern"):
        draw = rng.choice(len(precs), size=n, p=probs)
        meta = np.zeros((n, meta_fields(cfg)), np.int64)
        for k, p in enumerate(precs):
            meta[draw == k] = meta_for_precision(cfg, p, 1)[0]
        return meta
    if mode == "channel":
        lanes = cfg.lanes
        counts = np.floor(probs * lanes).astype(int)
        for k in np.argsort(-(probs * lanes - counts), kind="stable")[: lanes - counts.sum()]:
            counts[k] += 1                                   # largest remainders
        row = np.concatenate([np.full(c, cfg.channel_levels.index(p)) for p, c in zip(precs, counts)])
        return np.repeat(rng.permutation(row)[None, :].astype(np.int64), n, axis=0)
    draw = rng.choice(len(precs), size=(n, cfg.max_elements), p=probs)
    return np.array([cfg.precisions.index(p) for p in precs], np.int64)[draw]


def check_mix(cfg: Any, mix: dict[int, float]) -> dict[int, float]:
    """Validate a precision mix against ``cfg``; the mix with int keys. One-line :class:`SynthError`."""
    out = {int(p): float(f) for p, f in mix.items()}
    bad = [p for p in out if p not in cfg.mode_precisions]
    if bad:
        raise SynthError(f"--workload mix: precision {bad[0]} is not one this configuration runs; use some of "
                         f"{list(cfg.mode_precisions)}")
    if any(not (f >= 0) for f in out.values()) or not math.isclose(sum(out.values()), 1.0, abs_tol=1e-6):
        raise SynthError(f"--workload mix: fractions {list(out.values())} must be >= 0 and sum to 1")
    return {p: f for p, f in sorted(out.items()) if f > 0}


def workload_ops(cfg: Any, *, precision: int | None = None, zero_fraction: float, n_ops: int, seed: int,
                 mix: dict[int, float] | None = None) -> Any:
    """A deterministic MAC workload at one precision, or at a precision ``mix`` (:func:`mix_meta`; give one
    of the two), as a :class:`mixlane.golden.Ops` batch.

    ``n_ops`` operations: ACCs of random register pairs with a READ_LOAD (bias 0) every :data:`READ_EVERY`
    operations (accumulator ``(i // 16) % outputs``), then a READ_LOAD of every accumulator so each ACC is
    checked. The metadata selects ``precision`` everywhere (:func:`mixlane.sim_tb.stimulus.meta_for_precision`:
    in ``pattern`` mode the pattern with the most ``precision``-bit elements, whose other elements get random
    values of their own precision). Element values are uniform over their range; a fraction ``zero_fraction``
    of the activations is set to 0 (not for bipolar 1-bit elements, which have no 0). READ_LOAD operations
    keep the previous operands on the bus (a driver holds them; they do no MAC).
    """
    from mixlane.golden import OP_ACC, OP_READ_LOAD, Ops, decode, pack
    from mixlane.sim_tb.stimulus import meta_for_precision

    if (precision is None) == (mix is None):
        raise SynthError("workload: give a precision or a mix, not both or neither")
    if mix is not None:
        mix = check_mix(cfg, mix)
    elif precision not in cfg.mode_precisions:
        raise SynthError(f"precision: {precision!r} is not allowed; this configuration has "
                         f"{list(cfg.mode_precisions)}")
    if not 0.0 <= zero_fraction <= 1.0:
        raise SynthError(f"zero_fraction: {zero_fraction!r} is not allowed; use 0 to 1")
    if isinstance(n_ops, bool) or not isinstance(n_ops, (int, np.integer)) or n_ops < 1:
        raise SynthError(f"n_ops: {n_ops!r} is not allowed; use a positive integer")
    n = int(n_ops)
    if mix is None:
        rng = np.random.default_rng([int(seed), int(precision)])
        meta = meta_for_precision(cfg, precision, n)
    else:
        rng = np.random.default_rng([int(seed), 0, *[int(p) for p in mix]])
        meta = mix_meta(cfg, mix, n, rng)
    layout = decode(cfg, meta)
    vals = {"a": np.zeros(layout.shape, np.int64), "w": np.zeros(layout.shape, np.int64)}
    for p in (int(q) for q in np.unique(layout[layout > 0])):
        mask = layout == p
        k = int(mask.sum())
        for operand in ("a", "w"):
            if p == 1 and cfg.binary == "bipolar":
                v = np.where(rng.random(k) < 0.5, -1, 1)
            else:
                lo, hi = cfg.element_range(p, operand)
                v = rng.integers(lo, hi + 1, k)
                if operand == "a" and zero_fraction > 0:
                    v[rng.random(k) < zero_fraction] = 0
            vals[operand][mask] = v
    op = np.full(n, OP_ACC, np.int64)
    op[READ_EVERY - 1::READ_EVERY] = OP_READ_LOAD
    a = pack(cfg, vals["a"], layout, "a")
    w = pack(cfg, vals["w"], layout, "w")
    for r in np.nonzero(op == OP_READ_LOAD)[0]:
        if r > 0:
            a[r], w[r] = a[r - 1], w[r - 1]
    body = Ops(op=op, sel=(np.arange(n) // READ_EVERY) % cfg.outputs, meta=meta, a=a, w=w,
               bias=np.zeros(n, np.int64))
    k = cfg.outputs
    tail = Ops(op=np.full(k, OP_READ_LOAD, np.int64), sel=np.arange(k, dtype=np.int64),
               meta=np.repeat(meta[-1:], k, axis=0), a=np.repeat(a[-1:], k, axis=0),
               w=np.repeat(w[-1:], k, axis=0), bias=np.zeros(k, np.int64))
    return Ops.concat([body, tail])


def workload_macs(cfg: Any, ops: Any, start: int = 0, stop: int | None = None) -> dict[str, Any]:
    """MACs and cycles of ``ops[start:stop]`` run back to back (each operation takes the cycles the
    architecture gives it: :func:`mixlane.golden.op_cycles`).

    Returns ``{"elements_per_register"`` (element products of one ACC register pair, the most in the range),
    ``"macs"`` (element products of the ACC operations), ``"ops"``, ``"acc_ops"``, ``"cycles"`` (of all the
    operations), ``"acc_cycles"`` (of the ACCs), ``"macs_per_cycle"`` (``macs / cycles``),
    ``"gated_lane_fraction"`` (lanes of the ACCs that zero gating isolates; ``None`` without it)}.
    """
    from mixlane.golden import OP_ACC, decode, op_cycles
    from mixlane.golden.sparse import gated_lanes

    sub = ops[start:stop]
    if len(sub) == 0:
        raise SynthError(f"workload_macs: no operations in [{start}:{stop}]")
    acc = sub.op == OP_ACC
    per = (decode(cfg, sub.meta) > 0).sum(axis=1)
    macs = int(per[acc].sum())
    cycles = op_cycles(cfg, sub.op, sub.meta)
    gated = None
    if cfg.zero_gating and acc.any():
        gated = float(gated_lanes(cfg, sub.a[acc], sub.w[acc], sub.meta[acc]).mean())
    return {"elements_per_register": int(per[acc].max()) if acc.any() else 0, "macs": macs, "ops": len(sub),
            "acc_ops": int(acc.sum()), "cycles": int(cycles.sum()), "acc_cycles": int(cycles[acc].sum()),
            "macs_per_cycle": macs / int(cycles.sum()), "gated_lane_fraction": gated}


def mix_label(mix: dict[Any, float]) -> str:
    """``1:0.25/2:0.5/4:0.25``: the ``--workload mix=`` spelling."""
    return "/".join(f"{p}:{f:g}" for p, f in sorted(mix.items(), key=lambda x: int(x[0])))


# -------------------------------------------------------------------------------------------- stimulus
def payload_fields(cfg: Any) -> list[tuple[str, int]]:
    """Input payload ports MSB first in one packed operation word (docs/format.md section 5)."""
    fields = [("i__op", 2)]
    if cfg.sel_bits:
        fields.append(("i__sel", cfg.sel_bits))
    fields += [("i__meta", cfg.meta_bits), ("i__a", cfg.width), ("i__w", cfg.width), ("i__bias", cfg.acc_width)]
    return fields


def write_stimulus(cfg: Any, ops: Any, path: str | Path) -> int:
    """Write ``ops`` as a ``$readmemh`` file, one packed word a line (see ``power_tb.v``); returns its bit width."""
    from mixlane.golden import bits_to_ints, encode_meta_ints

    fields = payload_fields(cfg)
    bits = sum(w for _, w in fields)
    columns = {"i__op": [int(v) for v in ops.op], "i__sel": [int(v) for v in ops.sel],
               "i__meta": encode_meta_ints(cfg, ops.meta), "i__a": bits_to_ints(ops.a),
               "i__w": bits_to_ints(ops.w), "i__bias": [int(v) for v in ops.bias]}
    digits = (bits + 3) // 4
    lines = []
    for i in range(len(ops)):
        word = 0
        for name, width in fields:
            word = (word << width) | (columns[name][i] & ((1 << width) - 1))
        lines.append(f"{word:0{digits}x}")
    Path(path).write_text("\n".join(lines) + "\n")
    return bits
