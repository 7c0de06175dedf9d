"""The open photos as a strip of thumbnails; clicking one shows it, its context menu closes it."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QMenu, QWidget

from hkmr_studio.gui.qt_images import qimage_from_array
from hkmr_studio.gui.state import Document, Status, StudioState

THUMBNAIL = QSize(96, 64)
_MARK = {Status.NEW: "", Status.RUNNING: "↻ ", Status.DONE: "✓ ", Status.NO_PERSON: "∅ ",
         Status.NOT_RECOVERED: "✖ ", Status.FAILED: "⚠ "}


class Filmstrip(QListWidget):
    """Mirrors StudioState.documents; selecting an item makes its document current."""

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._icons: dict[Document, QIcon] = {}  # thumbnails, made once per document
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(THUMBNAIL)
        self.setSpacing(4)
        self.setFixedHeight(THUMBNAIL.height() + 44)
        self.setHorizontalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        self.currentRowChanged.connect(self._on_row_changed)
        state.documents_changed.connect(self._rebuild)
        state.current_changed.connect(self._select)
        state.document_changed.connect(self._refresh)

    def _rebuild(self) -> None:
        self.blockSignals(True)
        self.clear()
        self._icons = {d: self._icons.get(d) or self._thumbnail(d) for d in self._state.documents}
        for document in self._state.documents:
            item = QListWidgetItem(self._icons[document], "")
            self.addItem(item)
            self._describe(item, document)
        self.blockSignals(False)
        self._select(self._state.current)

    @staticmethod
    def _thumbnail(document: Document) -> QIcon:
        pixmap = QPixmap.fromImage(qimage_from_array(document.image.rgb))
        return QIcon(pixmap.scaled(THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation))

    def _describe(self, item: QListWidgetItem, document: Document) -> None:
        item.setText(_MARK[document.status] + document.name)
        details = [str(document.path) if document.path else document.name, document.status.value, document.message]
        item.setToolTip("\n".join(d for d in details if d))

    def _refresh(self, document: Document) -> None:
        if document in self._state.documents:
            self._describe(self.item(self._state.documents.index(document)), document)

    def _select(self, document: Document | None) -> None:
        row = self._state.documents.index(document) if document in self._state.documents else -1
        self.blockSignals(True)
        self.setCurrentRow(row)
        self.blockSignals(False)

    def _on_row_changed(self, row: int) -> None:
        if 0 <= row < len(self._state.documents):
            self._state.select(self._state.documents[row])

    def _context_menu(self, position: QPoint) -> None:
        item = self.itemAt(position)
        if item is None:
            return
        document = self._state.documents[self.row(item)]
        menu = QMenu(self)
        menu.addAction("Close", lambda: self._state.remove(document))
        menu.exec(self.mapToGlobal(position))
