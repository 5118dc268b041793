"""The facts of one answer in four tabs: class areas per date, changes, change patches and protection zones.

Every area is shown in one unit (亩, 公顷 or km²). Rows that are places
(patches, zone violations) carry where they are in EPSG:4326; double-clicking
one zooms the map to it.
"""

from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject, QgsRectangle
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QTabWidget

from ..common.vocab import CLASSES, UNIT_M2, UNITS, class_names

MAX_FINDING_ROWS = 200  # largest patches listed for zooming (the export has them all)
POINT_HALF_SIZE_DEG = 0.002  # a violation known by its centroid is shown in a box this big around it


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


class FactsTable(QTableWidget):
    """One table of rows ``(cells, where)``: numbers right-aligned, places zoomable."""

    def __init__(self, canvas, name, parent=None):
        super().__init__(0, 0, parent)
        self.canvas = canvas
        self.setObjectName(name)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.cellDoubleClicked.connect(lambda row, column: self.zoom_to_row(row))

    def fill(self, headers, rows):
        self.clear()
        self.setColumnCount(len(headers))
        self.setHorizontalHeaderLabels(headers)
        self.setRowCount(len(rows))
        for r, (cells, where) in enumerate(rows):
            for c, text in enumerate(cells):
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
        if self.columnCount():
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, self.columnCount()):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)

    def zoom_to_row(self, row):
        """Zoom the map to the patch or violation in ``row``; False when the row is not a place."""
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


class FactsTabs(QTabWidget):
    """地类 / 变化 / 图斑 / 保护区."""

    def __init__(self, canvas, parent=None):
        super().__init__(parent)
        self.setObjectName("facts")
        self.classes = FactsTable(canvas, "classesTable")
        self.changes = FactsTable(canvas, "changesTable")
        self.patches = FactsTable(canvas, "patchesTable")
        self.zones = FactsTable(canvas, "zonesTable")
        for table, title in ((self.classes, tr("Classes")), (self.changes, tr("Changes")),
                             (self.patches, tr("Patches")), (self.zones, tr("Zones"))):
            self.addTab(table, title)

    def show_facts(self, facts, findings, unit):
        """Fill the tabs from the engine's facts and findings, areas in ``unit`` (mu, ha or km2)."""
        for table in (self.classes, self.changes, self.patches, self.zones):
            table.fill([], [])
        if not facts:
            return
        names, label = class_names(), dict(UNITS)[unit]
        dates = facts.get("dates", [])
        measurable = {d.get("date"): d.get("measurable", True) for d in facts.get("per_date", [])}
        self.classes.fill([tr("Class")] + [f"{d} ({label})" for d in dates], [
            ([names[key], *(_fmt(facts["classes"][d][key][f"area_{unit}"]) if measurable.get(d, True)
                            else tr("not measurable") for d in dates)], None) for key, _ in CLASSES])
        self.changes.fill([tr("Change"), f"{tr('Area')} ({label})", tr("Patches")], [
            ([f"{names.get(t['from'], t['from'])} → {names.get(t['to'], t['to'])}", _fmt(t[f"area_{unit}"]),
              str(t.get("patches", ""))], None) for t in facts.get("transitions", [])])
        self.patches.fill([tr("Patch"), f"{tr('Area')} ({label})", tr("Zone")], [
            ([tr("{}: {} → {}").format(i + 1, names.get(f["properties"].get("class_from"), ""),
                                       names.get(f["properties"].get("class_to"), "")),
              _fmt(f["properties"].get(f"area_{unit}", 0.0)), f["properties"].get("zone") or ""],
             _bbox(f["geometry"]))
            for i, f in enumerate(f for f in (findings or {}).get("features", [])
                                  if f.get("properties", {}).get("source") == "measured")
            if i < MAX_FINDING_ROWS])
        rows = []
        for zone in facts.get("zones", []):
            inside = _fmt(zone["area_in_extent_m2"] / UNIT_M2[unit]) if not zone.get("outside") else tr("outside")
            rows.append(([f"{zone.get('name')} ({zone.get('kind_zh', zone.get('kind', ''))})", inside], None))
            for v in zone.get("violations", []):
                where = (v["centroid_lon"], v["centroid_lat"]) if "centroid_lon" in v else None
                text = tr("⚠ {}: {} → {}").format(zone.get("name"), names.get(v["class_from"], v["class_from"]),
                                                   names.get(v["class_to"], v["class_to"]))
                rows.append(([text, _fmt(v["area_m2"] / UNIT_M2[unit])], where))
        self.zones.fill([tr("Zone"), f"{tr('Area')} ({label})"], rows)
        self.setTabText(2, f"{tr('Patches')} ({self.patches.rowCount()})")
        self.setTabText(3, f"{tr('Zones')} ({len(facts.get('zones', []))})")


def _bbox(geometry):
    """(xmin, ymin, xmax, ymax) of a GeoJSON (multi)polygon."""
    coords = geometry.get("coordinates", [])
    points = [pt for ring in (coords if geometry.get("type") == "Polygon" else [r for poly in coords for r in poly])
              for pt in ring]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (min(xs), min(ys), max(xs), max(ys)) if points else None


def _fmt(value):
    return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
