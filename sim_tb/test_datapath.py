"""cocotb regression of the generated datapath against the golden model, one test per scenario.

Run through :func:`mixlane.sim_tb.runner.run_regression` (the environment names the configuration,
seed and vector count). Each test appends a JSON line to ``$MIXLANE_SUMMARY``.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
import numpy as np

from mixlane.sim_tb import stimulus
from mixlane.sim_tb.coverage import Coverage, features
from mixlane.sim_tb.runner import VALUES_ENV
from mixlane.sim_tb.testbench import BulkTB, DatapathTB, env_mode, env_settings


async def _scenario(dut, name: str) -> None:
    cfg, seed, vectors, summary = env_settings()
    idle, ready = stimulus.SCENARIOS[name][1:]
    ops = stimulus.build(cfg, name, seed, vectors)
    rng = np.random.default_rng([seed, 1000 + list(stimulus.SCENARIOS).index(name)])
    t0 = time.perf_counter()
    mode = env_mode()
    tb = BulkTB(dut, cfg) if mode == "bulk" else DatapathTB(dut, cfg)
    out = await tb.run(ops, rng, idle, ready)
    wall = time.perf_counter() - t0
    macs = stimulus.lane_macs(cfg, ops)
    cov = Coverage(cfg)
    cov.sample(features(cfg, ops, out["golden"], out["op_stats"]))
    if os.environ.get("MIXLANE_COVERAGE_YAML"):
        Coverage.export(os.environ["MIXLANE_COVERAGE_YAML"])
    if os.environ.get(VALUES_ENV):
        np.save(os.environ[VALUES_ENV], np.array(out["values"], dtype=object), allow_pickle=True)
    if summary:
        with open(summary, "a") as fh:
            fh.write(json.dumps({"scenario": name, "mode": mode, "ops": len(ops), "results": out["results"],
                                 "expected": out["expected"], "lane_macs": macs, "cycles": out["cycles"],
                                 "busy_cycles": out["busy_cycles"], "cycle_mismatches": out["cycle_mismatches"],
                                 "seconds": wall, "mismatches": out["mismatches"], "digest": out["digest"],
                                 "coverage": cov.hits(),
                                 "phases": out.get("phases", {})}) + "\n")
    assert out["mismatches"] == 0, (
        f"scenario {name}: configuration {cfg.content_hash} {json.dumps(cfg.to_dict(), sort_keys=True)}, "
        f"seed {seed}\n{out['report']}")


@cocotb.test()
async def random(dut):
    """Constrained-random tensors, back-to-back operations."""
    await _scenario(dut, "random")


@cocotb.test()
async def random_stalls(dut):
    """Constrained-random with idle input cycles and output back-pressure."""
    await _scenario(dut, "random_stalls")


@cocotb.test()
async def corners(dut):
    """Range ends per precision, every metadata code, all-ones/zeros, out-of-range selector."""
    await _scenario(dut, "corners")


@cocotb.test()
async def overflow(dut):
    """Accumulator overflow in both directions under the configured policy."""
    await _scenario(dut, "overflow")


@cocotb.test()
async def exhaustive(dut):
    """Every operand pair of every precision up to 4 bits."""
    await _scenario(dut, "exhaustive")


@cocotb.test()
async def tensor(dut):
    """A convolution or matrix-vector layer packed by the golden tensor helpers."""
    await _scenario(dut, "tensor")


@cocotb.test()
async def dense(dut):
    """Constrained-random with registers mostly ones: the deep carries of the adder trees."""
    await _scenario(dut, "dense")


@cocotb.test()
async def file(dut):
    """Operations from ``$MIXLANE_OPS_FILE`` (e.g. every layer of a compiled network), back to back."""
    await _scenario(dut, "file")


@cocotb.test()
async def throughput(dut):
    """Back-to-back ACCs at 2-bit precision (benchmark scenario; not in the default regression)."""
    await _scenario(dut, "throughput")


@cocotb.test()
async def activations(dut):
    """Every activation value of the widest precision alone, in every element and among random partners."""
    await _scenario(dut, "activations")


@cocotb.test()
async def zeros0(dut):
    """Output tiles of random registers with no zero activations forced."""
    await _scenario(dut, "zeros0")


@cocotb.test()
async def zeros50(dut):
    """Output tiles of random registers, half of the activations zero."""
    await _scenario(dut, "zeros50")


@cocotb.test()
async def zeros80(dut):
    """Output tiles of random registers, 80% of the activations zero."""
    await _scenario(dut, "zeros80")
