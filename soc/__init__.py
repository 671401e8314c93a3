"""The processor target: VexRiscv with the datapath as its custom function unit, programs in C, cycles."""

from .errors import ProgramError, SocError

__all__ = ["ProgramError", "SocError"]
