"""Functional coverage of a verify run, with ``cocotb-coverage``.

The model (:func:`coverage_model`) is built from the configuration; every accepted operation of every
scenario is sampled after the run, from the stimulus (codes, operand values), the golden model (accumulator
overflow) and what the run observed (cycles held by back-pressure, idle cycles before the offer). Items:

- ``codes``: every value of every metadata field (uniform/pattern: the code; channel: (lane, code); element: a
  code anywhere in the register), reserved codes included, on ACC operations.
- ``corners``: per precision the operand range ends (``a_min``, ``a_max``, ``w_min``, ``w_max``) and the two
  extreme products (``a_min*w_min``, ``a_max*w_min``) in one element pair.
- ``sequence``: (previous operation on the same accumulator, operation), and ``order``: (previous operation in
  the stream, operation) -- READ after LOAD, back-to-back READ_LOAD, ...
- ``stalls``: each operation kind held by output back-pressure, and offered after idle input cycles.
- ``accumulator``: an ACC whose exact sum leaves the accumulator range upwards / downwards (wrapped or
  saturated), when the architecture's golden accumulator reports it.
- ``lane``: the architecture's own cases of its lane arithmetic (:meth:`Architecture.coverage_bins`, e.g.
  every window position and collision count of the run-time trimming lanes), on ACC operations.

Operations with equal features are sampled once (``cocotb-coverage`` walks every bin per sample); the exact hit
counts are kept separately (:meth:`Coverage.hits`). The runner merges the scenarios into ``coverage_<sim>.json``
(documented in ``docs/verification.md``).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from mixlane.config import Config
from mixlane.golden import OP_ACC, OP_NAMES, Ops, Results, decode, meta_field_bits, meta_fields, unpack

__all__ = ["ITEMS", "coverage_model", "features", "Coverage", "merge_hits", "summarize"]

ITEMS = ("codes", "corners", "sequence", "order", "stalls", "accumulator", "lane")
CORNERS = ("a_min", "a_max", "w_min", "w_max", "a_min*w_min", "a_max*w_min")
OPS = tuple(OP_NAMES)


def _label(item: str, b) -> str:
    if item == "codes":
        return f"code {b[1]}" if b[0] is None else f"field {b[0]} code {b[1]}"
    if item == "corners":
        return f"{b[0]}b {b[1]}"
    if item in ("sequence", "order"):
        return f"{OP_NAMES[b[0]]}>{OP_NAMES[b[1]]}"
    if item == "stalls":
        return f"{OP_NAMES[b[0]]} {b[1]}"
    return str(b)


def coverage_model(cfg: Config) -> dict[str, list]:
    """Bins of every item for ``cfg`` (hashable bin values, in a fixed order)."""
    F, fb = meta_fields(cfg), meta_field_bits(cfg)
    fields = [None] if cfg.precision_mode == "element" else range(F)
    model = {
        "codes": [(f, c) for f in fields for c in range(1 << fb)],
        "corners": [(p, k) for p in cfg.mode_precisions for k in CORNERS],
        "sequence": [(a, b) for a in OPS for b in OPS],
        "order": [(a, b) for a in OPS for b in OPS],
        "stalls": [(op, kind) for op in OPS for kind in ("held", "after_idle")],
        "accumulator": ([f"{cfg.overflow}_up", f"{cfg.overflow}_down"]
                        if getattr(cfg.architecture.accumulator_model(), "reports_overflow", False) else []),
        "lane": list(cfg.architecture.coverage_bins(cfg)),
    }
    return model


def _corner_masks(cfg: Config, ops: Ops) -> np.ndarray:
    """``(B,)`` int bit masks: bit ``j`` set when the operation holds corner bin ``j`` of ``coverage_model``."""
    layout = decode(cfg, ops.meta)
    va, vw = unpack(cfg, ops.a, layout, "a"), unpack(cfg, ops.w, layout, "w")
    mask = np.zeros(len(ops), np.int64)
    j = 0
    for p in cfg.mode_precisions:
        at = layout == p
        lo_a, hi_a = cfg.element_range(p, "a")
        lo_w, hi_w = cfg.element_range(p, "w")
        conds = (va == lo_a, va == hi_a, vw == lo_w, vw == hi_w, (va == lo_a) & (vw == lo_w),
                 (va == hi_a) & (vw == lo_w))
        for cond in conds:
            mask |= (at & cond).any(axis=1).astype(np.int64) << j
            j += 1
    return mask


def _previous(op: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Per operation, the previous operation with the same ``key`` (-1 for the first)."""
    prev = np.full(len(op), -1, np.int64)
    last: dict[int, int] = {}
    for i, (o, k) in enumerate(zip(op.tolist(), key.tolist())):
        prev[i] = last.get(k, -1)
        last[k] = o
    return prev


def features(cfg: Config, ops: Ops, expected: Results, op_stats: np.ndarray) -> dict[str, list]:
    """Per item, one sample value per accepted operation that the item applies to."""
    n = len(op_stats)
    ops = ops[:n]
    op = ops.op.astype(np.int64)
    acc = op == OP_ACC
    out: dict[str, list] = {}
    meta = ops.meta[acc]
    out["codes"] = [tuple(row) for row in meta.tolist()]
    out["corners"] = _corner_masks(cfg, ops[np.nonzero(acc)[0]]).tolist()
    prev_same, prev_any = _previous(op, ops.sel.astype(np.int64)), np.concatenate([[-1], op[:-1]])
    out["sequence"] = [(a, b) for a, b in zip(prev_same.tolist(), op.tolist()) if a >= 0]
    out["order"] = [(a, b) for a, b in zip(prev_any.tolist(), op.tolist()) if a >= 0]
    out["stalls"] = list(zip(op.tolist(), (op_stats[:, 1] > 0).tolist(), (op_stats[:, 2] > 0).tolist()))
    ovf = expected.overflow
    out["accumulator"] = [] if ovf is None else ovf[:n][acc].tolist()
    out["lane"] = (cfg.architecture.coverage_events(cfg, ops.a[acc], ops.w[acc], ops.meta[acc])
                   if acc.any() and cfg.architecture.coverage_bins(cfg) else [])
    return out


def _relation(cfg: Config, item: str, model: dict[str, list]):
    if item == "codes":
        return lambda v, b: (b[1] in v) if b[0] is None else v[b[0]] == b[1]
    if item == "corners":
        index = {b: j for j, b in enumerate(model["corners"])}
        return lambda v, b: bool(v >> index[b] & 1)
    if item == "stalls":
        return lambda v, b: v[0] == b[0] and v[1 if b[1] == "held" else 2]
    if item == "accumulator":
        return lambda v, b: v == (1 if b.endswith("_up") else -1)
    if item == "lane":
        return lambda v, b: b in v
    return lambda v, b: v == b


class Coverage:
    """The model of one configuration in ``cocotb-coverage`` (``coverage_db`` items ``mixlane.<item>``),
    and exact hit counts per bin."""

    def __init__(self, cfg: Config):
        from cocotb_coverage.coverage import CoverPoint, coverage_section

        self.cfg = cfg
        self.model = coverage_model(cfg)
        self._hits = {item: Counter() for item in ITEMS}
        self._sample, self._rel = {}, {}
        for item, bins in self.model.items():
            if not bins:
                continue
            self._rel[item] = _relation(cfg, item, self.model)
            point = CoverPoint(f"mixlane.{item}", vname="value", rel=self._rel[item],
                               bins=bins, bins_labels=[_label(item, b) for b in bins], inj=False)
            self._sample[item] = coverage_section(point)(lambda value: None)

    def sample(self, feats: dict[str, list]) -> None:
        """Sample every distinct value once in ``cocotb-coverage``; count every bin hit exactly."""
        for item, values in feats.items():
            if item not in self._sample:
                continue
            rel, bins = self._rel[item], self.model[item]
            for value, count in Counter(values).items():
                self._sample[item](value)
                for b in bins:
                    if rel(value, b):
                        self._hits[item][_label(item, b)] += count

    def hits(self) -> dict[str, dict[str, int]]:
        """``{item: {bin label: hits}}`` over every bin of the model (0 for missed bins)."""
        return {item: {_label(item, b): self._hits[item][_label(item, b)] for b in bins}
                for item, bins in self.model.items() if bins}

    @staticmethod
    def export(path: str) -> None:
        """The ``cocotb-coverage`` database as YAML (its own format)."""
        from cocotb_coverage.coverage import coverage_db

        coverage_db.export_to_yaml(filename=path)


def merge_hits(per_scenario: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    """Sum the hit counts of several runs of one model."""
    out: dict[str, dict[str, int]] = {}
    for hits in per_scenario:
        for item, bins in hits.items():
            dst = out.setdefault(item, {})
            for label, n in bins.items():
                dst[label] = dst.get(label, 0) + n
    return out


def summarize(hits: dict[str, dict[str, int]]) -> dict:
    """``{"coverage": percent, "items": {item: {"coverage", "bins", "hit", "missing": [labels], "hits"}}}``."""
    items = {}
    total = hit = 0
    for item, bins in hits.items():
        missing = [label for label, n in bins.items() if n == 0]
        items[item] = {"coverage": 100.0 * (len(bins) - len(missing)) / len(bins), "bins": len(bins),
                       "hit": len(bins) - len(missing), "missing": missing, "hits": bins}
        total += len(bins)
        hit += len(bins) - len(missing)
    return {"coverage": 100.0 * hit / total if total else 100.0, "bins": total, "hit": hit, "items": items}
