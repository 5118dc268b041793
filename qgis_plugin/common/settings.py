"""Plugin settings (QgsSettings keys) with their defaults."""

from qgis.core import QgsSettings

PREFIX = "county_landuse_monitor/"
DEFAULTS = {"engine_url": "http://127.0.0.1:8765", "token": "", "python": "", "language": "auto", "unit": "mu"}


def get(key):
    return QgsSettings().value(PREFIX + key, DEFAULTS[key], type=str)


def put(key, value):
    QgsSettings().setValue(PREFIX + key, value)
