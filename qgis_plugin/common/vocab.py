"""The engine's land-cover classes, area units and answer stages, as every part of the plugin names them."""

from qgis.PyQt.QtCore import QCoreApplication

# class id (as in the engine's facts) -> English name (translated with tr(); zh_CN in i18n/)
CLASSES = [("water", "Water"), ("built_up", "Built-up land"), ("bare", "Bare land"),
           ("cropland_grassland", "Cropland and grassland"), ("forest", "Forest")]
# band role (as the engine names it) -> English name (translated with tr())
BAND_ROLES = [("blue", "Blue"), ("green", "Green"), ("red", "Red"), ("nir", "Near infrared"),
              ("swir1", "Shortwave infrared 1"), ("swir2", "Shortwave infrared 2")]
UNITS = [("mu", "亩"), ("ha", "公顷"), ("km2", "平方公里")]  # the units county reports use, by their Chinese names
UNIT_M2 = {"mu": 10000.0 / 15.0, "ha": 10000.0, "km2": 1_000_000.0}
# progress (%) reached when an answer's event of that kind arrives
STAGE_PROGRESS = {"progress": 10, "facts": 40, "token": 60, "findings": 85, "audit": 95, "done": 100}


def class_names():
    """Class id -> its name in the interface language."""
    return {key: QCoreApplication.translate("LandUseMonitor", name) for key, name in CLASSES}
