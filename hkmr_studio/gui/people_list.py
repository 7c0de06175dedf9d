"""The People list: a thumbnail of each person found in the current photo (their box cut out of it), with their label,
how they were found and whether a body was recovered; picking one selects that person (`chosen`)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from hkmr_studio.gui.people import Person, person_label
from hkmr_studio.gui.qt_images import qimage_from_array
from hkmr_studio.gui.state import Document, StudioState

THUMBNAIL_PX = 72
LIST_TEXT_PX = 150  # room beside each thumbnail for its label, source and state
NOBODY = "No people in this photo yet. When detection misses someone, draw a box around them (Body ▸ Draw Person Box)."
SOURCE_TEXT = {"detected": "detected", "box": "your box", "keypoints": "keypoint file"}


def thumbnail(rgb: np.ndarray, box: tuple[float, float, float, float]) -> QPixmap:
    """The (H, W, 3) uint8 photo cut to `box` (x, y, w, h pixels, clipped to the photo), scaled to THUMBNAIL_PX."""
    height, width = rgb.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(width, int(np.ceil(box[0] + box[2]))), min(height, int(np.ceil(box[1] + box[3])))
    crop = np.ascontiguousarray(rgb[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)])
    return QPixmap.fromImage(qimage_from_array(crop)).scaled(
        THUMBNAIL_PX, THUMBNAIL_PX, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


def describe(index: int, person: Person) -> str:
    """'p1 · detected 0.93 · body recovered' and the like."""
    found, result = person.found, person.analysis.result
    source = SOURCE_TEXT.get(found.source, found.source)
    score = f" {found.score:.2f}" if found.score is not None else ""
    state = "body recovered" if result.found else (result.message or "no body")
    return f"{person_label(index)} · {source}{score} · {state}"


class PeopleList(QWidget):
    """Lists the current document's people and selects the one picked."""

    chosen = Signal(int)  # the index of the person picked

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._shown: tuple[Document | None, list[Person]] = (None, [])
        self.empty_label = QLabel(NOBODY)
        self.empty_label.setWordWrap(True)
        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMBNAIL_PX, THUMBNAIL_PX))
        self.list.setWordWrap(True)
        self.list.setMinimumWidth(THUMBNAIL_PX + LIST_TEXT_PX)
        self.list.currentRowChanged.connect(self._on_row)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.list, 1)
        state.current_changed.connect(self._show)
        state.document_changed.connect(lambda d: self._show(d) if d is state.current else None)
        self._show(state.current)

    def _show(self, document: Document | None) -> None:
        people = list(document.people) if document is not None else []
        if (document, people) != self._shown:  # new people: rebuild the thumbnails
            self._shown = (document, people)
            self.list.blockSignals(True)
            self.list.clear()
            for index, person in enumerate(people):
                icon = QIcon(thumbnail(person.analysis.image.rgb, person.box))
                self.list.addItem(QListWidgetItem(icon, describe(index, person)))
            self.list.blockSignals(False)
        for index, person in enumerate(people):
            self.list.item(index).setText(describe(index, person))  # a refit may have changed their body
        self.empty_label.setVisible(not people)
        if people and self.list.currentRow() != document.person:
            self.list.blockSignals(True)
            self.list.setCurrentRow(document.person)
            self.list.blockSignals(False)

    def _on_row(self, row: int) -> None:
        if row >= 0:
            self.chosen.emit(row)
