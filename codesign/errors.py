"""The co-design error type and the check for the optional dependencies."""

from __future__ import annotations

import importlib

__all__ = ["CodesignError", "require"]


class CodesignError(ValueError):
    """Bad co-design input (dataset, model spec, budget, a configuration that cannot run the network) or a
    missing optional dependency; the message is one line naming the fix."""


def require(module: str):
    """Import ``module`` (jax, optax, sklearn) or raise :class:`CodesignError` with the install command."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise CodesignError(f"{module}: not installed; co-design needs the optional extra, "
                            "pip install 'mixlane[codesign]'") from None
