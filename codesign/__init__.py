"""Co-design: train a network for a datapath configuration, compile it to the datapath's operations, run it on
the golden model and on the generated RTL, and report accuracy, size, cycles and energy per inference.

``data`` (bundled datasets), ``model`` (network specs, float and quantization-aware forward passes in JAX),
``train`` (float training and fine-tuning), ``assign`` (per-channel precisions under a bit budget), ``integer``
(the integer network and its inference), ``compile`` (layers -> datapath operations), ``dataflow`` (operand and
accumulator traffic of stationary orders), ``rtl`` (a sample of images through the Verilog), ``report`` and
``flow`` (the whole run, :func:`mixlane.codesign.flow.codesign`).

JAX, optax and scikit-learn are the optional extra ``mixlane[codesign]``; importing a module that needs them
without the extra raises :class:`CodesignError` naming the install command.
"""

from .errors import CodesignError

__all__ = ["CodesignError"]
