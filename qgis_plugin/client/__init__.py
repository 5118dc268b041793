"""Talking to the engine service through QGIS's network stack (so proxy settings apply)."""
