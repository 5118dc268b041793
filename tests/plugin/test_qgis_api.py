"""The plugin uses only QGIS and Qt API that exists in its ``qgisMinimumVersion`` (3.22), checked in that QGIS.

Three checks, run inside Debian's QGIS 3.22:

- every method the plugin calls on an object it constructed from a QGIS or Qt class (``x = QgsJsonExporter(...)``
  then ``x.setDestinationCrs(...)``) exists on that class here;
- every method name the plugin calls exists on some QGIS, Qt or standard-library object, or is the plugin's own;
- the QGIS API the plugin relies on (the list below, kept by hand) exists here.
"""

import ast
import builtins
import configparser
import importlib
import inspect
import re

import qgis.core
import qgis.gui
from conftest import REPO
from qgis.PyQt import QtCore, QtGui, QtNetwork, QtWidgets

PLUGIN = REPO / "qgis_plugin"
SOURCES = sorted(PLUGIN.rglob("*.py"))
MODULES = (qgis.core, qgis.gui, QtCore, QtGui, QtNetwork, QtWidgets)
# QGIS API the plugin relies on: (class, attribute), in 3.22
RELIED_ON = [
    ("QgsNetworkAccessManager", "instance"), ("QgsCoordinateTransform", "transformBoundingBox"),
    ("QgsGeometry", "transform"), ("QgsGeometry", "asJson"), ("QgsGeometry", "isEmpty"),
    ("QgsFeature", "attribute"), ("QgsVectorLayer", "fields"), ("QgsFields", "names"),
    ("QgsMessageBar", "pushMessage"), ("QgsMessageBar", "createMessage"), ("QgsMessageBar", "pushWidget"),
    ("QgsProcessingAlgorithm", "FlagNoThreading"), ("QgsProcessingFeedback", "canceled"),
    ("QgsMapLayerComboBox", "setAllowEmptyLayer"), ("QgsMapLayerProxyModel", "PolygonLayer"),
    ("QgsRasterLayer", "source"), ("QgsSettings", "value"), ("QgsProject", "instance"),
]


def _classes():
    out = {}
    for module in MODULES:
        for name, value in vars(module).items():
            if inspect.isclass(value):
                out[name] = value
    return out


def _calls(tree):
    """(receiver name or None, method) for every ``x.method(...)`` call."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value.id if isinstance(node.func.value, ast.Name) else None
            yield receiver, node.func.attr, node.lineno


def _constructed(tree, classes):
    """Local names bound to a new QGIS/Qt object in each function: {(function node, name): class}."""
    out = {}
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef):
            continue
        for node in ast.walk(func):
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                    and isinstance(node.value.func, ast.Name) and node.value.func.id in classes):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        out[(func, target.id)] = classes[node.value.func.id]
    return out


def test_methods_called_on_constructed_qgis_objects_exist_in_this_qgis():
    classes = _classes()
    missing = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bound = _constructed(tree, classes)
        for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            for receiver, method, line in _calls(func):
                cls = bound.get((func, receiver))
                if cls is not None and not hasattr(cls, method):
                    missing.append(f"{path.relative_to(REPO)}:{line} {cls.__name__}.{method}")
    assert not missing, f"not in QGIS {qgis.core.Qgis.QGIS_VERSION}: {missing}"


def _stdlib_imported():
    """The standard-library modules the plugin imports, and their classes."""
    out = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                if name and not name.startswith("qgis"):
                    module = importlib.import_module(name)
                    out += [module, *(v for v in vars(module).values() if inspect.isclass(v) or inspect.ismodule(v))]
    return out


def test_every_method_name_called_exists_somewhere_here():
    known = set(dir(builtins))
    for value in [*_classes().values(), *_stdlib_imported(), str, bytes, dict, list, set, tuple, int, float,
                  re.compile(""), re.match("", ""), configparser.ConfigParser]:
        known |= set(dir(value))
    own = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                own.add(node.name)
            elif isinstance(node, ast.Assign):  # signals and attributes defined in the plugin
                own |= {t.id for t in node.targets if isinstance(t, ast.Name)}
                own |= {t.attr for t in node.targets if isinstance(t, ast.Attribute)}
    unknown = []
    for path in SOURCES:
        for _, method, line in _calls(ast.parse(path.read_text(encoding="utf-8"))):
            if method not in known and method not in own:
                unknown.append(f"{path.relative_to(REPO)}:{line} .{method}()")
    assert not unknown, f"called but defined by nothing in QGIS {qgis.core.Qgis.QGIS_VERSION}: {unknown}"


def test_the_api_the_plugin_relies_on_exists_in_this_qgis():
    classes = _classes()
    missing = [f"{c}.{a}" for c, a in RELIED_ON if c not in classes or not hasattr(classes[c], a)]
    assert not missing, missing


def test_the_checks_catch_an_api_newer_than_the_minimum(tmp_path):
    """The exporter call that broke zones in 3.22 is caught by the first check."""
    tree = ast.parse("from qgis.core import QgsJsonExporter\n"
                     "def zones(layer):\n    e = QgsJsonExporter(layer)\n    e.setDestinationCrs(None)\n")
    classes = _classes()
    bound = _constructed(tree, classes)
    func = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))
    calls = [(bound.get((func, r)), m) for r, m, _ in _calls(func)]
    assert any(cls is not None and not hasattr(cls, m) for cls, m in calls)


def test_the_minimum_version_is_the_qgis_tested_here():
    meta = (REPO / "metadata.txt").read_text(encoding="utf-8")
    minimum = re.search(r"qgisMinimumVersion=(\d+)\.(\d+)", meta).groups()
    running = qgis.core.Qgis.QGIS_VERSION.split(".")[:2]
    assert [int(x) for x in minimum] == [int(x) for x in running], "test in the minimum QGIS the plugin promises"
