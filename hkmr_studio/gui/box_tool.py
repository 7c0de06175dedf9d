"""The person box tool: while its action is checked, dragging on the photo draws a rectangle, and letting go reports
it as a person box (x, y, w, h in photo pixels) for the person detection missed. Esc, or unchecking the action,
cancels; the action unchecks itself after each box."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeyEvent, QMouseEvent, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsView

from hkmr_studio.gui.image_view import ImageView
from hkmr_studio.gui.people import MIN_BOX_PX

BOX_COLOR = QColor(0, 200, 255)
TOO_SMALL = (f"That box is too small for a person (under {MIN_BOX_PX} pixels a side): drag from one corner of the "
             "person to the opposite one.")


class BoxTool(QObject):
    """Draws a person box on `image_view` while `action` (checkable: menu, toolbar and shortcut) is checked.
    `drawn` carries the box; `refused` a message when the box was too small."""

    drawn = Signal(object)  # Box: (x, y, w, h) photo pixels
    refused = Signal(str)

    def __init__(self, image_view: ImageView, action: QAction) -> None:
        super().__init__(image_view)
        self._view = image_view
        self.action = action
        action.setCheckable(True)
        action.toggled.connect(self._on_toggled)
        self._origin: QPointF | None = None
        self._rubber: QGraphicsRectItem | None = None

    @property
    def active(self) -> bool:
        return self.action.isChecked()

    @property
    def rubber_band(self) -> QGraphicsRectItem | None:
        """The rectangle being dragged, None when no drag is under way."""
        return self._rubber

    def cancel(self) -> None:
        self.action.setChecked(False)

    def _on_toggled(self, on: bool) -> None:
        viewport = self._view.viewport()
        if on:
            viewport.installEventFilter(self)
            self._view.installEventFilter(self)  # Esc arrives at the view
            self._view.setDragMode(QGraphicsView.DragMode.NoDrag)
            viewport.setCursor(Qt.CursorShape.CrossCursor)
            self._view.setFocus()
            return
        viewport.removeEventFilter(self)
        self._view.removeEventFilter(self)
        self._view.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        viewport.unsetCursor()
        self._end_drag()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape:
            self.cancel()
            return True
        if not isinstance(event, QMouseEvent) or watched is not self._view.viewport():
            return super().eventFilter(watched, event)
        point = self._view.inside_photo(self._view.mapToScene(event.position().toPoint()))
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            self._start_drag(point)
            return True
        if kind == QEvent.Type.MouseMove and self._rubber is not None:
            self._rubber.setRect(QRectF(self._origin, point).normalized())
            return True
        if kind == QEvent.Type.MouseButtonRelease and self._rubber is not None:
            rect = QRectF(self._origin, point).normalized()
            self.cancel()
            if min(rect.width(), rect.height()) < MIN_BOX_PX:
                self.refused.emit(TOO_SMALL)
            else:
                self.drawn.emit((rect.x(), rect.y(), rect.width(), rect.height()))
            return True
        return kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease, QEvent.Type.MouseMove,
                        QEvent.Type.MouseButtonDblClick)  # no panning or keypoint drags while drawing a box

    def _start_drag(self, point: QPointF) -> None:
        self._end_drag()
        self._origin = point
        self._rubber = QGraphicsRectItem(QRectF(point, point))
        pen = QPen(BOX_COLOR, 2, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self._rubber.setPen(pen)
        self._rubber.setZValue(5)
        self._view.scene().addItem(self._rubber)

    def _end_drag(self) -> None:
        if self._rubber is not None:
            self._view.scene().removeItem(self._rubber)
        self._origin = self._rubber = None

