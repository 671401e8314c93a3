"""mixlane: generate, verify and measure mixed-precision SIMD datapaths for quantized neural networks."""

from .config import PRESETS, Config, ConfigError, load_config, preset

__all__ = ["Config", "ConfigError", "PRESETS", "load_config", "preset"]
__version__ = "0.1.0"
