"""Formal equivalence of the MAC lanes with a behavioural reference (``mixlane prove``).

- :mod:`~mixlane.formal.lanes`: the lane modules of a datapath Verilog file and their port maps;
- :mod:`~mixlane.formal.harness`: the behavioural reference and the proof harness (Amaranth);
- :mod:`~mixlane.formal.prove`: running the proofs (Yosys ``sat``), results and counterexamples;
- :mod:`~mixlane.formal.report`: the table and counterexample lines of the command.
"""

from .lanes import ProveError
from .prove import Proof, ProveReport, prove
from .report import format_counterexample, proof_table

__all__ = ["ProveError", "Proof", "ProveReport", "prove", "proof_table", "format_counterexample"]
