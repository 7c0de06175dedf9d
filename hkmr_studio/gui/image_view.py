"""The photo with the recovered body over it (mesh layer, skeleton, keypoints), zoomed with the wheel, panned by
dragging. Each keypoint is its own item that knows its landmark number: dragging one, or its right-click menu (not
visible, pinned), reports an edit through the view's signals. Where there is a fit, the regressor's body can be shown
instead of it or with it, in its own colour (`ViewOptions.body_shown`). In a photo of several people the others are
drawn dim with every person's box and label (`PeopleOverlay`); a click on one reports it (`person_clicked`)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QContextMenuEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QMenu,
    QWidget,
)

from hkmr_studio.body import kinematics
from hkmr_studio.gui.people_overlay import PeopleOverlay
from hkmr_studio.gui.qt_images import array_from_qimage, qimage_from_array
from hkmr_studio.gui.state import Document, StudioState
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES, VISIBILITY_THRESHOLD, Keypoints2D
from hkmr_studio.render.colors import joint_colors
from hkmr_studio.render.overlay import REGRESSION_COLOR_RGB

KEYPOINT_RADIUS_PX = 5
BONE_WIDTH_PX = 3
ZOOM_STEP = 1.25
CLICK_SLOP_PX = 4  # a press and release this close (screen pixels) are a click, not a pan
_SEEN_FILL = QColor(255, 255, 255)
_SEEN_OUTLINE = QColor(20, 20, 20)
_UNSEEN_OUTLINE = QColor(255, 170, 0)
_PINNED_OUTLINE = QColor(0, 200, 255)
_REGRESSION_COLOR = QColor(*(round(c * 255) for c in REGRESSION_COLOR_RGB))
EDIT_HINT = "Drag to move it and refit; right-click to mark it not visible or pin it."


class KeypointItem(QGraphicsEllipseItem):
    """One landmark, drawn at a fixed size on screen: filled when seen, a hollow orange ring when MediaPipe guessed
    it (hidden or outside the photo) or the user marked it not visible, with a thick cyan ring when pinned. `index`
    is its MediaPipe landmark number."""

    def __init__(self, index: int, x: float, y: float, visibility: float, parent: QGraphicsItem,
                 pinned: bool = False, editable: bool = False) -> None:
        r = KEYPOINT_RADIUS_PX
        super().__init__(-r, -r, 2 * r, 2 * r, parent)
        self.index = index
        self.visibility = visibility
        self.pinned = pinned
        self.setPos(x, y)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        seen = visibility >= VISIBILITY_THRESHOLD
        outline = _PINNED_OUTLINE if pinned else _SEEN_OUTLINE if seen else _UNSEEN_OUTLINE
        self.setPen(QPen(outline, 3.0 if pinned else 1.5 if seen else 2.5))
        self.setBrush(QBrush(_SEEN_FILL) if seen else QBrush(Qt.BrushStyle.NoBrush))
        note = ("" if seen else " (not seen: hidden or outside the photo)") + (" · pinned" if pinned else "")
        hint = f"\n{EDIT_HINT}" if editable else ""
        self.setToolTip(f"{MEDIAPIPE_LANDMARK_NAMES[index]}: visibility {visibility:.2f}{note}{hint}")


def _layer(z: float) -> QGraphicsRectItem:
    """An invisible parent item: showing or hiding it shows or hides its children together."""
    layer = QGraphicsRectItem()
    layer.setPen(QPen(Qt.PenStyle.NoPen))
    layer.setZValue(z)
    return layer


class ImageView(QGraphicsView):
    """Shows the current document of a StudioState, following its view options. Keypoints can be edited where a body
    was recovered (not in live video); the signals carry MediaPipe indices and photo pixels."""

    keypoint_moved = Signal(int, float, float)  # a drag ended: index, x, y
    keypoint_dragged = Signal(int, float, float)  # a drag goes on: index, x, y where the mouse holds it now
    keypoint_visible_set = Signal(int, bool)
    keypoint_pinned_set = Signal(int, bool)
    person_clicked = Signal(int)  # the index of a person not selected that was clicked (not dragged)

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
        self.regression_item = QGraphicsPixmapItem()  # the regressor's body where there is a fit
        self.regression_item.setZValue(0.9)
        self.skeleton_layer = _layer(2)
        self.regression_skeleton_layer = _layer(1.9)
        self.keypoint_layer = _layer(3)
        for item in (self.photo_item, self.regression_item, self.mesh_item, self.regression_skeleton_layer,
                     self.skeleton_layer, self.keypoint_layer):
            self.scene().addItem(item)
        self.people_overlay = PeopleOverlay(self.scene())
        self._dragged: KeypointItem | None = None
        self._pressed_at: QPointF | None = None  # where the left button went down, to tell a click from a pan
        self._document: Document | None = None
        self._image: LoadedImage | None = None
        self._fitted = True  # keep fitting the photo to the window until the user zooms
        state.current_changed.connect(self.show_document)
        state.document_changed.connect(self._on_document_changed)
        state.view.events.connect(self._apply_view_options)
        self._apply_view_options()

    def keypoint_items(self) -> list[KeypointItem]:
        return [item for item in self.keypoint_layer.childItems() if isinstance(item, KeypointItem)]

    def bone_items(self, layer: QGraphicsItem | None = None) -> list[QGraphicsLineItem]:
        """The bones drawn in `layer` (default: the skeleton of the body shown)."""
        layer = layer or self.skeleton_layer
        return [item for item in layer.childItems() if isinstance(item, QGraphicsLineItem)]

    def editable(self) -> bool:
        """Whether the keypoints shown can be edited (StudioState.keypoints_editable)."""
        return self._state.keypoints_editable(self._document)

    def show_document(self, document: Document | None) -> None:
        new_document = document is not self._document
        if new_document:
            self._dragged = None  # a drag ends with the document it began on
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
        layer = analysis.regression_layer if analysis is not None else None
        self.regression_item.setPixmap(QPixmap.fromImage(qimage_from_array(layer)) if layer is not None else QPixmap())
        result = analysis.result if analysis is not None else None
        body = result.best if result is not None else None
        self._draw_skeleton(self.skeleton_layer, body.joints2d if body is not None else None)
        fitted = result is not None and result.fit is not None
        self._draw_skeleton(self.regression_skeleton_layer, result.regression.joints2d if fitted else None,
                            _REGRESSION_COLOR)
        edits = document.keypoint_edits if document is not None else None
        if edits is not None:
            dragging = self._dragged is not None and analysis.request.changing  # where the drag puts the keypoints
            self._draw_keypoints(result.keypoints if dragging else edits.current.keypoints, edits.current.pinned)
        else:
            self._draw_keypoints(result.keypoints if result is not None else None)
        self.people_overlay.show(document)
        self._apply_view_options()
        if self._fitted:
            self.fit()

    def render_photo(self) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB: the photo at its full resolution with everything drawn over it as shown (body, skeleton,
        keypoints, and the layers of any open analysis dock); None without a photo. Lines and keypoints keep their
        on-screen size in pixels."""
        if self._image is None:
            return None
        picture = qimage_from_array(self._image.rgb)  # the photo's own pixels: a pixmap may hold fewer bits
        painter = QPainter(picture)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.photo_item.setVisible(False)
        try:
            self.scene().render(painter, QRectF(picture.rect()), self.scene().sceneRect())
        finally:
            painter.end()
            self.photo_item.setVisible(True)
        return array_from_qimage(picture)[..., :3]

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
        with_fit = not self.regression_item.pixmap().isNull()  # only analyses with a fit have this layer
        fit_shown = not with_fit or view.body_shown != "regressor"
        regression_shown = with_fit and view.body_shown != "fit"
        for item in (self.mesh_item, self.regression_item):
            item.setOpacity(view.mesh_opacity)
        self.mesh_item.setVisible(view.show_mesh and fit_shown)
        self.regression_item.setVisible(view.show_mesh and regression_shown)
        self.skeleton_layer.setVisible(view.show_skeleton and fit_shown)
        self.regression_skeleton_layer.setVisible(view.show_skeleton and regression_shown)
        self.keypoint_layer.setVisible(view.show_keypoints)
        self.people_overlay.set_mesh_visible(view.show_mesh)

    # --- editing keypoints --------------------------------------------------------------------------------------

    def _keypoint_at(self, event: QMouseEvent | QContextMenuEvent) -> KeypointItem | None:
        if not self.keypoint_layer.isVisible() or not self.editable():
            return None
        return next((i for i in self.items(event.pos()) if isinstance(i, KeypointItem)), None)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        left = event.button() == Qt.MouseButton.LeftButton
        item = self._keypoint_at(event) if left else None
        if item is None:
            self._pressed_at = event.position() if left else None
            super().mousePressEvent(event)  # pans the photo
            return
        self._dragged = item
        self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragged is None:
            super().mouseMoveEvent(event)
            return
        self._dragged.setPos(self.inside_photo(self.mapToScene(event.pos())))
        self.keypoint_dragged.emit(self._dragged.index, self._dragged.pos().x(), self._dragged.pos().y())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._dragged is None:
            super().mouseReleaseEvent(event)
            self._report_click(event)
            return
        item, self._dragged = self._dragged, None
        self.viewport().unsetCursor()
        self.keypoint_moved.emit(item.index, item.pos().x(), item.pos().y())

    def _report_click(self, event: QMouseEvent) -> None:
        """Emit person_clicked when the left button came up where it went down on a person not selected."""
        pressed, self._pressed_at = self._pressed_at, None
        if pressed is None or event.button() != Qt.MouseButton.LeftButton:
            return
        if (event.position() - pressed).manhattanLength() > CLICK_SLOP_PX:
            return
        index = self.people_overlay.person_at(self.mapToScene(event.position().toPoint()))
        if index is not None and index != self._document.person:
            self.person_clicked.emit(index)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        item = self._keypoint_at(event)
        if item is None:
            super().contextMenuEvent(event)
            return
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        visible = menu.addAction("Visible")
        visible.setCheckable(True)
        visible.setChecked(item.visibility >= VISIBILITY_THRESHOLD)
        visible.setToolTip("Untick when this keypoint is hidden or wrong: the fit then ignores it")
        visible.toggled.connect(lambda on: self.keypoint_visible_set.emit(item.index, on))
        pinned = menu.addAction("Pinned")
        pinned.setCheckable(True)
        pinned.setChecked(item.pinned)
        pinned.setToolTip("Make the fit follow this keypoint closely")
        pinned.toggled.connect(lambda on: self.keypoint_pinned_set.emit(item.index, on))
        menu.exec(event.globalPos())

    def inside_photo(self, point: QPointF) -> QPointF:
        """`point` (scene = photo pixels) moved onto the photo's nearest edge when it lies outside."""
        rect = self.scene().sceneRect()
        return QPointF(min(max(point.x(), rect.left()), rect.right()), min(max(point.y(), rect.top()), rect.bottom()))

    # --- drawing ------------------------------------------------------------------------------------------------

    def _draw_skeleton(self, layer: QGraphicsItem, joints2d: np.ndarray | None, color: QColor | None = None) -> None:
        """(24, 2) pixel joints -> one line per bone in `layer`, coloured by chain (or all in `color`)."""
        for item in self.bone_items(layer):
            self.scene().removeItem(item)
        if joints2d is None:
            return
        colors = (joint_colors() * 255).astype(int)
        for j, parent in enumerate(kinematics.PARENTS):
            if parent < 0 or not np.isfinite(joints2d[[j, parent]]).all():
                continue
            pen = QPen(color or QColor(*colors[j]), BONE_WIDTH_PX)
            pen.setCosmetic(True)  # same width on screen at any zoom
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            line = QGraphicsLineItem(QLineF(*joints2d[parent], *joints2d[j]), layer)
            line.setPen(pen)
            line.setToolTip(f"{kinematics.JOINT_NAMES[parent]} – {kinematics.JOINT_NAMES[j]}")

    def _draw_keypoints(self, keypoints: Keypoints2D | None, pinned: frozenset[int] = frozenset()) -> None:
        """Redraw the keypoints; a keypoint being dragged stays under the mouse (its drag's refits redraw the
        document while it moves)."""
        if keypoints is None:
            self._dragged = None
        for item in self.keypoint_items():
            if item is not self._dragged:
                self.scene().removeItem(item)
        if keypoints is None:
            return
        editable = self.editable()
        for index in np.flatnonzero(keypoints.present):
            if self._dragged is not None and index == self._dragged.index:
                continue
            x, y = keypoints.xy[index]
            KeypointItem(int(index), float(x), float(y), float(keypoints.visibility[index]), self.keypoint_layer,
                         pinned=int(index) in pinned, editable=editable)
