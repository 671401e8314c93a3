"""Networks on the plain core (no extension): the baselines of the processor target.

- :func:`rv32im_program`: reference kernels that loop like TensorFlow Lite Micro's reference convolution
  (output row, column and channel, then filter row, column and input channel, one multiply-add each).
"""

from __future__ import annotations

import numpy as np

from mixlane.codesign.integer import IntNetwork
from .cprog import c_array, program, store_output
from .errors import SocError

__all__ = ["rv32im_program"]


def _rv32im_layer(net: IntNetwork, i: int) -> str:
    L = net.layers[i]
    s = L.spec
    src = [c_array(f"WQ{i}", "int8_t", L.w), c_array(f"BQ{i}", "int32_t", L.preload)]
    if L.w.size and (L.w.min() < -128 or L.w.max() > 127):
        raise SocError(f"layer {i}: weight codes beyond int8 cannot run on the INT8 reference kernels")
    # a bipolar 1-bit channel's code is 2b - 1 (the preload holds the matching correction)
    bip = L.a_bipolar.any()
    if bip:
        src.append(c_array(f"BIP{i}", "uint8_t", L.a_bipolar))
    if s.kind == "dense":
        body = f"""    for (int o = 0; o < {s.cout}; ++o) {{
        int32_t acc = BQ{i}[o];
        const int8_t *w = WQ{i} + o * {s.reduction};
        for (int k = 0; k < {s.reduction}; ++k) acc += {f"(BIP{i}[k] ? 2 * (int32_t)a[k] - 1 : (int32_t)a[k])" if bip else "(int32_t)a[k]"} * w[k];
        const int p = 0;
        {store_output(net, i, "acc", "o", "p")}
    }}"""
    else:
        c, h, w = s.in_shape
        _, ho, wo = s.out_shape
        body = f"""    for (int oy = 0; oy < {ho}; ++oy)
    for (int ox = 0; ox < {wo}; ++ox) {{
        const int p = oy * {wo} + ox;
        for (int o = 0; o < {s.cout}; ++o) {{
            int32_t acc = BQ{i}[o];
            for (int fy = 0; fy < {s.k}; ++fy)
            for (int fx = 0; fx < {s.k}; ++fx)
            for (int ci = 0; ci < {c}; ++ci) {{
                const int iy = oy * {s.stride} + fy, ix = ox * {s.stride} + fx;
                const int32_t x = a[(ci * {h} + iy) * {w} + ix];
                acc += {f"(BIP{i}[ci] ? 2 * x - 1 : x)" if bip else "x"} * WQ{i}[((o * {c} + ci) * {s.k} + fy) * {s.k} + fx];
            }}
            {store_output(net, i, "acc", "o", "p")}
        }}
    }}"""
    src.append(f"static void layer{i}(const uint8_t *a) {{\n{body}\n}}\n")
    return "".join(src)


def rv32im_program(net: IntNetwork, images: np.ndarray) -> str:
    """C running ``images`` through the network on the plain core (INT8 reference kernels)."""
    layers = "".join(_rv32im_layer(net, i) for i in range(len(net.layers)))
    return program(net, images, layers, [f"layer{i}(act{i});" for i in range(len(net.layers))])
