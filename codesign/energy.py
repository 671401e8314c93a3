"""Energy per inference from a ``mixlane synth`` report of the configuration.

The synthesis report measures, per precision, the energy of one clock cycle of back-to-back ACCs
(``energy_per_cycle_pj``, gate-level switching activity). An ACC of the compiled network is charged the mix of
its register: the share of the register's bits at each precision times that precision's energy per cycle, the
unused bits at the cheapest precision's; every other cycle (preload and read-out) the cheapest precision's
energy per cycle. An estimate: the measured workloads are random operands, not the network's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mixlane.config import Config
from mixlane.golden import OP_ACC, decode, op_cycles
from .errors import CodesignError

__all__ = ["load_energy_table", "inference_energy"]


def load_energy_table(path: str | Path, cfg: Config, role: str = "config") -> dict[int, float]:
    """``{precision: pJ per cycle}`` of design ``role`` in the report at ``path`` (must be ``cfg``)."""
    try:
        rep = json.loads(Path(path).read_text())
        design = rep["designs"][role]
        table = {int(p): float(v["energy_per_cycle_pj"]) for p, v in design["precisions"].items()
                 if v.get("energy_per_cycle_pj") is not None}
    except (OSError, ValueError, KeyError, TypeError):
        raise CodesignError(f"--synth-report: {path} is not a `mixlane synth` report.json with power "
                            "figures; run mixlane synth for this configuration") from None
    if design.get("config_hash") != cfg.content_hash:
        raise CodesignError(f"--synth-report: {path} is for configuration {design.get('config_hash')}, not "
                            f"{cfg.content_hash}; synthesize this configuration")
    if not table:
        raise CodesignError(f"--synth-report: {path} has no energy per cycle; run mixlane synth with power")
    return table


def inference_energy(cfg: Config, ops_per_layer: list, table: dict[int, float]) -> dict:
    """Energy of one inference's operations (``ops_per_layer``): ``{"pj": total, "layers": [pJ per layer],
    "pj_per_cycle_mean"}``. Precisions missing from ``table`` are charged at the nearest wider one."""
    precs = sorted(table)
    floor = min(table.values())

    def e(p: int) -> float:
        wider = [q for q in precs if q >= p]
        return table[wider[0]] if wider else table[precs[-1]]

    layers, cycles = [], 0
    for ops in ops_per_layer:
        cyc = op_cycles(cfg, ops.op, ops.meta)
        acc = ops.op == OP_ACC
        layout = decode(cfg, ops.meta[acc])                       # (n_acc, N) precision at element starts
        per_op = np.full(int(acc.sum()), 0.0)
        used = np.zeros(int(acc.sum()))
        for p in np.unique(layout[layout > 0]):
            bits = (layout == p).sum(axis=1) * int(p)
            per_op += bits / cfg.width * e(int(p))
            used += bits
        per_op += (cfg.width - used) / cfg.width * floor
        total = float((per_op * cyc[acc]).sum() + floor * cyc[~acc].sum())
        layers.append(total)
        cycles += int(cyc.sum())
    pj = float(sum(layers))
    return {"pj": pj, "layers": layers, "pj_per_cycle_mean": pj / max(1, cycles)}
