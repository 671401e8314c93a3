"""Networks on the plain core (no extension): the baselines of the processor target.

- :func:`rv32im_program`: reference kernels that loop like TensorFlow Lite Micro's reference convolution
  (output row, column and channel, then filter row, column and input channel, one multiply-add each);
- :func:`bitserial_program`: bit-serial kernels, AND/XNOR and popcount over bit planes.
"""

from __future__ import annotations

import numpy as np

from mixlane.codesign.integer import IntNetwork
from .cprog import c_array, program, store_output
from .errors import SocError

__all__ = ["rv32im_program", "bitserial_program"]


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


_POPCOUNT = """
/* population count of a 32-bit word (RV32IM has no popcount instruction): SWAR, 12 instructions */
static inline uint32_t pc32(uint32_t x) {
    x -= (x >> 1) & 0x55555555u;
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0fu;
    return (x * 0x01010101u) >> 24;
}
"""


def _groups(net: IntNetwork, L) -> list[dict]:
    """The reduction elements of layer ``L`` by precision: per group its elements, bits, whether they are
    bipolar (1-bit codes +-1 on both operands: XNOR-popcount) and whether the weights' top plane is negative."""
    cfg = net.cfg
    prec_k = L.prec_k
    bip_k = np.repeat(L.a_bipolar, L.spec.taps)
    out = []
    for p in sorted(set(prec_k.tolist())):
        for bip in (False, True):
            ks = np.flatnonzero((prec_k == p) & (bip_k == bip))
            if len(ks):
                out.append({"p": int(p), "bipolar": bip, "k": ks, "words": -(-len(ks) // 32),
                            "neg": bool(cfg.weight_signed and p > 1)})
    return out


def _weight_planes(L, groups: list[dict]) -> np.ndarray:
    """``(O, words)`` uint32: per output, every group's weight bit planes (plane ``j``: bit ``j`` of the p-bit
    code; bipolar: the bit ``u`` of ``w = 2u - 1``), 32 elements a word."""
    rows = []
    for o in range(L.spec.cout):
        words = []
        for g in groups:
            w = L.w[o, g["k"]]
            bits = (w + 1) // 2 if g["bipolar"] else w & ((1 << g["p"]) - 1)
            for j in range(1 if g["bipolar"] else g["p"]):
                plane = np.zeros(g["words"] * 32, np.uint8)
                plane[:len(w)] = (bits >> j) & 1
                words.append(np.packbits(plane, bitorder="little").view("<u4"))
        rows.append(np.concatenate(words))
    return np.stack(rows)


def _bitserial_layer(net: IntNetwork, i: int) -> str:
    from .cprog import source_offsets

    L = net.layers[i]
    groups = _groups(net, L)
    offs, bases = source_offsets(L)
    planes = _weight_planes(L, groups)
    src = [c_array(f"BW{i}", "uint32_t", planes), c_array(f"BQ{i}", "int32_t", L.preload),
           c_array(f"BASE{i}", "uint32_t", bases)]
    n_a = sum(g["words"] * (1 if g["bipolar"] else g["p"]) for g in groups)
    src.append(f"static uint32_t BA{i}[{n_a}];\n")
    pack, dot = [], []
    a_off = w_off = 0
    for gi, g in enumerate(groups):
        nw, p = g["words"], (1 if g["bipolar"] else g["p"])
        src.append(c_array(f"BOFF{i}_{gi}", "uint16_t", offs[g["k"]]))
        sets = " ".join(f"if (v & {1 << b}) d[{b * nw}] |= m;" for b in range(p))
        pack.append(f"""        for (int e = 0; e < {len(g['k'])}; ++e) {{     /* {g['p']}-bit elements{' (bipolar)' if g['bipolar'] else ''} */
            const uint32_t v = x[BOFF{i}_{gi}[e]], m = 1u << (e & 31);
            uint32_t *const d = BA{i} + {a_off} + (e >> 5);
            {sets}
        }}""")
        if g["bipolar"]:
            dot.append(f"""            {{ uint32_t s = 0; for (int k = 0; k < {nw}; ++k) s += pc32(BA{i}[{a_off} + k] ^ w[{w_off} + k]);
              acc += {len(g['k'])} - 2 * (int32_t)s; }}""")
        else:
            for ai in range(p):
                for wj in range(p):
                    sign = "-" if g["neg"] and wj == p - 1 else "+"
                    dot.append(f"""            {{ uint32_t s = 0; for (int k = 0; k < {nw}; ++k) s += pc32(BA{i}[{a_off + ai * nw} + k] & w[{w_off + wj * nw} + k]);
              acc {sign}= (int32_t)(s << {ai + wj}); }}""")
        a_off += nw * p
        w_off += nw * p
    P = len(bases)
    nl = "\n"
    src.append(f"""static void layer{i}(const uint8_t *a) {{
    for (int p = 0; p < {P}; ++p) {{
        const uint8_t *const x = a + BASE{i}[p];
        for (int k = 0; k < {n_a}; ++k) BA{i}[k] = 0;
{nl.join(pack)}
        for (int o = 0; o < {L.spec.cout}; ++o) {{
            const uint32_t *const w = BW{i} + o * {planes.shape[1]};
            int32_t acc = BQ{i}[o];
{nl.join(dot)}
            {store_output(net, i, "acc", "o", "p")}
        }}
    }}
}}
""")
    return "".join(src)


def bitserial_program(net: IntNetwork, images: np.ndarray) -> str:
    """C running ``images`` through the network on the plain core with bit-serial kernels (Cowan et al.'s
    method): per precision group, activation and weight bit planes, ``sum 2^(i+j) popcount(A_i & W_j)`` (the
    weights' top plane negative when signed), XNOR-popcount for bipolar 1-bit elements."""
    layers = _POPCOUNT + "".join(_bitserial_layer(net, i) for i in range(len(net.layers)))
    return program(net, images, layers, [f"layer{i}(act{i});" for i in range(len(net.layers))])
