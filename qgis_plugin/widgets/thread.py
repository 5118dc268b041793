"""The conversation: each question with its streamed answer, audit verdict, facts and findings.

A turn keeps what its answer was measured from, so selecting an earlier answer
shows its facts and findings again. The verdict says what the audit found; an
empty, failed or cancelled answer never shows the "all measured" tick.
"""

from dataclasses import dataclass, field

from qgis.PyQt.QtCore import QCoreApplication, Qt, pyqtSignal
from qgis.PyQt.QtGui import QGuiApplication
from qgis.PyQt.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


@dataclass
class Turn:
    question: str
    answer: str = ""
    events: dict = field(default_factory=dict)  # last event of each kind: facts, findings, audit, done
    state: str = "asking"  # asking | done | failed | cancelled
    error: str = ""
    params: object = None  # the AskParams it was asked with


def verdict(turn):
    """One line saying what is known of the turn's figures."""
    if turn.state == "asking":
        return tr("Answering…")
    if turn.state == "cancelled":
        return tr("Cancelled")
    if turn.state == "failed":
        return tr("⚠ No answer: ") + turn.error
    if not turn.answer.strip():
        return tr("⚠ The model gave no answer")
    audit = turn.events.get("audit") or {}
    kind = audit.get("verdict") or ("unsupported" if audit.get("unsupported") else "no_figures")
    if kind == "all_measured":
        return tr("✔ every number is measured")
    if kind == "unsupported":
        return tr("⚠ not supported by the measurements: ") + "，".join(audit.get("unsupported") or [])
    return tr("The answer states no figure to check")


def copy_text(turn):
    """The question, the answer and each of its figures with its unit and where it was measured."""
    lines = [tr("Q: ") + turn.question, tr("A: ") + turn.answer]
    numbers = (turn.events.get("audit") or {}).get("numbers") or []
    if numbers:
        lines.append(tr("Figures:"))
        for n in numbers:
            mark = "✔" if n.get("supported") else "✘"
            lines.append(f"  {mark} {n.get('text')}" + (f"  ({n['source']})" if n.get("source") else ""))
    lines.append(verdict(turn))
    return "\n".join(lines)


class ConversationView(QListWidget):
    chosen = pyqtSignal(object)  # the Turn whose answer was selected

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("thread")
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.currentItemChanged.connect(self._selected)

    def start(self, question, params=None):
        turn = Turn(question=question, params=params)
        item = QListWidgetItem()
        item.setData(Qt.ItemDataRole.UserRole, turn)
        self.addItem(item)
        self.refresh(turn)
        self.scrollToBottom()
        return turn

    def turns(self):
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]

    def item_of(self, turn):
        return next((self.item(i) for i in range(self.count()) if self.item(i).data(Qt.ItemDataRole.UserRole) is turn),
                    None)

    def refresh(self, turn):
        item = self.item_of(turn)
        if item is not None:
            item.setText(f"{tr('Q: ')}{turn.question}\n{tr('A: ')}{turn.answer or '…'}\n{verdict(turn)}")
            self.scrollToItem(item)

    def selected_turn(self):
        item = self.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def copy_selected(self):
        turn = self.selected_turn() or (self.turns()[-1] if self.count() else None)
        if turn is None:
            return ""
        text = copy_text(turn)
        QGuiApplication.clipboard().setText(text)
        return text

    def _selected(self, current, previous):
        if current is not None:
            self.chosen.emit(current.data(Qt.ItemDataRole.UserRole))
