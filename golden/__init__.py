"""Bit-exact golden model of the mixlane datapath (pure numpy; knows no HDL and no simulator).

``layout`` decodes precision metadata, ``arith`` unpacks elements and computes register sums and the
accumulator sequence, ``tensor`` packs whole tensors (dot product, matrix-vector, 2-D convolution), ``sparse``
the run-time sparsity schemes (SPARQ trimming, NB-SMT sharing, zero gating).
"""

from .layout import (bits_to_ints, decode, encode_meta_ints, ints_to_bits, meta_field_bits, meta_fields,
                     meta_for_precision, meta_from_ints, pattern_layouts, uniform_meta)
from .arith import (OP_ACC, OP_LOAD, OP_NAMES, OP_READ, OP_READ_LOAD, Ops, Results, elements_at, op_cycles, pack,
                    peak_macs_per_cycle, result_count, register_results, register_sum, run, saturate, unpack, wrap)
from .tensor import (PackedReduction, conv2d_ops, dot_ops, im2col, matvec_ops, pack_reduction, read_order,
                     results_to_tensor)
from .sparse import (SchemeStats, bsparq_trim, gated_lanes, nbsmt_values, scheme_stats, trim_parts, vsparq_pairs,
                     zero_pair_fraction)

__all__ = [
    "bits_to_ints", "decode", "encode_meta_ints", "ints_to_bits", "meta_field_bits", "meta_fields",
    "meta_for_precision", "meta_from_ints", "pattern_layouts", "uniform_meta",
    "OP_ACC", "OP_LOAD", "OP_NAMES", "OP_READ", "OP_READ_LOAD", "Ops", "Results", "elements_at", "op_cycles", "pack",
    "peak_macs_per_cycle", "result_count", "register_results", "register_sum", "run", "saturate", "unpack", "wrap",
    "PackedReduction", "conv2d_ops", "dot_ops", "im2col", "matvec_ops", "pack_reduction", "read_order",
    "results_to_tensor",
    "SchemeStats", "bsparq_trim", "gated_lanes", "nbsmt_values", "scheme_stats", "trim_parts", "vsparq_pairs",
    "zero_pair_fraction",
]
