"""The dock's layers: the current-date raster, any number of baselines, each with its date and band roles.

When a layer is chosen, the engine is asked what it is (``/v1/inspect``,
asynchronously: nothing waits for the reply); its date fills the date field and
its band roles the band-role editor, so a person only steps in where the
metadata is silent (a stack without band names, a file without a date).
Nothing is asked before the dock is built (``activate``).
"""

import re

from qgis.core import QgsMapLayerProxyModel, QgsProject, QgsRasterLayer
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtCore import QCoreApplication, pyqtSignal
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QToolButton, QVBoxLayout, QWidget

from ..common.errors import LayerError
from ..common.layers import layer_params
from .band_roles import BandRolesDialog

DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
# a date in a file or folder name: Landsat's 20130707, Sentinel-2's 20240501T..., scene_2024-05-01
NAME_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?!\d)")


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


def date_in_name(layer):
    """YYYY-MM-DD from the layer's file or folder name (or its name), or ''."""
    source = layer.source().split("|")[0].replace("\\", "/")
    for text in (*reversed(source.split("/")[-2:]), layer.name()):
        m = NAME_DATE.search(text)
        if m:
            return "-".join(m.groups())
    return ""


class LayerRow(QWidget):
    """One raster layer with its date and band roles."""

    described = pyqtSignal()  # the engine's description arrived (or failed)

    def __init__(self, api_factory, baseline, parent=None):
        super().__init__(parent)
        self.api_factory = api_factory
        self.description = None  # the engine's /v1/inspect record for the layer
        self.band_map = {}  # role -> band index chosen by a person
        self.auto_date = ""  # the date last filled in from the metadata
        self.call = None  # the /v1/inspect request in flight
        self.active = False  # the dock is built: the engine may be asked
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.layer_box = QgsMapLayerComboBox()
        self.layer_box.setFilters(QgsMapLayerProxyModel.Filter.RasterLayer)
        if baseline:
            self.layer_box.setAllowEmptyLayer(True)
            self.layer_box.setLayer(None)
        row.addWidget(self.layer_box, 3)
        self.date = QLineEdit()
        self.date.setObjectName("date")
        self.date.setPlaceholderText(tr("YYYY-MM-DD"))
        self.date.setToolTip(tr("Acquisition date; filled from the layer's metadata"))
        self.date.setFixedWidth(self.date.fontMetrics().horizontalAdvance("2024-12-31") + 16)
        row.addWidget(self.date, 1)
        self.bands_button = QToolButton()
        self.bands_button.setObjectName("bandsButton")
        self.bands_button.setText(tr("Bands…"))
        self.bands_button.setToolTip(tr("Which band is red, near infrared, …"))
        self.bands_button.clicked.connect(self.edit_bands)
        row.addWidget(self.bands_button)
        self.remove_button = None
        if baseline:
            self.remove_button = QToolButton()
            self.remove_button.setText("✕")
            self.remove_button.setToolTip(tr("Remove this baseline"))
            row.addWidget(self.remove_button)
        outer.addLayout(row)
        self.info = QLabel("")
        self.info.setObjectName("layerInfo")
        self.info.setWordWrap(True)
        outer.addWidget(self.info)
        self.layer_box.layerChanged.connect(self._layer_changed)
        self._layer_changed(self.layer_box.currentLayer())

    def params(self):
        """The layer as ``LayerParams``, or None when none is chosen."""
        layer = self.layer_box.currentLayer()
        if layer is None:
            return None
        params = layer_params(layer)
        text = self.date.text().strip()
        if text and not DATE.match(text):
            raise LayerError(tr("Write the date of {} as YYYY-MM-DD").format(layer.name()))
        params.date = text
        params.band_map = dict(self.band_map)
        return params

    def missing_roles(self):
        return list((self.description or {}).get("missing_roles") or [])

    # -- asking the engine what the layer is ----------------------------------------------------
    def _layer_changed(self, layer):
        self.description, self.band_map = None, {}
        if self.date.text() == self.auto_date:
            self.date.clear()
        self.auto_date = ""
        self.info.setText("")
        self.describe()

    def describe(self):
        try:
            params = self.params()
        except LayerError as exc:
            self.info.setText(str(exc))
            return
        if params is None or not self.active:
            return
        self.abort()
        self.info.setText(tr("Reading the layer's metadata…"))
        self.call = self.api_factory().inspect([params.body()])
        self.call.done.connect(self._on_reply)

    def abort(self):
        if self.call is not None:
            self.call.abort()
            self.call = None

    def _on_reply(self, data, error):  # main thread
        self.call = None
        self._on_described(data["layers"] if isinstance(data, dict) and "layers" in data else None, error)

    def _on_described(self, descriptions, error):
        if descriptions is None:
            self.info.setText(tr("The engine is not reachable: the date and bands will be read when you ask")
                              if error is None or type(error).__name__ == "EngineUnreachableError"
                              else str(error))
            self.info.setToolTip(getattr(error, "details", "") or "")
            self.described.emit()
            return
        self.description = d = descriptions[0]
        if d.get("date") and (not self.date.text() or self.date.text() == self.auto_date):
            self.date.setText(d["date"])
            self.auto_date = d["date"]
        parts = [d.get("sensor_label") or ""]
        if d.get("error") and d["error"].get("code") != "band_roles_unknown":
            parts = [d["error"].get("message", "")]
        elif not d.get("date") and not self.date.text():
            parts.append(tr("⚠ no date in the metadata: type it"))
        missing = self.missing_roles()
        if missing:
            parts.append(tr("⚠ band roles missing: {} (click Bands…)").format(", ".join(missing)))
        self.bands_button.setText(tr("Bands…") + (" ⚠" if missing else ""))
        self.info.setText("  ".join(p for p in parts if p))
        self.described.emit()

    def edit_bands(self):
        d = self.description or {}
        bands = d.get("file_bands") or []
        if not bands:
            self.info.setText(tr("The engine reads this product's bands from its metadata; nothing to choose"))
            return None
        known = {role: int(v) for role, v in (d.get("roles") or {}).items() if str(v).isdigit()}
        dialog = BandRolesDialog(bands, {**known, **self.band_map}, self.missing_roles(), self)
        if dialog.exec():
            self.band_map = dialog.band_map()
            self.describe()  # the engine checks the choice
        return dialog


class LayersPanel(QWidget):
    """The current layer and the baselines (added and removed by the user)."""

    def __init__(self, api_factory, parent=None):
        super().__init__(parent)
        self.api_factory = api_factory
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(tr("Current layer")))
        self.current = LayerRow(api_factory, baseline=False)
        self.current.layer_box.setObjectName("currentLayer")
        layout.addWidget(self.current)
        header = QHBoxLayout()
        header.addWidget(QLabel(tr("Baseline layers")))
        self.add_button = QPushButton(tr("+ Baseline"))
        self.add_button.setObjectName("addBaseline")
        self.add_button.clicked.connect(lambda: self.add_baseline())
        header.addStretch(1)
        header.addWidget(self.add_button)
        layout.addLayout(header)
        self.rows_layout = QVBoxLayout()
        layout.addLayout(self.rows_layout)
        self.baselines = []
        self.add_baseline()

    def add_baseline(self, layer=None):
        row = LayerRow(self.api_factory, baseline=True)
        row.active = self.current.active
        row.layer_box.setObjectName(f"baselineLayer{len(self.baselines)}")
        row.remove_button.clicked.connect(lambda: self.remove_baseline(row))
        self.baselines.append(row)
        self.rows_layout.addWidget(row)
        if layer is not None:
            row.layer_box.setLayer(layer)
        return row

    def remove_baseline(self, row):
        self.baselines.remove(row)
        row.setParent(None)
        row.deleteLater()

    def rows(self):
        return [self.current, *self.baselines]

    def choose_defaults(self):
        """The latest raster of the project as the current layer and the one before as the baseline.

        Dates come from the layers' file and folder names (no network: the dock is still being built); the engine
        corrects them in the date fields once it has read the metadata.
        """
        rasters = [layer for layer in QgsProject.instance().mapLayers().values() if isinstance(layer, QgsRasterLayer)]
        dated = sorted(((date_in_name(layer), layer.name(), layer) for layer in rasters if date_in_name(layer)),
                       key=lambda t: (t[0], t[1]))
        if not dated:
            return
        self.current.layer_box.setLayer(dated[-1][2])
        if len(dated) > 1 and self.baselines and self.baselines[0].layer_box.currentLayer() is None:
            self.baselines[0].layer_box.setLayer(dated[-2][2])

    def activate(self):
        """The dock is built: describe the chosen layers (and any chosen later)."""
        for row in self.rows():
            row.active = True
            row.describe()

    def refresh(self):
        """Ask again about layers the engine could not describe (it has just come up)."""
        for row in self.rows():
            if row.description is None and row.call is None:
                row.describe()

    def abort(self):
        for row in self.rows():
            row.abort()

    def layer_params(self):
        """Every chosen layer as ``LayerParams``, the current one first, each file once."""
        current = self.current.params()
        if current is None:
            raise LayerError(tr("Load a Landsat or Sentinel-2 layer and choose it"))
        layers = [current]
        for row in self.baselines:
            params = row.params()
            if params is not None and params.path not in [lp.path for lp in layers]:
                layers.append(params)
        return layers
