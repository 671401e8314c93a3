"""C for a compiled network: every layer through the extension, or plain RV32IM C (the INT8 baseline).

Both programs run the integer network of :mod:`mixlane.codesign.integer` image by image, batch 1:
activations are step counts ``b`` (uint8, C order ``(C, H, W)``), requantization and ReLU in C integer
arithmetic exactly as :func:`mixlane.codesign.integer.requantize`, and print each image's logits (8 hex digits
each) and the cycles of every layer (``mcycle``).

Through the extension (:func:`extension_program`), per layer:

- the layer's metadata words go into ``M`` (one copy per position ``A`` holds); ``W`` holds the weights of
  ``w_regs // R`` outputs (``R`` registers per reduction) and ``A`` the activations of ``a_regs // R`` positions,
  in the loop nest that moves fewer words (``schedule="resident"``), or the weights of one output are pushed for
  every position (``"streamed"``, the design without weight reuse);
- per output position, generated straight-line code gathers the reduction's activations into registers in the
  datapath's packing (the golden model's plan of that layer: :func:`mixlane.golden.pack_reduction`) and pushes
  them into ``A``; then per output one ``mac`` over the ``R`` pairs and one ``read_load`` (which presets the
  next output's bias).

The reference kernels (:func:`rv32im_program`) loop like TensorFlow Lite Micro's reference convolution:
output row, column and channel, then filter row, column and input channel, one multiply-add each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from mixlane.codesign.compile import Reduction
from mixlane.codesign.integer import IntLayer, IntNetwork
from mixlane.config import Config
from mixlane.golden import pack_reduction
from .errors import SocError
from .stream import meta_words, register_words

__all__ = ["SCHEDULES", "PARTS", "LayerPlan", "plan_layers", "input_steps", "extension_program", "rv32im_program"]

SCHEDULES = ("resident", "streamed")
#: Parts of the extension program that :func:`extension_program` can leave out (``skip``), in the order a
#: breakdown removes them: what each costs is the cycles it saves (the results are then meaningless).
PARTS = ("requantization", "packing", "datapath")


@dataclass
class LayerPlan:
    """One layer as the extension runs it."""

    layer: IntLayer
    registers: int                # R: register pairs per output
    words: np.ndarray             # (O, R, 2*chunks) uint32 weight registers
    meta: np.ndarray              # (R, 2*chunks_m) uint32 metadata words
    bias: np.ndarray              # (O,) accumulator preloads (with the padding corrections)
    gather: list                  # per register: list of (word, shift, source offset) of activation bits
    constant: np.ndarray          # (R, 2*chunks) uint32 constant bits (bipolar padding)
    columns: list                 # source offset of each output position's first element


def _source_offsets(L: IntLayer) -> tuple[np.ndarray, list[int]]:
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


def plan_layer(cfg: Config, L: IntLayer, red: Reduction) -> LayerPlan:
    """Registers, gather lists, weights and biases of layer ``L`` under its reduction order ``red``."""
    bipolar1 = (red.prec == 1) & (cfg.binary == "bipolar")
    dummy = np.where(bipolar1, 1, 0)
    packed = pack_reduction(cfg, dummy, dummy, prec=red.prec)
    _, ww = red.apply(np.zeros((len(L.w[0]), 1), np.int64), L.w)
    words = np.stack([register_words(cfg, pack_reduction(cfg, dummy, ww[o], prec=red.prec).w_bits)
                      for o in range(len(ww))])
    offs, bases = _source_offsets(L)
    R = packed.registers
    chunks2 = words.shape[2]
    gather: list[list[tuple[int, int, int]]] = [[] for _ in range(R)]
    const = np.zeros((R, chunks2), np.uint32)
    for r, n in zip(*np.nonzero(packed.layout)):
        j = int(packed.index[r, n])
        if j < 0:                          # the packing's own padding: all bits 0
            continue
        pos, p = int(n) * cfg.pmin, int(packed.layout[r, n])
        src = int(red.order[j])
        if src < 0:                        # the reduction's padding element: a constant
            if red.pad_value[j]:
                const[r, pos >> 5] |= np.uint32(int(red.pad_value[j]) << (pos & 31))
            continue
        gather[r].append((pos >> 5, pos & 31, int(offs[src])))
        if (pos & 31) + p > 32:            # the element's high bits go to the next word
            gather[r].append((((pos >> 5) + 1), (pos & 31) - 32, int(offs[src])))
    bias = L.preload + red.pad_correction + packed.pad_correction
    return LayerPlan(L, R, words, meta_words(cfg, packed.meta), bias.astype(np.int64), gather, const, bases)


def plan_layers(net: IntNetwork, reds: list[Reduction]) -> list[LayerPlan]:
    return [plan_layer(net.cfg, L, red) for L, red in zip(net.layers, reds)]


def input_steps(L: IntLayer, codes: np.ndarray) -> np.ndarray:
    """First-layer datapath codes ``(N, ...)`` -> step counts ``b`` (a bipolar code ``2b - 1`` is ``b``)."""
    shape = (1, -1, 1, 1) if L.spec.kind == "conv" else (1, -1)
    bip = np.broadcast_to(L.a_bipolar.reshape(shape), codes.shape)
    return np.where(bip, (codes + 1) // 2, codes).reshape(len(codes), -1).astype(np.int64)


# ----------------------------------------------------------------------------------------------- C pieces
def _arr(name: str, ctype: str, values) -> str:
    flat = np.asarray(values).reshape(-1)
    body = ",".join(str(int(v)) + ("u" if ctype.startswith("uint32") else "") for v in flat)
    return f"static const {ctype} {name}[{max(flat.size, 1)}] = {{{body or '0'}}};\n"


def _requant_tables(net: IntNetwork) -> str:
    out = []
    for i, L in enumerate(net.layers[1:], start=1):
        out += [_arr(f"MUL{i}", "int32_t", L.mult), _arr(f"SHF{i}", "uint8_t", L.shift),
                _arr(f"HI{i}", "uint8_t", L.a_hi)]
    return "".join(out)


def _store(net: IntNetwork, i: int, acc: str, o: str, p: str) -> str:
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


_PRELUDE = """#include <stdint.h>
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


def _main(net: IntNetwork, images: np.ndarray, layer_calls: list[str]) -> str:
    L0 = net.layers[0]
    n_in = images.shape[1]
    bufs = "".join(f"static uint8_t act{i}[{int(np.prod(L.spec.in_shape))}];\n"
                   for i, L in enumerate(net.layers) if i)
    classes = net.layers[-1].spec.cout
    calls = "\n".join(f"        t1 = mlx_cycles(); {c} t2 = mlx_cycles(); cyc[{i}] = t2 - t1;"
                      for i, c in enumerate(layer_calls))
    return f"""
#define N_IMAGES {len(images)}
static const uint8_t IMAGES[N_IMAGES][{n_in}] = {{
{",".join("{" + ",".join(str(int(v)) for v in row) + "}" for row in images)}
}};
{bufs}static int32_t logits[{classes}];

int main(void) {{
    uint32_t cyc[{len(layer_calls)}], t1, t2;
    for (int n = 0; n < N_IMAGES; ++n) {{
        const uint8_t *act0 = IMAGES[n];
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


def _gather_code(plan: LayerPlan, i: int) -> str:
    """``gather{i}(a)``: the activations of one output position packed and pushed into the next ``R`` entries of
    A."""
    c2 = plan.words.shape[2]
    lines = [f"static void gather{i}(const uint8_t *a) {{"]
    for r, entries in enumerate(plan.gather):
        terms: list[list[str]] = [[] for _ in range(c2)]
        for word, shift, off in entries:
            v = f"(uint32_t)a[{off}]"
            terms[word].append(v if shift == 0 else f"{v} << {shift}" if shift > 0 else f"{v} >> {-shift}")
        for k in range(c2):
            if plan.constant[r, k]:
                terms[k].append(f"0x{int(plan.constant[r, k]):x}u")
        exprs = [" | ".join(t) if t else "0" for t in terms]
        lines.append("    " + " ".join(f"mlx_a_push({exprs[k]}, {exprs[k + 1]});" for k in range(0, c2, 2)))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _loop_order(plan: LayerPlan, Pc: int, G: int) -> str:
    """``"a"`` (activations outer: each position gathered once, the weights pushed once per group of ``Pc``
    positions) or ``"w"`` (weights outer: pushed once, each position gathered once per group of ``G`` outputs),
    whichever moves fewer words, counting a gathered element as one word and a pushed weight word as one."""
    O, P, R, c2 = plan.layer.spec.cout, len(plan.columns), plan.registers, plan.words.shape[2]
    elements = sum(len(g) for g in plan.gather)
    a_outer = P * elements + -(-P // Pc) * O * R * c2
    w_outer = O * R * c2 + -(-O // G) * P * elements
    return "a" if a_outer < w_outer else "w"


def _extension_layer(net: IntNetwork, plan: LayerPlan, i: int, schedule: str, facts: dict) -> str:
    L, R = plan.layer, plan.registers
    O, P = L.spec.cout, len(plan.columns)
    c2, m2 = plan.words.shape[2], plan.meta.shape[1]
    G = 1 if schedule == "streamed" else max(1, min(O, facts["w_regs"] // R))
    Pc = 1 if schedule == "streamed" else max(1, min(P, facts["a_regs"] // R))
    order = "w" if schedule == "streamed" else _loop_order(plan, Pc, G)
    Pc = Pc if order == "a" else 1
    src = [_arr(f"W{i}", "uint32_t", plan.words), _arr(f"M{i}", "uint32_t", plan.meta),
           _arr(f"B{i}", "int32_t", np.append(plan.bias, 0)), _arr(f"BASE{i}", "uint32_t", plan.columns),
           _gather_code(plan, i)]
    store = _store(net, i, "acc", "o", "p")
    push_w = f"""mlx_setptr(MLX_PTR_W, 0);
        for (int j = g0 * {R * c2}; j < g1 * {R * c2}; j += 2) mlx_w_push(W{i}[j], W{i}[j + 1]);"""
    if schedule == "streamed":
        body = f"""    for (int p = 0; p < {P}; ++p) {{
        mlx_setptr(MLX_PTR_A, 0);
        gather{i}(a + BASE{i}[p]);
        for (int o = 0; o < {O}; ++o) {{
            mlx_setptr(MLX_PTR_W, 0);
            for (int j = o * {R * c2}; j < (o + 1) * {R * c2}; j += 2) mlx_w_push(W{i}[j], W{i}[j + 1]);
            mlx_mac(0, 0, 0, {R});
            const int32_t acc = mlx_read_load(0, B{i}[o + 1 < {O} ? o + 1 : p + 1 < {P} ? 0 : {O}]);
            {store}
        }}
    }}"""
    elif order == "w":
        body = f"""    for (int g0 = 0; g0 < {O}; g0 += {G}) {{
        const int g1 = g0 + {G} < {O} ? g0 + {G} : {O};
        {push_w}
        for (int p = 0; p < {P}; ++p) {{
            mlx_setptr(MLX_PTR_A, 0);
            gather{i}(a + BASE{i}[p]);
            for (int o = g0; o < g1; ++o) {{
                mlx_mac(0, 0, (o - g0) * {R}, {R});
                const int32_t acc = mlx_read_load(0, B{i}[o + 1 < g1 ? o + 1 : p + 1 < {P} ? g0 : g1]);
                {store}
            }}
        }}
    }}"""
    else:
        body = f"""    for (int p0 = 0; p0 < {P}; p0 += {Pc}) {{
        const int p1 = p0 + {Pc} < {P} ? p0 + {Pc} : {P};
        mlx_setptr(MLX_PTR_A, 0);
        for (int p = p0; p < p1; ++p) gather{i}(a + BASE{i}[p]);
        for (int g0 = 0; g0 < {O}; g0 += {G}) {{
            const int g1 = g0 + {G} < {O} ? g0 + {G} : {O};
            {push_w}
            for (int p = p0; p < p1; ++p)
            for (int o = g0; o < g1; ++o) {{
                mlx_mac(0, (p - p0) * {R}, (o - g0) * {R}, {R});
                const int32_t acc = mlx_read_load(0, B{i}[o + 1 < g1 ? o + 1 : p + 1 < p1 ? g0 : g1 < {O} ? g1 : p1 < {P} ? 0 : {O}]);
                {store}
            }}
        }}
    }}"""
    src.append(f"""static void layer{i}(const uint8_t *a) {{
    mlx_setptr(MLX_PTR_M, 0);      /* the metadata of every A slot: one copy per position held */
    for (int k = 0; k < {Pc}; ++k)
        for (int j = 0; j < {R * m2}; j += 2) mlx_m_push(M{i}[j], M{i}[j + 1]);
    mlx_load(0, B{i}[0]);
{body}
}}
""")
    return "".join(src)


def _without(src: str, skip) -> str:
    """``src`` with the parts in ``skip`` left out (see :data:`PARTS`)."""
    if "requantization" in skip:
        src = re.sub(r"= requant\(acc, [^;]*\);", "= (uint8_t)acc;", src)
    if "packing" in skip:
        src = re.sub(r"gather(\d+)\(a \+ BASE\d+\[p\]\);", r"if (0) gather\1(a + BASE\1[p]);", src)
    if "datapath" in skip:
        src = re.sub(r"mlx_mac\(0, [^;]*\);", "", src)
        src = re.sub(r"const int32_t acc = mlx_read_load\(0, [^;]*\);", "const int32_t acc = o;", src)
    return src


def extension_program(net: IntNetwork, plans: list[LayerPlan], images: np.ndarray, facts: dict, *,
                      schedule: str = "resident", skip: tuple[str, ...] = ()) -> str:
    """C running ``images`` (first-layer step counts ``(N, inputs)``) through the extension; ``skip``: parts
    left out for a cycle breakdown (:data:`PARTS`)."""
    bad = set(skip) - set(PARTS)
    if bad:
        raise SocError(f"skip: {sorted(bad)} are not parts of the program; use some of {list(PARTS)}")
    if schedule not in SCHEDULES:
        raise SocError(f"schedule: {schedule!r} is not allowed; use one of {list(SCHEDULES)}")
    for i, plan in enumerate(plans):
        need = plan.registers
        if need > facts["a_regs"] or need > facts["w_regs"]:
            raise SocError(f"layer {i} ({plan.layer.spec.describe()}) needs {need} registers per output; build the "
                           f"SoC with --a-regs and --w-regs >= {need} (now {facts['a_regs']} and {facts['w_regs']})")
    layers = _without("".join(_extension_layer(net, p, i, schedule, facts) for i, p in enumerate(plans)), skip)
    head = _PRELUDE + '#include "mixlane_cfu.h"\n' + _requant_tables(net)
    calls = [f"layer{i}({'act0' if i == 0 else f'act{i}'});" for i in range(len(plans))]
    return head + _main(net, images, calls).replace("int main(void) {", layers + "\nint main(void) {", 1) \
        .replace("int main(void) {\n", "int main(void) {\n    if (mlx_info(MLX_INFO_CONFIG_HASH) != MLX_CONFIG_HASH) "
                 "{ mlx_puts(\"wrong extension\\n\"); return 2; }\n", 1)


def _rv32im_layer(net: IntNetwork, i: int) -> str:
    L = net.layers[i]
    s = L.spec
    src = [_arr(f"WQ{i}", "int8_t", L.w), _arr(f"BQ{i}", "int32_t", L.preload)]
    if L.w.size and (L.w.min() < -128 or L.w.max() > 127):
        raise SocError(f"layer {i}: weight codes beyond int8 cannot run on the INT8 reference kernels")
    # a bipolar 1-bit channel's code is 2b - 1 (the preload holds the matching correction)
    bip = L.a_bipolar.any()
    if bip:
        src.append(_arr(f"BIP{i}", "uint8_t", L.a_bipolar))
    if s.kind == "dense":
        body = f"""    for (int o = 0; o < {s.cout}; ++o) {{
        int32_t acc = BQ{i}[o];
        const int8_t *w = WQ{i} + o * {s.reduction};
        for (int k = 0; k < {s.reduction}; ++k) acc += {f"(BIP{i}[k] ? 2 * (int32_t)a[k] - 1 : (int32_t)a[k])" if bip else "(int32_t)a[k]"} * w[k];
        const int p = 0;
        {_store(net, i, "acc", "o", "p")}
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
            {_store(net, i, "acc", "o", "p")}
        }}
    }}"""
    src.append(f"static void layer{i}(const uint8_t *a) {{\n{body}\n}}\n")
    return "".join(src)


def rv32im_program(net: IntNetwork, images: np.ndarray) -> str:
    """C running ``images`` through the network on the plain core (INT8 reference kernels)."""
    layers = "".join(_rv32im_layer(net, i) for i in range(len(net.layers)))
    calls = [f"layer{i}({'act0' if i == 0 else f'act{i}'});" for i in range(len(net.layers))]
    return _PRELUDE + _requant_tables(net) + _main(net, images, calls).replace(
        "int main(void) {", layers + "\nint main(void) {", 1)
