"""The band-role editor: which band of a file is red, near infrared, ... when the metadata does not say.

It opens filled with what the engine found; a person only picks the roles
the engine reports missing. "Not present" leaves a role to the metadata.
"""

from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout

from ..common.vocab import BAND_ROLES


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


class BandRolesDialog(QDialog):
    def __init__(self, file_bands, band_map, missing, parent=None):
        """``file_bands``: [{"index", "description"}]; ``band_map``: role -> index; ``missing``: roles to fill."""
        super().__init__(parent)
        self.setObjectName("bandRolesDialog")
        self.setWindowTitle(tr("Band roles"))
        layout = QVBoxLayout(self)
        if missing:
            note = QLabel(tr("The file does not say which band is which. Choose at least blue, green, red and "
                             "near infrared; shortwave infrared 1 lets water be measured better."))
            note.setWordWrap(True)
            layout.addWidget(note)
        form = QFormLayout()
        self.boxes = {}
        for role, name in BAND_ROLES:
            box = QComboBox()
            box.setObjectName(f"role_{role}")
            box.addItem(tr("Not present"), 0)
            for band in file_bands:
                label = tr("Band {}").format(band["index"])
                if band.get("description"):
                    label += f" ({band['description']})"
                box.addItem(label, int(band["index"]))
            index = box.findData(int(band_map.get(role, 0)))
            box.setCurrentIndex(max(index, 0))
            text = tr(name) + (" ⚠" if role in missing else "")
            form.addRow(text, box)
            self.boxes[role] = box
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def band_map(self):
        """Role -> 1-based band index, for the roles given a band."""
        return {role: box.currentData() for role, box in self.boxes.items() if box.currentData()}
