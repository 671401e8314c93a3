"""Precision metadata: encoding, decoding (the golden precision decoder) and element layouts.

A layout of a batch of ``B`` registers is an int array ``prec`` of shape ``(B, N)``, ``N = width // pmin``:
``prec[b, g]`` is the precision of the element of register ``b`` that starts at bit ``g * pmin``, or 0 where
no element starts. Element order is ascending ``g``. See ``docs/format.md`` section 3.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mixlane.config import Config

__all__ = ["meta_fields", "meta_field_bits", "decode", "encode_meta_ints", "meta_from_ints",
           "pattern_layouts", "uniform_meta", "meta_for_precision", "bits_to_ints", "ints_to_bits"]


def meta_fields(cfg: Config) -> int:
    """Number of code fields in the ``meta`` port."""
    return {"uniform": 1, "pattern": 1, "channel": cfg.lanes, "element": cfg.max_elements}[cfg.precision_mode]


def meta_field_bits(cfg: Config) -> int:
    """Bits of one code field of ``meta``."""
    if cfg.precision_mode in ("uniform", "element"):
        return cfg.code_bits
    if cfg.precision_mode == "channel":
        return 2
    return cfg.meta_bits


def _prec_lut(cfg: Config, width: int, values) -> np.ndarray:
    """Lookup table from a ``width``-bit code to a precision (0 for reserved codes)."""
    lut = np.zeros(1 << width, dtype=np.int64)
    lut[: len(values)] = values
    return lut


@lru_cache(maxsize=64)
def pattern_layouts(cfg: Config) -> np.ndarray:
    """``(2**meta_bits, N)`` layout of every pattern id (rows of zeros for unused ids)."""
    tab = np.zeros((1 << cfg.meta_bits, cfg.max_elements), dtype=np.int64)
    for pid, pat in enumerate(cfg.patterns):
        off = 0
        for p, count in pat:
            for _ in range(count):
                tab[pid, off // cfg.pmin] = p
                off += p
    tab.setflags(write=False)
    return tab


def decode(cfg: Config, meta: np.ndarray) -> np.ndarray:
    """Golden precision decoder: metadata codes ``(B, meta_fields)`` -> layout ``(B, N)``."""
    meta = np.asarray(meta, dtype=np.int64)
    if meta.ndim != 2 or meta.shape[1] != meta_fields(cfg):
        raise ValueError(f"meta: expected shape (B, {meta_fields(cfg)}) for {cfg.precision_mode} mode, "
                         f"got {meta.shape}")
    fb = meta_field_bits(cfg)
    if meta.size and (meta.min() < 0 or meta.max() >= (1 << fb)):
        raise ValueError(f"meta: codes must be in 0..{(1 << fb) - 1}")
    B, N, W, pmin = meta.shape[0], cfg.max_elements, cfg.width, cfg.pmin
    mode = cfg.precision_mode
    g = np.arange(N)
    if mode == "uniform":
        p = _prec_lut(cfg, fb, cfg.precisions)[meta[:, 0]][:, None]          # (B, 1)
        start = g * pmin                                                       # (N,)
        safe = np.maximum(p, 1)
        return np.where((p > 0) & (start % safe == 0) & (start < W), p, 0)
    if mode == "pattern":
        return pattern_layouts(cfg)[meta[:, 0]].copy()
    if mode == "channel":
        p_lane = _prec_lut(cfg, 2, cfg.channel_levels)[meta]                  # (B, L)
        lane_of_g = (g * pmin) // cfg.lane_bits                                # (N,)
        pg = p_lane[:, lane_of_g]                                              # (B, N)
        start_in_lane = (g * pmin) % cfg.lane_bits
        return np.where((pg > 0) & (start_in_lane % np.maximum(pg, 1) == 0), pg, 0)
    # element: back-to-back, stop at the first reserved code or at the first element that does not fit
    p = _prec_lut(cfg, fb, cfg.precisions)[meta]                               # (B, N) by element index
    ok = np.logical_and.accumulate(p > 0, axis=1)
    off = np.cumsum(p, axis=1) - p
    present = ok & (off + p <= W)
    out = np.zeros((B, N), dtype=np.int64)
    rows = np.broadcast_to(np.arange(B)[:, None], (B, N))
    out[rows[present], off[present] // pmin] = p[present]
    return out


def meta_for_precision(cfg: Config, p: int, n: int = 1) -> np.ndarray:
    """Metadata giving as many ``p``-bit elements as the mode allows (``p`` in ``cfg.mode_precisions``)."""
    F = meta_fields(cfg)
    mode = cfg.precision_mode
    if mode in ("uniform", "element"):
        return np.full((n, F), cfg.precisions.index(p), np.int64)
    if mode == "channel":
        return np.full((n, F), cfg.channel_levels.index(p), np.int64)
    counts = [sum(c for q, c in pat if q == p) for pat in cfg.patterns]
    return np.full((n, F), int(np.argmax(counts)), np.int64)


def uniform_meta(cfg: Config, p: int, n: int = 1) -> np.ndarray:
    """Metadata selecting precision ``p`` for ``n`` registers in ``uniform`` mode."""
    return np.full((n, 1), cfg.precisions.index(p), dtype=np.int64)


def encode_meta_ints(cfg: Config, meta: np.ndarray) -> list[int]:
    """Codes ``(B, F)`` -> the ``meta`` port value of each register (field ``f`` at bits ``f*fb``)."""
    fb = meta_field_bits(cfg)
    meta = np.asarray(meta, dtype=np.int64)
    if meta.ndim != 2 or meta.shape[1] != meta_fields(cfg):
        raise ValueError(f"meta: expected shape (B, {meta_fields(cfg)}), got {meta.shape}")
    if meta.size and (meta.min() < 0 or meta.max() >= (1 << fb)):
        raise ValueError(f"meta: codes must be in 0..{(1 << fb) - 1}")
    F = meta.shape[1]
    if F * fb <= 62:
        shifts = (np.arange(F, dtype=np.int64) * fb)
        return [int(v) for v in (meta << shifts).sum(axis=1)]
    bits = ((meta[:, :, None] >> np.arange(fb)) & 1).astype(np.uint8).reshape(meta.shape[0], F * fb)
    return bits_to_ints(bits)


def meta_from_ints(cfg: Config, values) -> np.ndarray:
    """Inverse of :func:`encode_meta_ints`."""
    fb, F = meta_field_bits(cfg), meta_fields(cfg)
    bits = ints_to_bits(values, F * fb).reshape(len(values), F, fb).astype(np.int64)
    return (bits << np.arange(fb)).sum(axis=2)


def bits_to_ints(bits: np.ndarray) -> list[int]:
    """Bit arrays ``(B, W)`` (bit 0 first) -> Python ints, one per row."""
    bits = np.asarray(bits, dtype=np.uint8)
    packed = np.packbits(bits, axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def ints_to_bits(values, width: int) -> np.ndarray:
    """Python ints (non-negative, < 2**width) -> bit arrays ``(B, width)``."""
    nbytes = (width + 7) // 8
    if any(v < 0 or v >> width for v in values):
        raise ValueError(f"values: every value must be in 0..2**{width}-1")
    raw = b"".join(int(v).to_bytes(nbytes, "little") for v in values)
    arr = np.frombuffer(raw, dtype=np.uint8).reshape(len(values), nbytes)
    return np.unpackbits(arr, axis=1, bitorder="little")[:, :width]
