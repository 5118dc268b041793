"""The plugin's exceptions: one base class, one class per failure a user can act on.

Messages and hints are English source text translated with ``tr`` (zh_CN in
``i18n/``), so a Chinese QGIS shows them in Chinese; ``details`` keeps the
technical text (the engine's message, the network error) for the message
bar's details, never cut.
"""

from qgis.PyQt.QtCore import QCoreApplication


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


class PluginError(Exception):
    """Base class; ``hint`` tells the user what to do, ``details`` what exactly happened."""

    hint = ""

    def __init__(self, message, hint=None, details=""):
        super().__init__(message)
        if hint is not None:
            self.hint = hint
        self.details = details


class EngineUnreachableError(PluginError):
    """No engine answers at the configured URL."""

    hint = "Start the engine (Settings → Start a local engine) or check its URL"


class UnauthorisedError(PluginError):
    """The engine refused the token."""

    hint = "Enter the engine's token in the settings"


class EngineBusyError(PluginError):
    """The engine's queue is full."""

    hint = "The engine is busy: try again shortly"


class EngineReturnedError(PluginError):
    """The engine answered with an error (bad layer, extent outside, ...)."""


class LayerError(PluginError):
    """The chosen layer cannot be asked about (not a raster, no CRS, no file)."""
