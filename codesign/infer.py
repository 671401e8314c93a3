"""Integer inference of the compiled network on the golden model, and its cost on the datapath."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mixlane.golden import OP_ACC, Ops, op_cycles, run
from .compile import Reduction, layer_ops, plan_reduction
from .integer import IntNetwork, columns, input_codes, requantize

__all__ = ["Inference", "plan", "infer", "LayerCost", "costs", "one_inference"]


def plan(net: IntNetwork) -> list[Reduction]:
    """The reduction order of every layer (raises :class:`CodesignError` when the configuration cannot hold
    a layer's precisions)."""
    return [plan_reduction(net.cfg, i, L) for i, L in enumerate(net.layers)]


@dataclass
class Inference:
    logits: np.ndarray                                  # (N, classes) int64: the classifier's accumulators
    ops: list[Ops] = field(default_factory=list)        # per layer, when collected
    expected: list[np.ndarray] = field(default_factory=list)   # per layer, results in read order


def infer(net: IntNetwork, reds: list[Reduction], x: np.ndarray, *, chunk: int = 64, golden_run: bool = True,
          collect: bool = False) -> Inference:
    """Run ``x`` (float inputs) through the integer network. Every layer's operations are built by the golden
    tensor helpers; with ``golden_run`` they also go through the register-level golden model
    (:func:`mixlane.golden.run`), whose read-outs must equal the tensor-level sums. An architecture whose
    arithmetic approximates (``exact`` false: run-time trimming) always runs the register model, and its
    read-outs are the layer's values. ``collect`` keeps the operations (all layers of all of ``x``, for the
    RTL) and the read-outs the datapath must give."""
    cfg = net.cfg
    exact = cfg.architecture.exact
    logits, all_ops, all_exp = [], [[] for _ in net.layers], [[] for _ in net.layers]
    for s in range(0, len(x), chunk):
        codes = input_codes(net.layers[0], x[s:s + chunk])
        n = len(codes)
        for i, (L, red) in enumerate(zip(net.layers, reds)):
            ops, exp = layer_ops(cfg, L, red, columns(codes, L.spec))
            if golden_run or not exact:
                got = run(cfg, ops).value
                if exact and not np.array_equal(got, exp.ravel()):
                    k = int(np.flatnonzero(got != exp.ravel())[0])
                    raise AssertionError(f"internal: layer {i} read-out {k}: register model {got[k]} != "
                                         f"tensor model {exp.ravel()[k]} (configuration {cfg.content_hash})")
                exp = got.reshape(exp.shape)
            if collect:
                all_ops[i].append(ops)
                all_exp[i].append(exp.ravel())
            acc = exp.reshape(L.spec.cout, n, -1).transpose(1, 0, 2)      # (N, O, P)
            if i + 1 < len(net.layers):
                codes = requantize(net.layers[i + 1], acc)
        logits.append(acc[:, :, 0])
    out = Inference(np.concatenate(logits))
    if collect:
        out.ops = [Ops.concat(o) for o in all_ops]
        out.expected = [np.concatenate(e) for e in all_exp]
    return out


@dataclass
class LayerCost:
    ops: int          # datapath operations per inference
    acc_ops: int      # of which ACC (one register pair each)
    cycles: int       # clock cycles of the operation stream (multi-cycle ACCs counted)
    macs: int         # useful multiply-accumulates
    padding: int      # padding elements per output


def one_inference(net: IntNetwork, reds: list[Reduction], x_one: np.ndarray) -> list[Ops]:
    """The operations of one inference (input ``x_one (1, ...)``), per layer."""
    return infer(net, reds, x_one, golden_run=False, collect=True).ops


def costs(net: IntNetwork, reds: list[Reduction], ops_per_layer: list[Ops]) -> list[LayerCost]:
    """Operations and cycles of one inference, per layer."""
    out = []
    for L, red, ops in zip(net.layers, reds, ops_per_layer):
        cyc = int(op_cycles(net.cfg, ops.op, ops.meta).sum())
        out.append(LayerCost(len(ops), int((ops.op == OP_ACC).sum()), cyc, L.spec.macs, red.padding))
    return out
