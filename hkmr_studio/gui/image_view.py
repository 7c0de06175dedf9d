"""The photo with the recovered body over it (mesh layer, skeleton, keypoints), zoomed with the wheel, panned by
dragging. Each keypoint is its own item that knows its landmark number, so it can be made draggable."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from hkmr_studio.body import kinematics
from hkmr_studio.gui.qt_images import qimage_from_array
from hkmr_studio.gui.state import Document, StudioState
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES, VISIBILITY_THRESHOLD, Keypoints2D
from hkmr_studio.render.colors import joint_colors

KEYPOINT_RADIUS_PX = 5
BONE_WIDTH_PX = 3
ZOOM_STEP = 1.25
_SEEN_FILL = QColor(255, 255, 255)
_SEEN_OUTLINE = QColor(20, 20, 20)
_UNSEEN_OUTLINE = QColor(255, 170, 0)


class KeypointItem(QGraphicsEllipseItem):
    """One landmark, drawn at a fixed size on screen: filled when seen, a hollow orange ring when MediaPipe guessed
    it (hidden or outside the photo). `index` is its MediaPipe landmark number."""

    def __init__(self, index: int, x: float, y: float, visibility: float, parent: QGraphicsItem) -> None:
        r = KEYPOINT_RADIUS_PX
        super().__init__(-r, -r, 2 * r, 2 * r, parent)
        self.index = index
        self.visibility = visibility
        self.setPos(x, y)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        seen = visibility >= VISIBILITY_THRESHOLD
        self.setPen(QPen(_SEEN_OUTLINE if seen else _UNSEEN_OUTLINE, 1.5 if seen else 2.5))
        self.setBrush(QBrush(_SEEN_FILL) if seen else QBrush(Qt.BrushStyle.NoBrush))
        note = "" if seen else " (not seen: hidden or outside the photo)"
        self.setToolTip(f"{MEDIAPIPE_LANDMARK_NAMES[index]}: visibility {visibility:.2f}{note}")


def _layer(z: float) -> QGraphicsRectItem:
    """An invisible parent item: showing or hiding it shows or hides its children together."""
    layer = QGraphicsRectItem()
    layer.setPen(QPen(Qt.PenStyle.NoPen))
    layer.setZValue(z)
    return layer


class ImageView(QGraphicsView):
    """Shows the current document of a StudioState, following its view options."""

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setBackgroundBrush(QColor("#1e1f22"))
        self.setAcceptDrops(False)  # files dropped here go to the window
        self.photo_item = QGraphicsPixmapItem()
        self.photo_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.mesh_item = QGraphicsPixmapItem()
        self.mesh_item.setZValue(1)
        self.skeleton_layer = _layer(2)
        self.keypoint_layer = _layer(3)
        for item in (self.photo_item, self.mesh_item, self.skeleton_layer, self.keypoint_layer):
            self.scene().addItem(item)
        self._document: Document | None = None
        self._image: LoadedImage | None = None
        self._fitted = True  # keep fitting the photo to the window until the user zooms
        state.current_changed.connect(self.show_document)
        state.document_changed.connect(self._on_document_changed)
        state.view.events.connect(self._apply_view_options)
        self._apply_view_options()

    def keypoint_items(self) -> list[KeypointItem]:
        return [item for item in self.keypoint_layer.childItems() if isinstance(item, KeypointItem)]

    def bone_items(self) -> list[QGraphicsLineItem]:
        return [item for item in self.skeleton_layer.childItems() if isinstance(item, QGraphicsLineItem)]

    def show_document(self, document: Document | None) -> None:
        new_document = document is not self._document
        self._document = document
        image = document.shown_image if document is not None else None
        if image is not self._image:
            new_size = image is None or self._image is None or image.original_size != self._image.original_size
            self._image = image
            self.photo_item.setPixmap(QPixmap.fromImage(qimage_from_array(image.rgb)) if image else QPixmap())
            if image is not None:
                self.scene().setSceneRect(QRectF(0, 0, *image.original_size))
            if new_size or new_document:
                self._fitted = True
        analysis = document.analysis if document is not None else None
        layer = analysis.mesh_layer if analysis is not None else None
        self.mesh_item.setPixmap(QPixmap.fromImage(qimage_from_array(layer)) if layer is not None else QPixmap())
        body = analysis.result.best if analysis is not None else None
        self._draw_skeleton(body.joints2d if body is not None else None)
        self._draw_keypoints(analysis.result.keypoints if analysis is not None else None)
        if self._fitted:
            self.fit()

    def fit(self) -> None:
        """Show the whole photo."""
        self._fitted = True
        if self._image is not None:
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def zoom(self, factor: float) -> None:
        self._fitted = False
        self.scale(factor, factor)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom(ZOOM_STEP**steps)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def _on_document_changed(self, document: Document) -> None:
        if document is self._document:
            self.show_document(document)

    def _apply_view_options(self) -> None:
        view = self._state.view
        self.mesh_item.setOpacity(view.mesh_opacity)
        self.mesh_item.setVisible(view.show_mesh)
        self.skeleton_layer.setVisible(view.show_skeleton)
        self.keypoint_layer.setVisible(view.show_keypoints)

    def _draw_skeleton(self, joints2d: np.ndarray | None) -> None:
        """(24, 2) pixel joints -> one line per bone, coloured by chain."""
        for item in self.bone_items():
            self.scene().removeItem(item)
        if joints2d is None:
            return
        colors = (joint_colors() * 255).astype(int)
        for j, parent in enumerate(kinematics.PARENTS):
            if parent < 0 or not np.isfinite(joints2d[[j, parent]]).all():
                continue
            pen = QPen(QColor(*colors[j]), BONE_WIDTH_PX)
            pen.setCosmetic(True)  # same width on screen at any zoom
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            line = QGraphicsLineItem(QLineF(*joints2d[parent], *joints2d[j]), self.skeleton_layer)
            line.setPen(pen)
            line.setToolTip(f"{kinematics.JOINT_NAMES[parent]} – {kinematics.JOINT_NAMES[j]}")

    def _draw_keypoints(self, keypoints: Keypoints2D | None) -> None:
        for item in self.keypoint_items():
            self.scene().removeItem(item)
        if keypoints is None:
            return
        for index in np.flatnonzero(keypoints.present):
            x, y = keypoints.xy[index]
            KeypointItem(int(index), float(x), float(y), float(keypoints.visibility[index]), self.keypoint_layer)
