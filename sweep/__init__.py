"""Design-space sweeps: ``mixlane sweep SPEC.toml -o DIR``.

``spec`` (the TOML spec and its points), ``steps`` (the registry of sweep steps: generate, verify, prove, synth,
codesign), ``cache`` (one folder per point and step, keyed by everything the step depends on), ``run`` (the
local executor), ``table`` (the results as CSV / JSON / SQLite).
"""

from .spec import SweepError

__all__ = ["SweepError"]
