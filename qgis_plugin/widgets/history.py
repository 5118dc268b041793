"""The project's questions and answers, kept in the QGIS project (.qgz), so they reopen with it."""

import json

from qgis.core import QgsProject
from qgis.PyQt.QtCore import QDateTime, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QListWidget, QListWidgetItem

SCOPE, KEY, LIMIT = "county_landuse_monitor", "history", 200  # newest LIMIT entries are kept


class HistoryList(QListWidget):
    chosen = pyqtSignal(dict)  # {"question", "answer", "time"}

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("history")
        self.itemActivated.connect(lambda item: self.chosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        QgsProject.instance().readProject.connect(self.reload)
        self.reload()

    def detach(self):
        QgsProject.instance().readProject.disconnect(self.reload)

    def entries(self):
        text, ok = QgsProject.instance().readEntry(SCOPE, KEY, "[]")
        try:
            return json.loads(text) if ok or text else []
        except ValueError:
            return []

    def remember(self, question, answer):
        entries = self.entries()[-(LIMIT - 1):]
        entries.append({"question": question, "answer": answer,
                        "time": QDateTime.currentDateTime().toString(Qt.DateFormat.ISODate)})
        QgsProject.instance().writeEntry(SCOPE, KEY, json.dumps(entries, ensure_ascii=False))
        self.reload()

    def reload(self, *args):
        self.clear()
        for entry in reversed(self.entries()):
            item = QListWidgetItem(f"{entry['time'][:16].replace('T', ' ')}  {entry['question']}")
            item.setData(Qt.ItemDataRole.UserRole, entry)
            self.addItem(item)
