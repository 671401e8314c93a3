"""Golden arithmetic of sparsity-aware MACs: SPARQ trimming (bSPARQ, vSPARQ) and NB-SMT thread sharing.

Activations are unsigned 8-bit (0..255, after ReLU), weights signed 8-bit; weights are never trimmed.

- **bSPARQ** (:func:`bsparq_trim`) keeps a ``window``-bit slice of an activation, placed at the lowest of the
  allowed positions whose top bit is at or above the activation's leading one (values below ``2**window`` are
  exact). Rounding (default on) is round-half-to-even over the dropped bits: up when the first dropped bit is
  1 and the window's lowest bit or any lower dropped bit is 1; a carry out of the window saturates to the
  window's all-ones value (the window never moves up). Behaviour checked against the SPARQ reference kernels
  (GitHub ``gilshm/sparq``, ``cu_gemm_2x48``): e.g. 19 -> 20, 152 -> 160, 136 -> 128, 255 -> 240, 127 -> 120.
- **vSPARQ** (:func:`vsparq_pairs`): activations ``2j`` and ``2j + 1`` along the reduction share one 8-bit
  budget; when one is zero the other is exact, otherwise both are trimmed to 4-bit windows.
- **NB-SMT** (:func:`nbsmt_values`): ``threads`` consecutive elements along the reduction share one 8b x 8b
  unit per cycle, split into ``threads`` slices of ``8 // threads`` activation bits x 8 weight bits. A thread
  whose activation or weight is zero takes no slice. With ``n`` busy threads each gets
  ``threads // 2**ceil(log2 n)`` slices: one busy thread runs exact, two share the unit as 4-bit windows, three
  or four (of four threads) get 2-bit windows (every placement). Never a stall.

Placements: a ``window``-bit slice can start (its lowest bit) at ``placements`` positions spread evenly over
``0 .. 8 - window``: window 4 with 5 (0..4), 3 (0, 2, 4) or 2 (0, 4); window 3 with 6 (0..5) or 2 (0, 5);
window 2 with 7 (0..6), 4 (0, 2, 4, 6), 3 (0, 3, 6) or 2 (0, 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arith import unpack
from .layout import decode

__all__ = ["ACT_BITS", "WINDOWS", "DEFAULT_PLACEMENTS", "window_lsbs", "allowed_placements", "check_window",
           "trim_parts", "bsparq_trim", "vsparq_pairs", "nbsmt_values", "nbsmt_busy",
           "nbsmt_window", "SCHEMES", "scheme_values", "SchemeStats", "scheme_stats", "zero_pair_fraction",
           "sparq_sum", "nbsmt_sum", "gated_lanes", "register_values", "pad_groups"]

#: Bits of an activation (unsigned) and of a weight (signed).
ACT_BITS = 8
#: Window widths bSPARQ supports, with their default (every position) placement count.
WINDOWS = (2, 3, 4)
DEFAULT_PLACEMENTS = {4: 5, 3: 6, 2: 7}


def allowed_placements(window: int) -> tuple[int, ...]:
    """Placement counts a ``window``-bit slice allows: ``n >= 2`` with ``n - 1`` dividing ``8 - window``."""
    span = ACT_BITS - window
    return tuple(n for n in range(2, span + 2) if span % (n - 1) == 0)


def check_window(window: int, placements: int) -> None:
    """``ValueError`` (one line, naming the fix) unless ``window``/``placements`` is a supported pair."""
    if window not in WINDOWS and window != ACT_BITS:
        raise ValueError(f"window: {window!r} is not supported; use one of {list(WINDOWS)}")
    if window != ACT_BITS and placements not in allowed_placements(window):
        raise ValueError(f"placements: {placements!r} is not supported for a {window}-bit window; use one of "
                         f"{list(allowed_placements(window))}")


def window_lsbs(window: int, placements: int) -> tuple[int, ...]:
    """Positions (lowest bit) a ``window``-bit slice may start at, ascending. Window 8: ``(0,)`` (exact)."""
    check_window(window, placements)
    if window == ACT_BITS:
        return (0,)
    step = (ACT_BITS - window) // (placements - 1)
    return tuple(range(0, ACT_BITS - window + 1, step))


def _activations(values) -> np.ndarray:
    v = np.asarray(values)
    if v.dtype == bool or not np.issubdtype(v.dtype, np.integer):
        raise ValueError(f"activations: integers 0..255 expected, not dtype {v.dtype}; quantize them first")
    v = v.astype(np.int64)
    if v.size and (v.min() < 0 or v.max() > 255):
        bad = v[(v < 0) | (v > 255)].flat[0]
        raise ValueError(f"activations: {int(bad)} is outside 0..255 (unsigned 8-bit); clip or requantize")
    return v


def _weights(values) -> np.ndarray:
    w = np.asarray(values)
    if w.dtype == bool or not np.issubdtype(w.dtype, np.integer):
        raise ValueError(f"weights: integers -128..127 expected, not dtype {w.dtype}; quantize them first")
    w = w.astype(np.int64)
    if w.size and (w.min() < -128 or w.max() > 127):
        bad = w[(w < -128) | (w > 127)].flat[0]
        raise ValueError(f"weights: {int(bad)} is outside -128..127 (signed 8-bit); clip or requantize")
    return w


def trim_parts(values, *, window: int = 4, placements: int | None = None, rounding: bool = True
               ) -> tuple[np.ndarray, np.ndarray]:
    """bSPARQ of unsigned 8-bit ``values`` as ``(digits, shifts)``: the kept ``window``-bit value and its
    position, ``trimmed = digits << shifts`` (``digits < 2**window``). The RTL computes exactly these.
    ``placements``: default every position (:data:`DEFAULT_PLACEMENTS`: 5 for the 4-bit window)."""
    v = _activations(values)
    placements = DEFAULT_PLACEMENTS.get(window, 1) if placements is None else placements
    lsbs = np.array(window_lsbs(window, placements), dtype=np.int64)
    lead = np.where(v > 0, np.floor(np.log2(np.maximum(v, 1))).astype(np.int64), -1)     # leading one
    need = np.maximum(lead - (window - 1), 0)                                            # lowest LSB covering it
    shifts = lsbs[np.searchsorted(lsbs, need)]
    digits = v >> shifts
    if rounding:
        first = np.where(shifts > 0, (v >> np.maximum(shifts - 1, 0)) & 1, 0)
        sticky = (v & ((1 << np.maximum(shifts - 1, 0)) - 1)) != 0
        digits = digits + (first & ((digits & 1) | sticky))
        digits = np.minimum(digits, (1 << window) - 1)          # carry out: saturate to the window's ones
    return digits, shifts


def bsparq_trim(values, placements: int | None = None, rounding: bool = True, window: int = 4) -> np.ndarray:
    """bSPARQ-trimmed activations on the 0..255 scale (same shape as ``values``); ``placements`` defaults to
    every position of the window (5 for 4 bits, 6 for 3, 7 for 2)."""
    digits, shifts = trim_parts(values, window=window, placements=placements, rounding=rounding)
    return digits << shifts


def pad_groups(x: np.ndarray, group: int) -> np.ndarray:
    """``x`` with its last axis padded with zeros to a multiple of ``group``, reshaped ``(..., K/group, group)``."""
    k = x.shape[-1]
    pad = (-k) % group
    if pad:
        x = np.concatenate([x, np.zeros(x.shape[:-1] + (pad,), dtype=x.dtype)], axis=-1)
    return x.reshape(x.shape[:-1] + (x.shape[-1] // group, group))


def vsparq_pairs(values, placements: int = DEFAULT_PLACEMENTS[4], rounding: bool = True) -> np.ndarray:
    """vSPARQ activations (same shape): pairs ``(2j, 2j + 1)`` along the last axis (the reduction; an odd
    last element pairs with an implicit zero); a value whose partner is zero is exact, otherwise both are
    bSPARQ-trimmed to 4-bit windows."""
    v = _activations(values)
    if v.ndim == 0:
        raise ValueError("activations: vSPARQ pairs elements along the last axis; give at least one axis")
    pairs = pad_groups(v, 2)
    partner_zero = pairs[..., ::-1] == 0
    out = np.where(partner_zero, pairs, bsparq_trim(pairs, placements, rounding, 4))
    return out.reshape(out.shape[:-2] + (-1,))[..., :v.shape[-1]]


def nbsmt_busy(a, w, threads: int = 2) -> np.ndarray:
    """Busy threads of every group of ``threads`` consecutive elements along the last axis ``(..., K/T)``:
    elements whose activation and weight are both non-zero."""
    a, w = np.broadcast_arrays(_activations(a), _weights(w))
    return pad_groups((a != 0) & (w != 0), threads).sum(axis=-1)


def nbsmt_window(busy: np.ndarray | int, threads: int) -> np.ndarray:
    """Activation bits each busy thread gets when ``busy`` threads of ``threads`` share one 8b x 8b unit."""
    busy = np.maximum(np.asarray(busy, dtype=np.int64), 1)
    ways = 1 << np.ceil(np.log2(busy)).astype(np.int64)          # 1, 2, 4 shares
    return ACT_BITS // ways


def nbsmt_values(a, w, threads: int = 2, placements: int = DEFAULT_PLACEMENTS[4], rounding: bool = True) -> np.ndarray:
    """Activations as an NB-SMT unit of ``threads`` (2 or 4) threads uses them (same shape as ``a``): exact
    for a lone busy thread, bSPARQ 4-bit windows (``placements``) when two collide, 2-bit windows (7
    placements) when three or four collide. Multiply by the exact weights for the products."""
    if threads not in (2, 4):
        raise ValueError(f"threads: {threads!r} is not supported; use 2 or 4")
    a, w = np.broadcast_arrays(_activations(a), _weights(w))
    if a.ndim == 0:
        raise ValueError("activations: NB-SMT groups elements along the last axis; give at least one axis")
    k = a.shape[-1]
    groups = pad_groups(a, threads)
    share = np.repeat(nbsmt_window(nbsmt_busy(a, w, threads), threads)[..., None], threads, axis=-1)
    out = groups.copy()
    for bits, places in ((4, placements), (2, DEFAULT_PLACEMENTS[2])):
        at = share == bits
        if at.any():
            out[at] = bsparq_trim(groups[at], places, rounding, bits)
    return out.reshape(out.shape[:-2] + (-1,))[..., :k]


# ------------------------------------------------------------------------------------- error statistics
#: Schemes :func:`scheme_values` knows: name -> function ``(a, w, **options) -> activations as used``.
SCHEMES = {
    "exact": lambda a, w: _activations(a),
    "bsparq": lambda a, w, placements=None, rounding=True, window=4: bsparq_trim(a, placements, rounding, window),
    "vsparq": lambda a, w, placements=DEFAULT_PLACEMENTS[4], rounding=True: vsparq_pairs(a, placements, rounding),
    "nbsmt": lambda a, w, threads=2, placements=DEFAULT_PLACEMENTS[4], rounding=True:
        nbsmt_values(a, w, threads, placements, rounding),
}


def scheme_values(scheme: str, a, w, **options) -> np.ndarray:
    """Activations ``a`` as ``scheme`` uses them against weights ``w`` (last axis: the reduction)."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme: {scheme!r} is not known; use one of {sorted(SCHEMES)}")
    return SCHEMES[scheme](a, w, **options)


def zero_pair_fraction(a, w=None) -> float:
    """Fraction of adjacent activation pairs ``(2j, 2j + 1)`` along the last axis with at least one zero
    (vSPARQ runs those exact). With ``w``, a zero operand pair counts too (weight or activation zero)."""
    a = _activations(a)
    nz = a != 0 if w is None else (a != 0) & (_weights(w) != 0)
    pairs = pad_groups(nz, 2)
    return float((~pairs.all(axis=-1)).mean()) if pairs.size else 0.0


@dataclass(frozen=True)
class SchemeStats:
    """Error of a scheme against exact 8-bit products on one tensor pair.

    ``product_mae``: mean |approximate - exact| product; ``product_rel``: that over mean |exact product|;
    ``dot_rel_rms``: RMS of (approximate - exact) dot products over RMS of exact dot products; ``changed``:
    fraction of activations the scheme altered; ``zero_operands``: fraction of element pairs with a zero
    operand; ``zero_pairs``: :func:`zero_pair_fraction` of the activations.
    """

    scheme: str
    elements: int
    product_mae: float
    product_rel: float
    dot_rel_rms: float
    changed: float
    zero_operands: float
    zero_pairs: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def scheme_stats(scheme: str, a, w, **options) -> SchemeStats:
    """:class:`SchemeStats` of ``scheme`` on activations ``a`` (..., K) and weights ``w`` (broadcast to
    ``a``; the last axis is the reduction)."""
    a, w = np.broadcast_arrays(_activations(a), _weights(w))
    used = scheme_values(scheme, a, w, **options)
    exact_p, approx_p = a * w, used * w
    err = np.abs(approx_p - exact_p)
    dot_exact, dot_approx = exact_p.sum(axis=-1), approx_p.sum(axis=-1)
    rms = lambda x: float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0  # noqa: E731
    mean_abs = float(np.abs(exact_p).mean()) if a.size else 0.0
    return SchemeStats(
        scheme=scheme, elements=int(a.size), product_mae=float(err.mean()) if a.size else 0.0,
        product_rel=float(err.mean()) / mean_abs if mean_abs else 0.0,
        dot_rel_rms=rms(dot_approx - dot_exact) / rms(dot_exact) if rms(dot_exact) else 0.0,
        changed=float((used != a).mean()) if a.size else 0.0,
        zero_operands=float(((a == 0) | (w == 0)).mean()) if a.size else 0.0,
        zero_pairs=zero_pair_fraction(a))


# --------------------------------------------------------------------------------- register-level golden
def register_values(cfg, a_bits, w_bits, meta) -> tuple[np.ndarray, np.ndarray]:
    """Unsigned activations and signed weights ``(B, N)`` of 8-bit uniform registers (0 for a reserved code)."""
    layout = decode(cfg, np.asarray(meta, dtype=np.int64))
    return unpack(cfg, a_bits, layout, "a"), unpack(cfg, w_bits, layout, "w")


def sparq_sum(cfg, a_bits, w_bits, meta) -> np.ndarray:
    """Register sums ``(B,)`` of a ``mac = "sparq"`` datapath: bSPARQ (``window``, ``placements``,
    ``rounding`` options) or, with ``vsparq``, vSPARQ pairs of adjacent register elements."""
    a, w = register_values(cfg, a_bits, w_bits, meta)
    window, placements = cfg.architecture.trim_windows(cfg)[0]
    if cfg.option("vsparq"):
        used = vsparq_pairs(a, placements, cfg.option("rounding"))
    else:
        used = bsparq_trim(a, placements, cfg.option("rounding"), window)
    return (used * w).sum(axis=1)


def nbsmt_sum(cfg, a_bits, w_bits, meta) -> np.ndarray:
    """Register sums ``(B,)`` of a ``mac = "nbsmt"`` datapath: groups of ``threads`` adjacent register
    elements share one unit (:func:`nbsmt_values`)."""
    a, w = register_values(cfg, a_bits, w_bits, meta)
    used = nbsmt_values(a, w, cfg.option("threads"), cfg.option("placements"), cfg.option("rounding"))
    return (used * w).sum(axis=1)


# ------------------------------------------------------------------------------------------ zero gating
def gated_lanes(cfg, a_bits, w_bits, meta) -> np.ndarray:
    """``(B, L)`` bool: the lanes zero gating isolates for each register pair (``cfg.zero_gating``): lanes
    (``lane_width`` register bits each; one element per slot in ``element`` mode) whose activation or weight
    bits are all zero under a precision where that is a zero product (:meth:`Config.gateable`)."""
    layout = decode(cfg, np.asarray(meta, dtype=np.int64))
    gateable = np.array([cfg.gateable(p) if p else False for p in range(9)])
    if cfg.precision_mode == "element":
        a, w = unpack(cfg, a_bits, layout, "a"), unpack(cfg, w_bits, layout, "w")
        hit = (layout > 0) & gateable[layout] & ((a == 0) | (w == 0))
        # the aligner fills slots with the register's elements in order: count them per register
        out = np.zeros((len(layout), cfg.slots), dtype=bool)
        for b in range(len(layout)):
            h = hit[b][layout[b] > 0]
            out[b, :len(h)] = h
        return out
    lw = cfg.architecture.lane_width(cfg)
    lanes = cfg.width // lw
    a = np.asarray(a_bits, dtype=np.uint8).reshape(len(layout), lanes, lw).any(axis=2)
    w = np.asarray(w_bits, dtype=np.uint8).reshape(len(layout), lanes, lw).any(axis=2)
    prec = layout[:, np.arange(lanes) * lw // cfg.pmin]
    return (prec > 0) & gateable[prec] & (~a | ~w)

