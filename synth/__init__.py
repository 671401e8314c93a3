"""Synthesis and reports: Yosys (cells, area per block, transistor estimate) and OpenSTA (timing, power).

See :mod:`mixlane.synth.flow` and the script templates in ``synth/scripts/``.
"""

from .flow import (BLOCK_GROUPS, DEFAULT_CLOCK_NS, DEFAULT_LIBERTY, SynthError, run_yosys, sta_power_vectorless,
                   sta_timing, synthesize)

__all__ = ["BLOCK_GROUPS", "DEFAULT_CLOCK_NS", "DEFAULT_LIBERTY", "SynthError", "run_yosys", "synthesize",
           "sta_timing", "sta_power_vectorless"]
