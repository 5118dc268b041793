"""The facts table: class areas per date, transitions, zone violations and the largest findings, in one unit.

Rows that are places (violations, findings) carry where they are in
EPSG:4326; double-clicking one zooms the map to it.
"""

from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject, QgsRectangle
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ..common.vocab import CLASSES, UNIT_M2, UNITS, class_names

MAX_FINDING_ROWS = 50  # largest findings listed for zooming
POINT_HALF_SIZE_DEG = 0.002  # a violation known by its centroid is shown in a box this big around it


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


class FactsTable(QTableWidget):
    def __init__(self, canvas, parent=None):
        super().__init__(0, 0, parent)
        self.canvas = canvas
        self.setObjectName("factsTable")
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.cellDoubleClicked.connect(lambda row, column: self.zoom_to_row(row))

    def show_facts(self, facts, findings, unit):
        """Fill the table from the engine's facts and findings, areas in ``unit`` (mu, ha or km2)."""
        self.clear()
        self.setRowCount(0)
        if not facts:
            return
        dates = facts.get("dates", [])
        names = class_names()
        self.setColumnCount(1 + len(dates))
        self.setHorizontalHeaderLabels([tr("Class")] + [f"{d} ({dict(UNITS)[unit]})" for d in dates])
        rows = []  # (cells, where: (lon, lat) or (xmin, ymin, xmax, ymax) in EPSG:4326, or None)
        for key, _ in CLASSES:
            rows.append(([names[key], *(_fmt(facts["classes"][d][key][f"area_{unit}"]) for d in dates)], None))
        tail = [""] * (len(dates) - 1)
        for t in facts.get("transitions", []):
            rows.append(([f"{names.get(t['from'], t['from'])} → {names.get(t['to'], t['to'])}", *tail,
                          _fmt(t[f"area_{unit}"])], None))
        for zone in facts.get("zones", []):
            for v in zone.get("violations", []):
                where = (v["centroid_lon"], v["centroid_lat"]) if "centroid_lon" in v else None
                text = tr("⚠ {}: {} → {}").format(zone.get("name"), names.get(v["class_from"], v["class_from"]),
                                                   names.get(v["class_to"], v["class_to"]))
                rows.append(([text, *tail, _fmt(v["area_m2"] / UNIT_M2[unit])], where))
        for i, f in enumerate((findings or {}).get("features", [])[:MAX_FINDING_ROWS]):
            p = f["properties"]
            text = tr("Patch {}: {} → {}").format(i + 1, names.get(p.get("class_from"), p.get("class_from")),
                                                  names.get(p.get("class_to"), p.get("class_to")))
            rows.append(([text, *tail, _fmt(p.get(f"area_{unit}", 0.0))], _bbox(f["geometry"])))
        self.setRowCount(len(rows))
        for r, (row, where) in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, where)
                if c > 0:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if where is not None:
                    item.setToolTip(tr("Double-click to zoom to it"))
                elif c == 0:
                    item.setToolTip(text)
                self.setItem(r, c, item)
        header = self.horizontalHeader()  # the numbers always whole; long names elided (full in the tooltip)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, self.columnCount()):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)

    def zoom_to_row(self, row):
        """Zoom the map to the finding or violation in ``row``; False when the row is not a place."""
        item = self.item(row, 0)
        where = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if not where:
            return False
        if len(where) == 2:
            lon, lat = where
            d = POINT_HALF_SIZE_DEG
            where = (lon - d, lat - d, lon + d, lat + d)
        to_canvas = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"),
                                           self.canvas.mapSettings().destinationCrs(), QgsProject.instance())
        box = to_canvas.transformBoundingBox(QgsRectangle(*where))
        box.scale(1.5)
        self.canvas.setExtent(box)
        self.canvas.refresh()
        return True


def _bbox(geometry):
    """(xmin, ymin, xmax, ymax) of a GeoJSON (multi)polygon."""
    coords = geometry.get("coordinates", [])
    points = [pt for ring in (coords if geometry.get("type") == "Polygon" else [r for poly in coords for r in poly])
              for pt in ring]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (min(xs), min(ys), max(xs), max(ys)) if points else None


def _fmt(value):
    return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
