"""Co-design: data, model specs, integer semantics, precision assignment, compilation, dataflow, the whole
flow with a few images on the RTL (Icarus), and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("jax", reason="co-design needs the optional extra mixlane[codesign]")

from mixlane.cli import main
from mixlane.codesign import CodesignError, assign, dataflow, integer, model
from mixlane.codesign.compile import plan_reduction
from mixlane.codesign.data import load
from mixlane.codesign.flow import Options, codesign
from mixlane.codesign.infer import infer, plan
from mixlane.codesign.rtl import mismatching_images
from mixlane.config import PRESETS, Config, preset
from networks import random_network

CH3 = preset("channel-3level")


def test_digits_split_is_deterministic_and_scaled():
    a, b = load("digits", seed=3), load("digits", seed=3)
    assert np.array_equal(a.x_test, b.x_test) and a.x_train.shape[1:] == (1, 8, 8)
    assert len(a.x_train) + len(a.x_test) == 1797 and a.classes == 10
    assert 0.0 <= a.x_train.min() and a.x_train.max() <= 1.0
    w = load("wine")
    assert w.x_train.ndim == 2 and w.x_test.min() >= 0.0 and w.x_test.max() <= 1.0 and w.classes == 3


def test_model_specs():
    layers = model.parse_model("cnn:4,8s2", (1, 8, 8), 10)
    assert [L.describe() for L in layers] == ["conv3x3/1 1->4", "conv3x3/2 4->8", "dense 32->10"]
    assert layers[1].out_shape == (8, 2, 2) and layers[2].cin == 32
    assert [L.describe() for L in model.parse_model("mlp:16,8", (13,), 3)] == ["dense 13->16", "dense 16->8",
                                                                               "dense 8->3"]
    for bad in ("cnn", "rnn:4", "cnn:4,x", "mlp:4s2", "cnn:4s0"):
        with pytest.raises(CodesignError, match="--model"):
            model.parse_model(bad, (1, 8, 8), 10)
    with pytest.raises(CodesignError, match="below one pixel"):
        model.parse_model("cnn:4,4,4,4", (1, 8, 8), 10)


def _random_network(cfg: Config, seed: int = 0):
    """A small CNN with random weights and steps, precisions drawn from the configuration's mode."""
    return random_network(cfg, seed)


def _reference_logits(net, x):
    """The integer network computed directly from step counts (no packing, no golden model)."""
    L0 = net.layers[0]
    b = np.clip(np.floor(x / L0.s_a.reshape(1, -1, 1, 1) + 0.5), 0, L0.a_hi.reshape(1, -1, 1, 1)).astype(np.int64)
    for i, L in enumerate(net.layers):
        u = b * np.where(L.a_bipolar, 2, 1).reshape((1, -1) + (1,) * (b.ndim - 2))    # u = b / g
        cols = integer.patches(u, L.spec)                                            # (N, C, taps, P)
        n = len(cols)
        bq = L.preload - (L.w * np.repeat(L.a_bipolar, L.spec.taps)[None, :]).sum(axis=1)
        acc = np.einsum("ok,nkp->nop", L.w, cols.reshape(n, -1, cols.shape[3])) + bq[None, :, None]
        if i + 1 == len(net.layers):
            return acc[:, :, 0]
        nxt = net.layers[i + 1]
        flat = acc.reshape(n, -1) if nxt.spec.kind == "dense" else acc
        shape = (1, -1) if nxt.spec.kind == "dense" else (1, -1, 1)
        sh = nxt.shift.reshape(shape)
        b = np.clip((flat * nxt.mult.reshape(shape) + (1 << (sh - 1))) >> sh, 0, nxt.a_hi.reshape(shape))
        if nxt.spec.kind == "conv":
            b = b.reshape((n,) + nxt.spec.in_shape)


EXACT_PRESETS = [n for n, (_, c) in PRESETS.items() if c.architecture.exact]   # trimming ones: see below


@pytest.mark.parametrize("name", EXACT_PRESETS)
def test_integer_network_on_the_golden_model_matches_a_direct_reference(name):
    """Packing (reordering, padding, bipolar folding) and the register-level golden model give the integer
    network's exact logits on every mode."""
    cfg = preset(name)
    layers, params, steps, prec = _random_network(cfg, seed=len(name))
    net = integer.to_integer(cfg, layers, params, steps, prec)
    x = load("digits").x_test[:6]
    got = infer(net, plan(net), x, golden_run=True).logits
    assert np.array_equal(got, _reference_logits(net, x)), (name, got, _reference_logits(net, x))


@pytest.mark.parametrize("name", EXACT_PRESETS)
def test_quantization_aware_forward_follows_the_integer_network(name):
    """The training forward and the exported integer network give the same logits (biases included)."""
    cfg = preset(name)
    layers, params, steps, prec = _random_network(cfg, seed=5)
    quants = [model.layer_quant(cfg, p) for p in prec]
    x = load("digits").x_test[:64]
    q = np.asarray(model.quant_forward(layers, quants, params, steps, x))
    net = integer.to_integer(cfg, layers, params, steps, prec)
    logits = infer(net, plan(net), x, golden_run=False).logits
    sw = float(np.exp(steps[-1]["log_sw"][0]))
    assert np.mean(np.isclose(q, logits * sw, rtol=1e-5, atol=1e-3 * sw)) > 0.99
    assert np.mean(q.argmax(1) == logits.argmax(1)) > 0.98


def test_assignment_meets_the_budget_and_the_mode():
    rng = np.random.default_rng(1)
    layers = model.parse_model("cnn:4,8s2", (1, 8, 8), 10)
    sens = [np.sort(rng.uniform(0, 1, (L.cin, 3)), axis=1)[:, ::-1] for L in layers]
    choices = CH3.mode_precisions
    a = assign.assign_precisions(CH3, layers, sens, 2.5, choices, per_channel=True)
    assert a.mean_bits <= 2.5 and a.weights == sum(L.weights for L in layers)
    assert a.weight_bits == sum(int((p * L.cout * L.taps).sum()) for p, L in zip(a.prec, layers))
    u = assign.assign_precisions(CH3, layers, sens, 2.5, choices, per_channel=False)
    assert all(len(set(p.tolist())) == 1 for p in u.prec) and u.mean_bits <= 2.5
    full = assign.assign_precisions(CH3, layers, sens, 9, choices, per_channel=True)
    assert all((p == 4).all() for p in full.prec)
    with pytest.raises(CodesignError, match="the narrowest precision this configuration allows"):
        assign.assign_precisions(CH3, layers, sens, 0.5, choices, per_channel=True)


def test_patterns_that_cannot_hold_a_layer_are_reported():
    cfg = Config(precision_mode="pattern", patterns=(((4, 16), (2, 32)),))
    layers, params, steps, _ = _random_network(cfg)
    net = integer.to_integer(cfg, layers, params, steps, [np.full(L.cin, 4) for L in layers])
    with pytest.raises(CodesignError, match="do not fit this configuration's patterns"):
        plan_reduction(cfg, 1, net.layers[1])     # 27 4-bit elements: the pattern wants 2-bit after 16
    sysmol = preset("pattern-sysmol")       # pure 4/2/1-bit patterns: runs are padded to whole registers
    net = integer.to_integer(sysmol, layers, params, steps, [np.array([4] * (L.cin - 1) + [1]) for L in layers])
    assert any(r.padding for r in plan(net))


def test_dataflow_counts():
    # one output channel, 3 pixels, 2 registers each, 1 accumulator
    os_ = dataflow.traffic("output", 1, 3, 2, 1)
    assert (os_.a_loads, os_.w_loads, os_.acc_fills, os_.acc_spills, os_.result_reads) == (6, 6, 0, 0, 3)
    ws = dataflow.traffic("weight", 1, 3, 2, 1)     # hold w(0, r), sweep pixels: partial sums spill
    assert (ws.w_loads, ws.a_loads, ws.acc_spills, ws.acc_fills) == (2, 6, 3, 3)
    assert dataflow.traffic("weight", 1, 3, 2, 4).acc_spills == 0
    assert dataflow.compare(32, 9, 3, 4)["best"] == "output"


def test_logit_comparison_counts_images():
    logits = np.array([[1, 2, 3], [4, 5, 6]])             # 2 images, 3 classes; read class-major
    values = [9, 9] + [1, 4, 2, 5, 3, 6]
    assert mismatching_images(values, 8, logits) == 0
    assert mismatching_images(values[:-1] + [7], 8, logits) == 1
    assert mismatching_images(values[:-1], 8, logits) == 2 and mismatching_images(values[:-1] + [None], 8, logits) == 2


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("codesign")
    opts = Options(model="cnn:4,8s2", epochs=3, qat_epochs=2, test_limit=40, calibration=128, rtl_images=2)
    return codesign(CH3, opts, out, log=lambda s: None), out


def test_codesign_flow_end_to_end(small_run):
    rep, out = small_run
    assert rep["status"] == "ok" and (out / "report.md").exists() and (out / "codesign.png").stat().st_size > 0
    disk = json.loads((out / "report.json").read_text())
    for key in ("fp32", "int8", "mixed"):
        assert 0.0 <= disk["accuracy"][key] <= 1.0
    assert disk["compression"]["vs_fp32"] >= 32 / 2.5 - 1e-9       # default budget 2.5 bits
    assert disk["model"]["layers"] == ["conv3x3/1 1->4", "conv3x3/2 4->8", "dense 32->10"]
    assert disk["cycles"]["config"] < disk["cycles"]["int8_baseline"]
    assert disk["rtl"]["images_checked"] == 2 and disk["rtl"]["mismatches"] == 0
    assert disk["rtl"]["result_mismatches"] == 0 and disk["rtl"]["results_checked"] > 2 * 10
    assert sum(h["channels"].get("4", 0) for h in disk["precisions"]) > 0
    assert {r["dataflow"]["best"] for r in disk["layers"]} <= set(dataflow.ORDERS)


@pytest.mark.parametrize("args, message", [
    (["--dataset", "mnist"], "is not a bundled dataset"),
    (["--budget", "0.5"], "the narrowest precision this configuration allows"),
    (["--set", "acc_width=13"], "cannot hold layer"),
    (["--model", "cnn:"], "is not a model spec"),
    (["--seed", "-1"], "--seed"),
    (["--budget", "inf"], "--budget"),
    (["--synth-report", "/nonexistent/report.json"], "--synth-report"),
])
def test_bad_input_is_one_line(tmp_path, capsys, args, message):
    assert main(["codesign", "--preset", "channel-3level", *args, "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_energy_per_inference_from_a_synth_report(tmp_path):
    from mixlane.codesign.energy import inference_energy, load_energy_table
    from mixlane.codesign.infer import one_inference

    layers, params, steps, prec = _random_network(CH3, seed=2)
    net = integer.to_integer(CH3, layers, params, steps, prec)
    ops = one_inference(net, plan(net), load("digits").x_test[:1])
    cycles = sum(len(o) for o in ops)
    path = tmp_path / "report.json"
    per = {"1": {"energy_per_cycle_pj": 1.0}, "2": {"energy_per_cycle_pj": 2.0}, "4": {"energy_per_cycle_pj": 4.0}}
    path.write_text(json.dumps({"designs": {"config": {"config_hash": CH3.content_hash, "precisions": per}}}))
    table = load_energy_table(path, CH3)
    assert table == {1: 1.0, 2: 2.0, 4: 4.0}
    assert inference_energy(CH3, ops, {1: 1.0, 2: 1.0, 4: 1.0})["pj"] == pytest.approx(cycles)
    e = inference_energy(CH3, ops, table)
    assert cycles < e["pj"] < 4.0 * cycles and len(e["layers"]) == len(ops)
    with pytest.raises(CodesignError, match="is for configuration"):
        load_energy_table(path, preset("default"))


def test_an_architecture_without_scalar_read_outs_is_reported_not_run(tmp_path):
    cfg = Config(mac="sum_apart", precision_mode="channel", channel_levels=(1, 2, 4))
    opts = Options(model="cnn:2,4s2", epochs=1, qat_epochs=1, test_limit=20, calibration=64, rtl_images=0)
    rep = codesign(cfg, opts, tmp_path, log=lambda s: None)
    assert rep["status"] == "unrepresentable" and "scalar read-out" in rep["reason"]
    assert rep["accuracy"]["mixed"] is None and 0 <= rep["accuracy"]["int8"] <= 1
    assert "Not representable" in (tmp_path / "report.md").read_text()


def test_mlp_on_images_and_tabular_data(tmp_path):
    opts = Options(model="mlp:8", epochs=2, qat_epochs=1, test_limit=30, calibration=64, rtl_images=0)
    rep = codesign(CH3, opts, tmp_path / "digits", log=lambda s: None)
    assert rep["status"] == "ok" and rep["model"]["layers"] == ["dense 64->8", "dense 8->10"]
    rep = codesign(CH3, Options(dataset="wine", epochs=2, qat_epochs=1, rtl_images=0), tmp_path / "wine",
                   log=lambda s: None)
    assert rep["status"] == "ok" and rep["dataset"]["classes"] == 3 and rep["model"]["spec"] == "mlp:32"


def test_weight_steps_ignore_the_side_a_code_cannot_reach():
    """Unipolar 1-bit weights hold 0 or 1: negative weights must not drive the step to infinity (a preset whose
    classifier trained to chance level before this was fixed)."""
    cfg = preset("multi-output")                          # binary = unipolar
    layers = model.parse_model("mlp:4", (6,), 3)
    params = model.init_params(layers, 0)
    x = np.random.default_rng(0).uniform(0, 1, (32, 6)).astype(np.float32)
    inputs = model.layer_inputs(layers, params, x)
    steps = assign.fit_steps(cfg, layers, params, inputs, [np.full(L.cin, 1) for L in layers])
    for L, p, s in zip(layers, params, steps):
        sw = np.exp(s["log_sw"])
        assert np.all(np.isfinite(sw)) and sw.max() <= np.abs(p["w"]).max() * np.exp(s["log_sa"]).max() * 2


def test_trimming_architecture_runs_the_network_as_its_datapath_computes(tmp_path):
    """NB-SMT (4 threads): the network's layer values are the golden register model's trimmed read-outs
    (not the exact sums), and the Verilog gives the same read-outs for an image."""
    cfg = Config(precisions=(8,), mac="nbsmt", mac_options={"threads": 4})
    layers, params, steps, prec = _random_network(cfg, seed=3)
    net = integer.to_integer(cfg, layers, params, steps, prec)
    x = load("digits").x_test[:6]
    got = infer(net, plan(net), x, golden_run=False).logits
    exact = _reference_logits(net, x)
    assert not np.array_equal(got, exact)
    assert np.abs(got - exact).max() < 0.25 * np.abs(exact).max()
    opts = Options(model="cnn:4,8s2", epochs=2, qat_epochs=1, test_limit=30, calibration=64, rtl_images=1)
    rep = codesign(cfg, opts, tmp_path, log=lambda s: None)
    assert rep["status"] == "ok" and rep["rtl"]["passed"] and rep["rtl"]["results_checked"] > 0
    assert 0 <= rep["accuracy"]["mixed"] <= 1 and 0 <= rep["accuracy"]["int8"] <= 1
