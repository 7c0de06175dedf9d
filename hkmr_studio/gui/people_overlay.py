"""Everyone's body over the photo: the people not selected drawn dim and thin (their mesh layer faint,
their skeleton in one thin colour), and each person's box with their label (p0, p1, ...), the selected one's solid
and bright. Finds the person under a click (inside their mask, else their box)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
)

from hkmr_studio.body import kinematics
from hkmr_studio.gui.analysis import Analysis
from hkmr_studio.gui.people import person_label
from hkmr_studio.gui.qt_images import qimage_from_array
from hkmr_studio.gui.state import Document
from hkmr_studio.pipeline.detection import MASK_THRESHOLD

OTHER_MESH_OPACITY = 0.3
OTHER_BONE_WIDTH_PX = 1.5
OTHER_COLOR = QColor(200, 200, 200, 170)
SELECTED_COLOR = QColor(255, 210, 0)
LABEL_TEXT = QColor(20, 20, 20)


def _layer(z: float) -> QGraphicsRectItem:
    layer = QGraphicsRectItem()
    layer.setPen(QPen(Qt.PenStyle.NoPen))
    layer.setZValue(z)
    return layer


class PeopleOverlay:
    """Draws the people of a document in `scene`: the others' bodies below the selected body (z 0.8) and every
    person's box and label above everything (z 4). Nothing is drawn for a document of one person or none."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self.others_layer = _layer(0.8)
        self.labels_layer = _layer(4)
        scene.addItem(self.others_layer)
        scene.addItem(self.labels_layer)
        self._document: Document | None = None

    def show(self, document: Document | None) -> None:
        self._document = document
        for layer in (self.others_layer, self.labels_layer):
            for item in layer.childItems():
                layer.scene().removeItem(item)
        if document is None or len(document.people) < 2:
            return
        for index, person in enumerate(document.people):
            selected = index == document.person
            self._draw_box(index, person.box, selected)
            if not selected:
                self._draw_other(person.analysis)

    def labels(self) -> list[QGraphicsSimpleTextItem]:
        """The label of each person drawn, in the people's order."""
        return [item for item in self.labels_layer.childItems() if isinstance(item, QGraphicsSimpleTextItem)]

    def set_mesh_visible(self, visible: bool) -> None:
        for item in self.others_layer.childItems():
            if isinstance(item, QGraphicsPixmapItem):
                item.setVisible(visible)

    def person_at(self, point: QPointF) -> int | None:
        """The index of the person at scene `point` (photo pixels): whose mask covers it, else the smallest box
        holding it; None when nobody is there or the document shows fewer than two people."""
        document = self._document
        if document is None or len(document.people) < 2:
            return None
        x, y = point.x(), point.y()
        inside = [i for i, p in enumerate(document.people)
                  if p.box[0] <= x <= p.box[0] + p.box[2] and p.box[1] <= y <= p.box[1] + p.box[3]]
        on_mask = [i for i in inside if _on_mask(document.people[i].found.mask, x, y)]
        candidates = on_mask or inside
        if not candidates:
            return None
        return min(candidates, key=lambda i: document.people[i].box[2] * document.people[i].box[3])

    def _draw_box(self, index: int, box: tuple[float, float, float, float], selected: bool) -> None:
        color = SELECTED_COLOR if selected else OTHER_COLOR
        pen = QPen(color, 2.5 if selected else 1.2, Qt.PenStyle.SolidLine if selected else Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        frame = QGraphicsRectItem(QRectF(*box), self.labels_layer)
        frame.setPen(pen)
        frame.setToolTip(f"{person_label(index)}" + (" (selected)" if selected else ": click to select"))
        label = QGraphicsSimpleTextItem(person_label(index), self.labels_layer)
        label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        label.setBrush(QBrush(LABEL_TEXT))
        label.setPos(box[0], box[1])
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        background = QGraphicsRectItem(label.boundingRect().adjusted(-3, -1, 3, 1), label)
        background.setBrush(QBrush(color))
        background.setPen(QPen(Qt.PenStyle.NoPen))
        background.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)

    def _draw_other(self, analysis: Analysis) -> None:
        """A person not selected: their mesh layer faint and their skeleton thin, in one colour."""
        if analysis.mesh_layer is not None:
            mesh = QGraphicsPixmapItem(QPixmap.fromImage(qimage_from_array(analysis.mesh_layer)), self.others_layer)
            mesh.setOpacity(OTHER_MESH_OPACITY)
        body = analysis.result.best
        if body is None:
            return
        pen = QPen(OTHER_COLOR, OTHER_BONE_WIDTH_PX)
        pen.setCosmetic(True)
        for j, parent in enumerate(kinematics.PARENTS):
            if parent >= 0 and np.isfinite(body.joints2d[[j, parent]]).all():
                QGraphicsLineItem(QLineF(*body.joints2d[parent], *body.joints2d[j]), self.others_layer).setPen(pen)


def _on_mask(mask: np.ndarray | None, x: float, y: float) -> bool:
    """Whether pixel (x, y) lies on an (H, W) segmentation `mask` (above MASK_THRESHOLD); False without one."""
    if mask is None:
        return False
    row, col = int(y), int(x)
    return 0 <= row < mask.shape[0] and 0 <= col < mask.shape[1] and bool(mask[row, col] > MASK_THRESHOLD)
