"""An operation stream (:class:`mixlane.golden.Ops`) as a C program for the SoC, and its printed read-outs.

The program pushes each ACC's registers into buffer entry 0 (A, W, M), issues ``mac``; LOAD and READ/READ_LOAD
go to the matching instructions; every read-out is printed as 8 hex digits, one per line. What the values must
be is the golden model's business (:func:`mixlane.golden.run`); this module only translates.
"""

from __future__ import annotations

import numpy as np

from mixlane.config import Config
from mixlane.golden import OP_ACC, OP_LOAD, OP_READ, OP_READ_LOAD, Ops
from mixlane.golden.layout import encode_meta_ints
from . import isa

__all__ = ["register_words", "meta_words", "ops_program", "parse_readouts"]


def register_words(cfg: Config, bits: np.ndarray) -> np.ndarray:
    """Bit arrays ``(B, width)`` -> ``(B, 2 * chunks)`` uint32 words in push order (zero-padded to 64 bits)."""
    bits = np.asarray(bits, np.uint8)
    n = isa.chunks(bits.shape[1])
    padded = np.zeros((len(bits), n * isa.CHUNK_BITS), np.uint8)
    padded[:, :bits.shape[1]] = bits
    return np.packbits(padded, axis=1, bitorder="little").view("<u4").reshape(len(bits), 2 * n)


def meta_words(cfg: Config, meta: np.ndarray) -> np.ndarray:
    """Metadata codes ``(B, F)`` -> ``(B, 2 * chunks)`` uint32 words of the ``meta`` port value."""
    n = isa.chunks(cfg.meta_bits)
    out = np.zeros((len(meta), 2 * n), np.uint32)
    for i, v in enumerate(encode_meta_ints(cfg, meta)):
        for k in range(2 * n):
            out[i, k] = (v >> (32 * k)) & 0xFFFFFFFF
    return out


def _c_array(name: str, ctype: str, rows: np.ndarray) -> str:
    rows = np.asarray(rows)
    if rows.ndim == 1:
        body = ",".join(str(int(v)) for v in rows)
        return f"static const {ctype} {name}[{max(len(rows), 1)}] = {{{body or '0'}}};\n"
    inner = ",\n".join("{" + ",".join(f"0x{int(v):x}u" for v in r) + "}" for r in rows)
    return f"static const {ctype} {name}[{max(len(rows), 1)}][{rows.shape[1]}] = {{\n{inner or '{0}'}\n}};\n"


def ops_program(cfg: Config, ops: Ops) -> str:
    """C source running ``ops`` through the extension and printing every read-out."""
    a = register_words(cfg, ops.a)
    w = register_words(cfg, ops.w)
    m = meta_words(cfg, ops.meta)
    src = ['#include <stdint.h>', '#include "mixlane_cfu.h"', '#include "mixlane_soc.h"', "",
           f"#define N_OPS {len(ops)}",
           _c_array("OP", "uint8_t", ops.op), _c_array("SEL", "uint8_t", ops.sel),
           _c_array("BIAS", "int32_t", ops.bias), _c_array("A", "uint32_t", a), _c_array("W", "uint32_t", w),
           _c_array("M", "uint32_t", m),
           f"""
int main(void) {{
    if (mlx_info(MLX_INFO_CONFIG_HASH) != MLX_CONFIG_HASH) {{ mlx_puts("wrong extension\\n"); return 2; }}
    for (uint32_t i = 0; i < N_OPS; ++i) {{
        switch (OP[i]) {{
        case {OP_ACC}:
            mlx_setptr(MLX_PTR_A, 0); mlx_setptr(MLX_PTR_W, 0); mlx_setptr(MLX_PTR_M, 0);
            for (uint32_t k = 0; k < {a.shape[1]}; k += 2) {{ mlx_a_push(A[i][k], A[i][k + 1]); mlx_w_push(W[i][k], W[i][k + 1]); }}
            for (uint32_t k = 0; k < {m.shape[1]}; k += 2) mlx_m_push(M[i][k], M[i][k + 1]);
            mlx_mac_sel(SEL[i], 0, 0, 1);
            break;
        case {OP_LOAD}: mlx_load_sel(SEL[i], BIAS[i]); break;
        case {OP_READ}: mlx_put_hex(mlx_read_sel(SEL[i])); break;
        case {OP_READ_LOAD}: mlx_put_hex(mlx_read_load_sel(SEL[i], BIAS[i])); break;
        }}
    }}
    return 0;
}}
"""]
    return "\n".join(src)


def parse_readouts(text: str, cfg: Config) -> np.ndarray:
    """The printed read-outs (8 hex digits a line) as signed ``acc_width``-bit values (int64)."""
    vals = np.array([int(line, 16) for line in text.split()], np.int64)
    vals &= (1 << cfg.acc_width) - 1
    return np.where(vals >> (cfg.acc_width - 1), vals - (1 << cfg.acc_width), vals)
