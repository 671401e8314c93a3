"""Synthesis and reports: Yosys (cells, area per block, transistor estimate) and OpenSTA (timing, power).

Modules by job, lowest layer first (each imports only from layers below it):

- :mod:`~mixlane.synth.tools`: finding and running the tools, defaults, :class:`SynthError`;
- :mod:`~mixlane.synth.liberty`: liberty files (cells, full-adder and buffer cells, the activity copy);
- :mod:`~mixlane.synth.flow` (Yosys synthesis, area per block), :mod:`~mixlane.synth.sta` (OpenSTA timing and
  vectorless power), :mod:`~mixlane.synth.workload` (power workloads), :mod:`~mixlane.synth.vcd` (toggle counts);
- :mod:`~mixlane.synth.power` (power from simulated switching activity), :mod:`~mixlane.synth.metrics` (the
  numbers of a report), :mod:`~mixlane.synth.cache` (the baseline cache);
- :mod:`~mixlane.synth.render` (report files), :mod:`~mixlane.synth.compare` (``mixlane report``);
- :mod:`~mixlane.synth.report` (``mixlane synth``: :func:`~mixlane.synth.report.run_synth`).

The script templates are in ``synth/scripts/``.
"""

from .flow import BLOCK_GROUPS, synthesize
from .power import measure_power
from .sta import sta_power_vectorless, sta_timing
from .tools import DEFAULT_CELL_MODELS, DEFAULT_CLOCK_NS, DEFAULT_LIBERTY, SynthError, run_yosys
from .vcd import parse_vcd
from .workload import workload_macs, workload_ops

__all__ = ["BLOCK_GROUPS", "DEFAULT_CLOCK_NS", "DEFAULT_LIBERTY", "SynthError", "run_yosys", "synthesize",
           "sta_timing", "sta_power_vectorless", "DEFAULT_CELL_MODELS", "measure_power", "parse_vcd",
           "workload_macs", "workload_ops"]
