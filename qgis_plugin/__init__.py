"""QGIS plugin of the county land-use monitoring assistant (县域土地利用监测).

This package runs inside QGIS's own Python and imports only QGIS, ``qgis.PyQt``
and the standard library, so it loads in any QGIS 3.22+ build, Windows included.
Everything heavy (rasterio, torch, the model) lives in the separate engine
service that the plugin talks to over HTTP.
"""


def classFactory(iface):  # name required by QGIS
    """QGIS entry point: return the plugin instance."""
    from .plugin import LandUseMonitorPlugin

    return LandUseMonitorPlugin(iface)
