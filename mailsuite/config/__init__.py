"""Configuration: TOML in, a typed and checked settings tree out."""

from mailsuite.config.load import load_settings, resolve_path, settings_from_mapping
from mailsuite.config.schema import Settings

__all__ = ["Settings", "load_settings", "resolve_path", "settings_from_mapping"]
