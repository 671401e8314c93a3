"""The golden accumulator's whole-batch path equals its step-by-step reference."""

from __future__ import annotations

import numpy as np
import pytest

from mixlane.config import PRESETS, preset, random_config
from mixlane.golden import run
from mixlane.sim_tb import stimulus

CASES = [(name, sc) for name in PRESETS for sc in ("random", "overflow", "corners")]


def _same(cfg, ops, acc=None):
    fast, slow = run(cfg, ops, acc), run(cfg, ops, acc, vectorised=False)
    assert fast.index.tolist() == slow.index.tolist() and fast.sel.tolist() == slow.sel.tolist()
    assert [int(v) for v in fast.value] == [int(v) for v in slow.value]
    assert [int(v) for v in fast.final] == [int(v) for v in slow.final]
    if slow.overflow is not None:
        assert fast.overflow.tolist() == slow.overflow.tolist()


@pytest.mark.parametrize("name, scenario", CASES)
def test_batch_equals_steps(name, scenario):
    cfg = preset(name)
    _same(cfg, stimulus.build(cfg, scenario, 5, 400))


@pytest.mark.parametrize("seed", range(8))
def test_batch_equals_steps_random_configs(seed):
    cfg = random_config(seed, mode=("uniform", "pattern", "channel", "element")[seed % 4], max_width=64)
    cfg = cfg.replace(overflow="wrap", outputs=1 + seed % 3)
    ops = stimulus.build(cfg, "random", seed, 300)
    rng = np.random.default_rng(seed)
    _same(cfg, ops, acc=[int(v) for v in rng.integers(-100, 100, cfg.outputs)])
    _same(cfg, stimulus.build(cfg, "overflow", seed, 0))


@pytest.mark.parametrize("name", list(PRESETS))
def test_register_sums_by_code_equal_the_unpacked_products(name):
    """The per-code fast path of register_sum (uniform, pattern) against unpack + multiply + sum."""
    from mixlane.golden import decode, register_sum, unpack

    cfg = preset(name)
    for scenario in ("random", "corners", "throughput"):
        ops = stimulus.build(cfg, scenario, 3, 300)
        layout = decode(cfg, ops.meta)
        ref = (unpack(cfg, ops.a, layout, "a") * unpack(cfg, ops.w, layout, "w")).sum(axis=1)
        assert register_sum(cfg, ops.a, ops.w, ops.meta).tolist() == ref.tolist()
