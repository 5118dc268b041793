"""The plugin's exceptions: one base class, one class per failure a user can act on."""


class PluginError(Exception):
    """Base class; ``hint`` tells the user what to do."""

    hint = ""

    def __init__(self, message, hint=None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class EngineUnreachableError(PluginError):
    """No engine answers at the configured URL."""

    hint = "启动本地引擎（设置 → 启动本地引擎）或检查引擎地址 / start the engine or check its URL in the settings"


class UnauthorisedError(PluginError):
    """The engine refused the token."""

    hint = "在设置中填写正确的令牌 / enter the engine's token in the settings"


class EngineBusyError(PluginError):
    """The engine's queue is full."""

    hint = "引擎繁忙，请稍后重试 / the engine is busy, try again shortly"


class EngineReturnedError(PluginError):
    """The engine answered with an error (bad layer, extent outside, ...)."""


class LayerError(PluginError):
    """The chosen layer cannot be asked about (not a raster, no CRS, no file)."""
