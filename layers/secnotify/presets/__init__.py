"""Ready integrations for the receivers people use, kept as data (README "Presets")."""

from secnotify.presets.catalog import Preset, PresetField, presets

__all__ = ["Preset", "PresetField", "presets"]
