"""Errors shared by every layer of mixlane (kept apart so that the configuration and the architecture
registry can both raise them without importing each other)."""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A configuration value or combination is not allowed; the message is one line naming the fix."""
