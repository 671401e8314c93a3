"""The co-design run as a library call: :func:`codesign` (``mixlane codesign`` is a thin wrapper).

Data -> float training -> per-channel precisions under a bit budget (Fisher sensitivity) -> quantization-aware
fine-tuning with the configuration's integer semantics -> integer network -> inference of the whole test set on
the golden model -> a sample of images on the generated RTL -> report. The same float network is fine-tuned for
the INT8 baseline datapath of the same width (``int8_baseline``) for the accuracy and cycle comparisons.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from mixlane.config import Config
from . import assign, data, infer, integer, model, train
from .errors import CodesignError

__all__ = ["Options", "Quantized", "Stage", "StageContext", "codesign", "default_budget", "int8_baseline",
           "train_float", "quantize"]


@dataclass(frozen=True)
class Options:
    """Everything a run takes besides the configuration (validated by :meth:`checked`)."""

    dataset: str = "digits"
    model: str | None = None          # default: model.default_model()
    budget: float | None = None       # mean weight bits; default: default_budget(cfg)
    epochs: int = 80                  # float training passes
    qat_epochs: int = 60              # quantization-aware fine-tuning passes
    lr: float = 3e-3
    qat_lr: float = 5e-4
    seed: int = 0
    calibration: int = 512            # training images for steps and sensitivities
    test_limit: int | None = None     # evaluate on the first N test samples (tests); None: all
    golden_run: bool = True           # also run the register-level golden model on the whole test set
    rtl_images: int = 20              # images through the Verilog (0: none)
    sim: str = "icarus"
    rtl_mode: str = "bulk"
    synth_report: str | None = None   # a `mixlane synth` report.json of this configuration: energy per inference

    def checked(self) -> "Options":
        for name in ("epochs", "qat_epochs", "calibration", "rtl_images"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < (1 if name == "calibration" else 0):
                raise CodesignError(f"--{name.replace('_', '-')}: {getattr(self, name)!r} is not allowed; "
                                    "use a non-negative integer")
        if self.budget is not None and not (isinstance(self.budget, (int, float)) and 0 < self.budget < 1e6):
            raise CodesignError(f"--budget: {self.budget!r} is not allowed; use mean weight bits > 0, e.g. 3")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise CodesignError(f"--seed: {self.seed!r} is not allowed; use a non-negative integer")
        from mixlane.sim_tb.runner import SIMULATORS

        if self.sim not in SIMULATORS:
            raise CodesignError(f"--sim: {self.sim!r} is not supported; use one of {list(SIMULATORS)}")
        if self.synth_report is not None and not Path(self.synth_report).is_file():
            raise CodesignError(f"--synth-report: {self.synth_report!r} not found; pass the report.json of "
                                "`mixlane synth` for this configuration")
        return self


def default_budget(cfg: Config) -> float:
    """Mean weight bits when none is given: 5/8 of the widest precision the mode holds (2.5 bits for 1/2/4-bit
    configurations, 8 for INT8), at least the narrowest."""
    return max(float(min(cfg.mode_precisions)), 0.625 * max(cfg.mode_precisions))


def int8_baseline(cfg: Config) -> Config:
    """The INT8 baseline datapath of the same width: plain 8x8 multipliers (unsigned x signed)."""
    return Config(width=cfg.width, precisions=(8,), mac="conventional")


@dataclass
class Quantized:
    """One configuration's quantized network and its results; ``unrepresentable`` names why the
    configuration cannot run it (then only the fields before it are set)."""

    cfg: Config
    assignment: assign.Assignment
    accuracy: float = float("nan")
    unrepresentable: str = ""
    net: integer.IntNetwork | None = None
    reds: list = field(default_factory=list)
    costs: list = field(default_factory=list)
    ops_one: list = field(default_factory=list)     # operations of one inference, per layer
    logits: np.ndarray | None = None
    seconds: float = 0.0


@dataclass
class StageContext:
    """What a :class:`Stage` gets: the configuration, the data, both quantized networks and their results."""

    cfg: Config
    ds: data.Dataset
    mixed: Quantized
    int8: Quantized
    opts: Options
    out: Path
    log: Callable[[str], None]


@dataclass(frozen=True)
class Stage:
    """A step after the golden and RTL runs that adds one section ``name`` to the report: ``run(context)`` returns
    the section (JSON-able, with ``mismatches`` when it checks results), ``markdown(section)`` its lines in
    ``report.md``; ``check(cfg)``, called before any training, raises a one-line error when the stage cannot run
    (a missing tool, a configuration it cannot take). The processor target registers one (``mixlane codesign
    --soc-images``)."""

    name: str
    run: Callable[[StageContext], dict]
    markdown: Callable[[dict], list[str]]
    check: Callable[[Config], None] | None = None


def train_float(layers: list[model.LayerSpec], ds: data.Dataset, opts: Options) -> tuple[list[dict], float]:
    """Float parameters and their test accuracy."""
    def fwd(t, _, x):
        return model.float_forward(layers, t["params"], x)
    p = model.init_params(layers, opts.seed)
    tr = train.fit(fwd, {"params": p}, None, ds.x_train, ds.y_train, epochs=opts.epochs, lr=opts.lr,
                   seed=opts.seed, weight_decay=1e-4)
    return tr["params"], train.accuracy(fwd, tr, None, ds.x_test, ds.y_test)


def _choices(cfg: Config) -> tuple[tuple[int, ...], bool]:
    """Precisions a channel may take, and whether channels of one reduction may differ."""
    return tuple(cfg.mode_precisions), cfg.mixes_in_reduction


def _unrepresentable(cfg: Config, layers, params, steps, prec) -> str:
    """Why ``cfg`` cannot run the network at precisions ``prec`` (before fine-tuning), or ``""``."""
    if not cfg.architecture.scalar_readout:
        return (f"mac = {cfg.mac!r} reads out partial sums per subword, not one sum per output; co-design needs "
                "a scalar read-out")
    net = integer.to_integer(cfg, layers, params, steps, prec)
    try:
        infer.plan(net)
    except CodesignError as exc:
        return str(exc)
    return ""


def quantize(cfg: Config, layers: list[model.LayerSpec], params: list[dict], ds: data.Dataset, budget: float,
             opts: Options, log: Callable[[str], None] = print) -> Quantized:
    """Assign precisions, fine-tune, export and run the whole test set on the golden model."""
    t0 = time.perf_counter()
    choices, per_channel = _choices(cfg)
    cal_x, cal_y = ds.x_train[: opts.calibration], ds.y_train[: opts.calibration]
    inputs = model.layer_inputs(layers, params, cal_x)
    sens = assign.sensitivities(cfg, layers, params, inputs, cal_y, choices)
    asg = assign.assign_precisions(cfg, layers, sens, budget, choices, per_channel=per_channel)
    log(f"  precisions assigned: {asg.mean_bits:.2f} mean weight bits (budget {budget:g})")
    steps = assign.fit_steps(cfg, layers, params, inputs, asg.prec)
    reason = _unrepresentable(cfg, layers, params, steps, asg.prec)
    if reason:
        return Quantized(cfg, asg, unrepresentable=reason)
    quants = [model.layer_quant(cfg, p) for p in asg.prec]

    def qfwd(t, _, x):
        return model.quant_forward(layers, quants, t["params"], t["steps"], x)
    state = train.fit(qfwd, {"params": params, "steps": steps}, None, ds.x_train, ds.y_train,
                      epochs=opts.qat_epochs, lr=opts.qat_lr, seed=opts.seed + 1)
    net = integer.to_integer(cfg, layers, state["params"], state["steps"], asg.prec)
    out = Quantized(cfg, asg, net=net, reds=infer.plan(net))
    res = infer.infer(net, out.reds, ds.x_test, golden_run=opts.golden_run)
    out.logits = res.logits
    out.accuracy = float((res.logits.argmax(1) == ds.y_test).mean())
    out.ops_one = infer.one_inference(net, out.reds, ds.x_test[:1])
    out.costs = infer.costs(net, out.reds, out.ops_one)
    out.seconds = time.perf_counter() - t0
    return out


def codesign(cfg: Config, opts: Options, out_dir: str | Path, log: Callable[[str], None] = print,
             stages: tuple[Stage, ...] = ()) -> dict:
    """The whole run; writes ``report.json``, ``report.md`` and plots to ``out_dir`` and returns the report.
    ``stages`` run after the RTL check, each adding its section (skipped when the network is unrepresentable)."""
    from mixlane.sim_tb.runner import check_simulator

    from . import report
    from .energy import load_energy_table
    from .rtl import check_on_rtl

    opts = opts.checked()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CodesignError(f"-o: {str(out)!r} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    ds = data.load(opts.dataset, seed=opts.seed)
    if opts.test_limit:
        ds = replace(ds, x_test=ds.x_test[: opts.test_limit], y_test=ds.y_test[: opts.test_limit])
    spec = opts.model or model.default_model(ds.is_image)
    layers = model.parse_model(spec, ds.input_shape, ds.classes)
    budget = default_budget(cfg) if opts.budget is None else float(opts.budget)
    assign.check_budget(budget, _choices(cfg)[0])
    integer.check_capacity(cfg, layers)
    integer.check_capacity(int8_baseline(cfg), layers, what="INT8 baseline (acc_width)")
    if opts.synth_report:
        load_energy_table(opts.synth_report, cfg)
    if opts.rtl_images:
        check_simulator(opts.sim)
    for st in stages:
        if st.check:
            st.check(cfg)
    t0 = time.perf_counter()
    log(f"codesign: {ds.name} ({len(ds.x_train)} train / {len(ds.x_test)} test), model {spec}, "
        f"{cfg.architecture.describe(cfg)}")
    params, acc_fp32 = train_float(layers, ds, opts)
    log(f"  fp32 accuracy {acc_fp32:.4f} ({time.perf_counter() - t0:.1f} s)")
    mixed = quantize(cfg, layers, params, ds, budget, opts, log)
    log(f"  mixed accuracy {mixed.accuracy:.4f}" if not mixed.unrepresentable else
        f"  not representable: {mixed.unrepresentable}")
    base_cfg = int8_baseline(cfg)
    int8 = quantize(base_cfg, layers, params, ds, 8.0, opts, lambda s: None)
    log(f"  int8 accuracy {int8.accuracy:.4f} on the INT8 baseline datapath")
    rtl = {"images_checked": 0, "mismatches": 0}
    if opts.rtl_images and not mixed.unrepresentable:
        n = min(opts.rtl_images, len(ds.x_test))
        sample = infer.infer(mixed.net, mixed.reds, ds.x_test[:n], chunk=n, golden_run=False, collect=True)
        rtl = check_on_rtl(cfg, sample, n, sim=opts.sim, out_dir=out / "rtl_check", mode=opts.rtl_mode)
        log(f"  RTL ({opts.sim}, {opts.rtl_mode}): {n} images, {rtl['results_checked']} read-outs, "
            f"{rtl['mismatches']} mismatching images")
    rep = report.build(cfg, ds, spec, layers, budget, acc_fp32, mixed, int8, rtl, opts,
                       seconds=time.perf_counter() - t0)
    sections = {}
    if not mixed.unrepresentable:
        ctx = StageContext(cfg, ds, mixed, int8, opts, out, log)
        for st in stages:
            try:
                sections[st.name] = st.run(ctx)
            except Exception:
                report.write(rep | sections, out)       # the run so far is kept, then the stage's error goes up
                raise
    rep |= sections
    report.write(rep, out, [line for st in stages if st.name in sections for line in st.markdown(sections[st.name])])
    return rep
