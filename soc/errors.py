"""Errors of the processor target."""

from __future__ import annotations

__all__ = ["SocError", "ProgramError"]


class SocError(RuntimeError):
    """The SoC cannot be built or a program cannot run here; one line naming the fix."""


class ProgramError(RuntimeError):
    """The user's program failed: ``kind`` is ``compile`` (exit 2) or ``run`` (a hang, trap or bus error: 3)."""

    def __init__(self, message: str, *, kind: str, details: str = ""):
        super().__init__(message)
        self.kind = kind
        self.details = details
