"""Pieces shared by the C programs of a network (through the extension, and on the plain core).

Every program runs the integer network of :mod:`mixlane.codesign.integer` image by image, batch 1: activations
are step counts ``b`` (uint8, C order ``(C, H, W)``), requantization and ReLU in C integer arithmetic exactly as
:func:`mixlane.codesign.integer.requantize`; it prints each image's logits (8 hex digits each) and the cycles of
every layer (``mcycle``; printing excluded).
"""

from __future__ import annotations

import numpy as np

from mixlane.codesign.integer import IntLayer, IntNetwork
from .errors import SocError

__all__ = ["PRELUDE", "c_array", "requant_tables", "store_output", "program", "input_steps", "source_offsets"]


def input_steps(L: IntLayer, codes: np.ndarray) -> np.ndarray:
    """First-layer datapath codes ``(N, ...)`` -> step counts ``b`` (a bipolar code ``2b - 1`` is ``b``)."""
    shape = (1, -1, 1, 1) if L.spec.kind == "conv" else (1, -1)
    bip = np.broadcast_to(L.a_bipolar.reshape(shape), codes.shape)
    return np.where(bip, (codes + 1) // 2, codes).reshape(len(codes), -1).astype(np.int64)


def source_offsets(L: IntLayer) -> tuple[np.ndarray, list[int]]:
    """Offset of every reduction element from its column's base, and each column's base, in the input array."""
    s = L.spec
    if s.kind == "dense":
        return np.arange(s.reduction, dtype=np.int64), [0]
    c, h, w = s.in_shape
    ch, dy, dx = np.meshgrid(np.arange(c), np.arange(s.k), np.arange(s.k), indexing="ij")
    offs = (ch * h * w + dy * w + dx).reshape(-1)
    _, ho, wo = s.out_shape
    bases = [oy * s.stride * w + ox * s.stride for oy in range(ho) for ox in range(wo)]
    return offs, bases


def c_array(name: str, ctype: str, values) -> str:
    flat = np.asarray(values).reshape(-1)
    body = ",".join(str(int(v)) + ("u" if ctype.startswith("uint32") else "") for v in flat)
    return f"static const {ctype} {name}[{max(flat.size, 1)}] = {{{body or '0'}}};\n"


def requant_tables(net: IntNetwork) -> str:
    out = []
    for i, L in enumerate(net.layers[1:], start=1):
        out += [c_array(f"MUL{i}", "int32_t", L.mult), c_array(f"SHF{i}", "uint8_t", L.shift),
                c_array(f"HI{i}", "uint8_t", L.a_hi)]
    return "".join(out)


def store_output(net: IntNetwork, i: int, acc: str, o: str, p: str) -> str:
    """C statement storing output ``o`` at position ``p`` of layer ``i``: requantized for layer ``i+1``, or a
    logit for the last layer."""
    if i == len(net.layers) - 1:
        if net.layers[i].spec.kind != "dense":
            raise SocError(f"the last layer is {net.layers[i].spec.describe()}; the processor target takes networks "
                           "that end in a dense classifier")
        return f"logits[{o}] = {acc};"
    nxt = net.layers[i + 1]
    L = net.layers[i]
    idx = f"{o} * {L.spec.pixels} + {p}" if nxt.spec.kind == "dense" else o
    return f"act{i + 1}[{o} * {L.spec.pixels} + {p}] = requant({acc}, MUL{i + 1}[{idx}], SHF{i + 1}[{idx}], HI{i + 1}[{idx}]);"


PRELUDE = """#include <stdint.h>
#include "mixlane_soc.h"

/* b = clip((acc * m + 2^(F-1)) >> F, 0, hi), 1 <= F <= 62: the requantization of mixlane.codesign.integer, exactly,
   in 32-bit steps: x = acc * m as its high (mulh) and low (mul) words, the rounding added with carry, the shift
   done per word, and a result that would not fit 32 bits clipped by its sign. */
static inline uint8_t requant(int32_t acc, int32_t m, uint32_t f, uint32_t hi) {
    const int64_t x = (int64_t)acc * m;
    int32_t h = (int32_t)(x >> 32);
    uint32_t l = (uint32_t)x;
    int32_t t;
    if (f >= 33) {
        t = (h + (1 << (f - 33))) >> (f - 32);
    } else {
        const uint32_t l2 = l + (1u << (f - 1));
        h += l2 < l;
        if ((h >> (f - 1)) != (h >> 31)) return h < 0 ? 0 : (uint8_t)hi;     /* beyond 32 bits */
        t = f == 32 ? h : (int32_t)(((uint32_t)h << (32 - f)) | (l2 >> f));
    }
    return (uint8_t)(t < 0 ? 0 : t > (int32_t)hi ? (int32_t)hi : t);
}
"""


def program(net: IntNetwork, images: np.ndarray, layers: str, layer_calls: list[str], *, head: str = "",
            check: str = "") -> str:
    """The whole program: :data:`PRELUDE`, ``head`` (includes), the requantization tables, the layer functions
    ``layers``, the images and ``main``, which runs ``check`` (statements) first, then ``layer_calls`` per
    image, timing each."""
    n_in = images.shape[1]
    bufs = "".join(f"static uint8_t act{i}[{int(np.prod(L.spec.in_shape))}];\n"
                   for i, L in enumerate(net.layers) if i)
    classes = net.layers[-1].spec.cout
    calls = "\n".join(f"        t1 = mlx_cycles(); {c} t2 = mlx_cycles(); cyc[{i}] = t2 - t1;"
                      for i, c in enumerate(layer_calls))
    return PRELUDE + head + requant_tables(net) + f"{bufs}static int32_t logits[{classes}];\n" + layers + f"""
#define N_IMAGES {len(images)}
static const uint8_t IMAGES[N_IMAGES][{n_in}] = {{
{",".join("{" + ",".join(str(int(v)) for v in row) + "}" for row in images)}
}};

int main(void) {{
{check}    uint32_t cyc[{len(layer_calls)}], t1, t2;
    for (int n = 0; n < N_IMAGES; ++n) {{
        const uint8_t *const act0 = IMAGES[n];
{calls}
        mlx_puts("image "); mlx_put_dec(n); mlx_putc('\\n');
        for (int c = 0; c < {classes}; ++c) mlx_put_hex((uint32_t)logits[c]);
        mlx_puts("cycles");
        for (int l = 0; l < {len(layer_calls)}; ++l) {{ mlx_putc(' '); mlx_put_dec((int32_t)cyc[l]); }}
        mlx_putc('\\n');
    }}
    return 0;
}}
"""


