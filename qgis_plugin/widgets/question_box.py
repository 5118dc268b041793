"""The question box: Enter sends, Shift+Enter starts a new line."""

from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QPlainTextEdit


class QuestionBox(QPlainTextEdit):
    submitted = pyqtSignal()

    def keyPressEvent(self, event):  # Qt API name
        sending = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if sending and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)
