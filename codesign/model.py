"""Network specs and their forward passes: float, and quantization-aware with the datapath's integer semantics.

A spec is ``cnn:C1,C2s2,...`` (3x3 'valid' convolutions with C output channels, ``sN`` a stride, ReLU after
each, then one dense layer to the classes) or ``mlp:H1,H2,...`` (dense layers with ReLU, then the classifier).
No spatial padding: a bipolar 1-bit activation cannot hold the padding value 0.

Quantized layer (input channel ``c`` at ``p[c]`` bits, :class:`LayerQuant`): the activation is held as
``b = clip(floor(x / s_a[c] + 1/2), 0, hi[c])`` steps of ``s_a[c]``; the datapath sees the code ``b`` (or
``2b - 1`` for a bipolar 1-bit channel, whose real value is ``s_a * (code + 1) / 2``). With the unit
``t[c] = s_a[c] * g[c]`` (``g = 1``, or ``1/2`` for bipolar channels) and ``u = b / g``, the layer computes
``y[o] = s_w[o] * (sum_k u_k * wq[o, k] + bq[o])`` where ``wq = clip(floor(W * t / s_w + 1/2), lo, hi)``
(``sign`` for bipolar weights) and ``bq = floor(b / s_w + 1/2)``: exactly the integer sum the datapath
accumulates, up to the constant ``sum_{bipolar k} wq[o, k]`` that the integer network folds into the preload
(:mod:`mixlane.codesign.integer`). The classifier has one ``s_w`` for every output, so its integer sums are
comparable logits. Rounding passes gradients straight through (STE); steps are learned (LSQ-style).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from mixlane.config import Config
from .errors import CodesignError, require

__all__ = ["LayerSpec", "parse_model", "default_model", "LayerQuant", "layer_quant", "init_params",
           "float_forward", "quant_forward", "layer_inputs",
           "layer_product", "add_bias"]


@dataclass(frozen=True)
class LayerSpec:
    """One layer: ``kind`` 'conv' (``k x k``, ``stride``, no padding) or 'dense'; ``in_shape``/``out_shape``
    without the batch axis. The precision groups are the input channels (conv) or input features (dense)."""

    kind: str
    cin: int
    cout: int
    k: int
    stride: int
    relu: bool
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]

    @property
    def taps(self) -> int:
        """Reduction elements per input channel (``k*k`` for conv, 1 for dense)."""
        return self.k * self.k

    @property
    def reduction(self) -> int:
        return self.cin * self.taps

    @property
    def pixels(self) -> int:
        """Output positions per image (1 for dense)."""
        return int(np.prod(self.out_shape[1:])) if self.kind == "conv" else 1

    @property
    def weights(self) -> int:
        return self.cout * self.reduction

    @property
    def macs(self) -> int:
        return self.weights * self.pixels

    def describe(self) -> str:
        if self.kind == "conv":
            return f"conv{self.k}x{self.k}/{self.stride} {self.cin}->{self.cout}"
        return f"dense {self.cin}->{self.cout}"


#: Learned steps live in ``exp(LOG_STEP_RANGE)`` (keeps divisions by a step finite while training).
LOG_STEP_RANGE = (-16.0, 8.0)

_TOKEN = re.compile(r"^(\d+)(?:s(\d+))?$")


def default_model(image: bool) -> str:
    return "cnn:16,64" if image else "mlp:32"


def parse_model(spec: str, input_shape: tuple[int, ...], classes: int) -> list[LayerSpec]:
    """The layers of ``spec`` for inputs of ``input_shape`` (``(C, H, W)`` or ``(F,)``)."""
    bad = (f"--model: {spec!r} is not a model spec; use cnn:C1,C2s2,... (3x3 convolutions, sN = stride) for "
           f"images or mlp:H1,H2,... for features")
    kind, _, body = spec.partition(":")
    toks = [t.strip() for t in body.split(",") if t.strip()] if body else []
    if kind not in ("cnn", "mlp") or not toks:
        raise CodesignError(bad)
    parsed = []
    for t in toks:
        m = _TOKEN.match(t)
        if not m or int(m.group(1)) < 1 or (m.group(2) and (kind == "mlp" or int(m.group(2)) < 1)):
            raise CodesignError(bad)
        parsed.append((int(m.group(1)), int(m.group(2) or 1)))
    layers: list[LayerSpec] = []
    shape = tuple(input_shape)
    if kind == "cnn":
        if len(shape) != 3:
            raise CodesignError(f"--model: {spec!r} needs images; this dataset has {shape[0]} features, "
                                "use mlp:H1,...")
        for cout, stride in parsed:
            c, h, w = shape
            ho, wo = (h - 3) // stride + 1, (w - 3) // stride + 1
            if ho < 1 or wo < 1:
                raise CodesignError(f"--model: {spec!r} shrinks the {h}x{w} image below one pixel; "
                                    "use fewer layers or strides")
            layers.append(LayerSpec("conv", c, cout, 3, stride, True, shape, (cout, ho, wo)))
            shape = (cout, ho, wo)
        shape = (int(np.prod(shape)),)
    else:
        shape = (int(np.prod(shape)),)
        for hidden, _ in parsed:
            layers.append(LayerSpec("dense", shape[0], hidden, 1, 1, True, shape, (hidden,)))
            shape = (hidden,)
    layers.append(LayerSpec("dense", shape[0], classes, 1, 1, False, shape, (classes,)))
    return layers


# ----------------------------------------------------------------------------------------- quantizers
@dataclass(frozen=True)
class LayerQuant:
    """Static integer semantics of one layer's reduction under a configuration, per input channel:
    ``prec``, activation step count range ``0..a_hi`` (``b``), ``g`` (1, or 0.5 bipolar), weight code range
    ``w_lo..w_hi``, ``w_bipolar`` (codes +-1, never 0)."""

    prec: np.ndarray
    a_hi: np.ndarray
    g: np.ndarray
    w_lo: np.ndarray
    w_hi: np.ndarray
    w_bipolar: np.ndarray

    def weight_codes(self, v: np.ndarray) -> np.ndarray:
        """Integer weight codes of effective weights in units of ``s_w``, ``v (..., C, taps)`` (numpy; the
        quantization-aware forward does the same in JAX): ``clip(floor(v + 1/2), lo, hi)``, ``sign`` for
        bipolar channels."""
        lo, hi, bip = self.w_lo[:, None], self.w_hi[:, None], self.w_bipolar[:, None]
        return np.where(bip, np.where(v >= 0, 1.0, -1.0), np.clip(np.floor(v + 0.5), lo, hi))

    def sum_bound(self, taps: int) -> float:
        """Largest |sum of products| of one output (``taps`` elements per channel): the bias code is clipped
        to it (a larger bias decides the output alone and only inflates the accumulator)."""
        wmax = np.maximum(np.abs(self.w_lo), np.abs(self.w_hi))
        return float((taps * wmax * np.maximum(self.a_hi / self.g, 1)).sum())


def layer_quant(cfg: Config, prec) -> LayerQuant:
    """The :class:`LayerQuant` of input channels at precisions ``prec`` under ``cfg``'s operand semantics."""
    prec = np.asarray(prec, np.int64)
    bip = (prec == 1) & (cfg.binary == "bipolar")
    a_hi = np.array([cfg.element_range(int(p), "a")[1] for p in prec], np.float32)
    w = np.array([cfg.element_range(int(p), "w") for p in prec], np.float32).reshape(-1, 2)
    return LayerQuant(prec, a_hi, np.where(bip, 0.5, 1.0).astype(np.float32), w[:, 0], w[:, 1], bip)


def init_params(layers: list[LayerSpec], seed: int) -> list[dict]:
    """He-initialised float parameters (numpy float32)."""
    rng = np.random.default_rng(seed)
    out = []
    for L in layers:
        shape = (L.cout, L.cin, L.k, L.k) if L.kind == "conv" else (L.cout, L.cin)
        w = rng.normal(0, np.sqrt(2.0 / L.reduction), shape).astype(np.float32)
        out.append({"w": w, "b": np.zeros(L.cout, np.float32)})
    return out


def layer_product(L: LayerSpec, x, w):
    """``x (N, C, H, W) * w`` (valid convolution) or ``x (N, F) @ w.T`` in JAX, without bias."""
    lax = require("jax").lax
    if L.kind == "conv":
        return lax.conv_general_dilated(x, w, (L.stride, L.stride), "VALID",
                                        dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return x.reshape(x.shape[0], -1) @ w.T


def add_bias(L: LayerSpec, y, b):
    """``y + b`` with ``b`` per output channel (JAX)."""
    return y + (b.reshape(1, -1, 1, 1) if L.kind == "conv" else b.reshape(1, -1))


def _bshape(L: LayerSpec, v):
    """Per-input-channel vector ``v`` broadcast against the layer input (N, C, H, W) or (N, F)."""
    return v[None, :, None, None] if L.kind == "conv" else v[None, :]


def float_forward(layers: list[LayerSpec], params: list[dict], x):
    """Logits ``(N, classes)`` of the float network (JAX arrays)."""
    jax = require("jax")
    jnp, lax = jax.numpy, jax.lax
    for L, p in zip(layers, params):
        if L.kind == "dense":
            x = x.reshape(x.shape[0], -1)
        y = add_bias(L, layer_product(L, x, p["w"]), p["b"])
        x = jax.nn.relu(y) if L.relu else y
    return x


def _ste_round(jax, v):
    return v + jax.lax.stop_gradient(jax.numpy.floor(v + 0.5) - v)


def quant_forward(layers: list[LayerSpec], quants: list[LayerQuant], params: list[dict], steps: list[dict], x):
    """Logits of the quantized network (``steps[i]``: ``log_sa`` per input channel, ``log_sw`` per output or
    one for the classifier); every rounding as the integer network does it, with straight-through gradients."""
    jax = require("jax")
    jnp, lax = jax.numpy, jax.lax
    for L, q, p, s in zip(layers, quants, params, steps):
        if L.kind == "dense":
            x = x.reshape(x.shape[0], -1)
        sa = jnp.exp(jnp.clip(s["log_sa"], *LOG_STEP_RANGE))
        b = jnp.clip(_ste_round(jax, x / _bshape(L, sa)), 0.0, _bshape(L, jnp.asarray(q.a_hi)))
        u = b / _bshape(L, jnp.asarray(q.g))
        t = sa * q.g
        sw = jnp.exp(jnp.clip(s["log_sw"], *LOG_STEP_RANGE))
        wshape = (-1, 1, 1, 1) if L.kind == "conv" else (-1, 1)
        cshape = (1, -1, 1, 1) if L.kind == "conv" else (1, -1)
        v = p["w"] * t.reshape(cshape) / sw.reshape(wshape)
        lo, hi = jnp.asarray(q.w_lo).reshape(cshape), jnp.asarray(q.w_hi).reshape(cshape)
        wq = jnp.clip(_ste_round(jax, v), lo, hi)
        vc = jnp.clip(v, -1.0, 1.0)
        wq = jnp.where(jnp.asarray(q.w_bipolar).reshape(cshape),
                       vc + lax.stop_gradient(jnp.where(v >= 0, 1.0, -1.0) - vc), wq)
        bound = q.sum_bound(L.taps)
        bq = jnp.broadcast_to(jnp.clip(_ste_round(jax, p["b"] / sw), -bound, bound), (L.cout,))
        acc = layer_product(L, u, wq) + bq.reshape(cshape)
        y = acc * sw.reshape(cshape)
        x = jax.nn.relu(y) if L.relu else y
    return x


def layer_inputs(layers: list[LayerSpec], params: list[dict], x) -> list[np.ndarray]:
    """The float input of every layer (numpy, the input of a dense layer flattened) for calibration."""
    jax = require("jax")
    jnp, lax = jax.numpy, jax.lax
    out = []
    for L, p in zip(layers, params):
        if L.kind == "dense":
            x = x.reshape(x.shape[0], -1)
        out.append(np.asarray(x))
        y = add_bias(L, layer_product(L, x, p["w"]), p["b"])
        x = jax.nn.relu(y) if L.relu else y
    return out
