"""C for a compiled network through the extension (the program's frame: :mod:`mixlane.soc.cprog`).

Through the extension (:func:`extension_program`), per layer:

- the layer's metadata words go into ``M`` (one copy per position ``A`` holds); ``W`` holds the weights of
  ``w_regs // R`` outputs (``R`` registers per reduction) and ``A`` the activations of ``a_regs // R`` positions,
  in the loop nest that moves fewer words (``schedule="resident"``), or the weights of one output are pushed for
  every position (``"streamed"``, the design without weight reuse);
- per output position, generated straight-line code gathers the reduction's activations into registers in the
  datapath's packing (the golden model's plan of that layer: :func:`mixlane.golden.pack_reduction`) and pushes
  them into ``A``; then per output one ``mac`` over the ``R`` pairs and one ``read_load`` (which presets the
  next output's bias).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from mixlane.codesign.compile import Reduction
from mixlane.codesign.integer import IntLayer, IntNetwork
from mixlane.config import Config
from mixlane.golden import pack_reduction
from .cprog import c_array, program, source_offsets, store_output
from .errors import SocError
from .stream import meta_words, register_words

__all__ = ["SCHEDULES", "PARTS", "LayerPlan", "plan_layer", "plan_layers", "extension_program"]

#: ``resident``: weights and activations held in the buffers, the loop nest that moves fewer words per layer;
#: ``weights`` / ``activations``: that loop nest forced (weights outer: each position gathered once per group of
#: outputs; activations outer: each weight group pushed once per group of positions); ``streamed``: no reuse.
SCHEDULES = ("resident", "weights", "activations", "streamed")
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


def plan_layer(cfg: Config, L: IntLayer, red: Reduction) -> LayerPlan:
    """Registers, gather lists, weights and biases of layer ``L`` under its reduction order ``red``."""
    # a value every element can hold (0, or +1 where a 0 bit means -1: Config.gateable)
    dummy = np.array([0 if cfg.gateable(int(p)) else 1 for p in red.prec], np.int64)
    packed = pack_reduction(cfg, dummy, dummy, prec=red.prec)
    _, ww = red.apply(np.zeros((len(L.w[0]), 1), np.int64), L.w)
    words = np.stack([register_words(cfg, pack_reduction(cfg, dummy, ww[o], prec=red.prec).w_bits)
                      for o in range(len(ww))])
    offs, bases = source_offsets(L)
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
    order = {"streamed": "w", "weights": "w", "activations": "a"}.get(schedule) or _loop_order(plan, Pc, G)
    Pc = Pc if order == "a" else 1
    src = [c_array(f"W{i}", "uint32_t", plan.words), c_array(f"M{i}", "uint32_t", plan.meta),
           c_array(f"B{i}", "int32_t", np.append(plan.bias, 0)), c_array(f"BASE{i}", "uint32_t", plan.columns),
           _gather_code(plan, i)]
    store = store_output(net, i, "acc", "o", "p")
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
    calls = [f"layer{i}(act{i});" for i in range(len(plans))]
    check = '    if (mlx_info(MLX_INFO_CONFIG_HASH) != MLX_CONFIG_HASH) { mlx_puts("wrong extension\\n"); return 2; }\n'
    return program(net, images, layers, calls, head='#include "mixlane_cfu.h"\n', check=check)
