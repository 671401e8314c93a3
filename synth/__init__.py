"""Synthesis and reports: Yosys (cells, area per block, transistor estimate) and OpenSTA (timing, power).

See :mod:`mixlane.synth.flow` and the script templates in ``synth/scripts/``; power from simulated switching
activity (gate-level simulation of a golden workload) is :mod:`mixlane.synth.power`.
"""

from .flow import (BLOCK_GROUPS, DEFAULT_CLOCK_NS, DEFAULT_LIBERTY, SynthError, run_yosys, sta_power_vectorless,
                   sta_timing, synthesize)
from .power import DEFAULT_CELL_MODELS, measure_power, parse_vcd, workload_macs, workload_ops

__all__ = ["BLOCK_GROUPS", "DEFAULT_CLOCK_NS", "DEFAULT_LIBERTY", "SynthError", "run_yosys", "synthesize",
           "sta_timing", "sta_power_vectorless", "DEFAULT_CELL_MODELS", "measure_power", "parse_vcd",
           "workload_macs", "workload_ops"]
