"""Turns the user's keypoint edits on the photo into background SMPLify refits, with undo, redo and reset.

Every edit refits from the regressor's body of the analysis the edits started from (the latest edit wins: see
`InferenceController.refit`); undoing back to the unedited keypoints shows that analysis again. A new analysis of
the photo (Analyse Again, Refine, another model) starts the edits afresh from it.

A drag (`pipeline.keypoint_drag`: the view reports each move, then the release) refits while the mouse moves: each
move's "changing" refit is a short one, warm-started from the fit shown, and the newest position wins (a refit still
running is not queued behind, `InferenceController.refit`); the release records the edit, whose refit is the full
one from the base's body, as for every edit.
"""

from __future__ import annotations

from collections.abc import Generator
from functools import partial

from PySide6.QtCore import QObject, Qt, Signal

from hkmr_studio.gui.image_view import ImageView
from hkmr_studio.gui.inference import InferenceController
from hkmr_studio.gui.keypoint_edits import KeypointEdits, KeypointState
from hkmr_studio.gui.state import Document, Level, StudioState
from hkmr_studio.pipeline.core import BodyEstimate
from hkmr_studio.pipeline.keypoint_drag import DragEvent

NOTHING_TO_EDIT = "Open a photo with a recovered body first: its keypoints can then be dragged, hidden or pinned."


class KeypointEditor(QObject):
    """Edits the current document's keypoints; `history_changed` fires when undo, redo or reset become possible or
    impossible."""

    history_changed = Signal()

    def __init__(self, state: StudioState, inference: InferenceController, image_view: ImageView,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._inference = inference
        queued = Qt.ConnectionType.QueuedConnection  # the view redraws its keypoints: not inside their own events
        image_view.keypoint_dragged.connect(lambda i, x, y: self.drag_to(i, (x, y)), queued)
        image_view.keypoint_moved.connect(lambda i, x, y: self.move(i, (x, y)), queued)
        image_view.keypoint_visible_set.connect(self.set_visible, queued)
        image_view.keypoint_pinned_set.connect(self.set_pinned, queued)
        inference.analysed.connect(self._on_analysed)
        state.current_changed.connect(lambda _: self.history_changed.emit())
        self._drag: tuple[KeypointEdits, int, Generator[None, DragEvent, None]] | None = None  # edits, keypoint

    def edits(self) -> KeypointEdits | None:
        """The current document's edits, started from its analysis on first use; None (with a message) when it
        has no recovered body or is live video."""
        document = self._state.current
        if not self._state.keypoints_editable(document):
            self._state.notify(Level.INFO, NOTHING_TO_EDIT)
            return None
        if document.keypoint_edits is None:
            document.keypoint_edits = KeypointEdits(document.analysis)
            document.keypoint_edits.changed.connect(partial(self._on_edit, document))
            document.keypoint_edits.changing.connect(partial(self._on_changing, document))
        return document.keypoint_edits

    def can_undo(self) -> bool:
        edits = self._current_edits()
        return edits is not None and edits.can_undo

    def can_redo(self) -> bool:
        edits = self._current_edits()
        return edits is not None and edits.can_redo

    def can_reset(self) -> bool:
        edits = self._current_edits()
        return edits is not None and edits.edited

    def drag_to(self, index: int, xy: tuple[float, float]) -> None:
        """The mouse holds keypoint `index` at pixel `xy` of the photo: a drag (begun by its first move) refits
        quickly to it."""
        if not self._dragging(index):
            if (edits := self.edits()) is None:
                return
            self._drag = (edits, index, edits.drag(index))
        self._drag[2].send(DragEvent("move", xy))

    def move(self, index: int, xy: tuple[float, float]) -> None:
        """Put keypoint `index` at pixel `xy` of the photo and refit: the release of its drag, or a move of its own."""
        if self._dragging(index):
            try:
                self._drag[2].send(DragEvent("release", xy))
            except StopIteration:
                pass
            finally:
                self._drag = None
        elif (edits := self.edits()) is not None:
            edits.move(index, xy)

    def set_visible(self, index: int, visible: bool) -> None:
        if (edits := self.edits()) is not None:
            edits.set_visible(index, visible)

    def set_pinned(self, index: int, pinned: bool) -> None:
        if (edits := self.edits()) is not None:
            edits.set_pinned(index, pinned)

    def undo(self) -> None:
        if (edits := self._current_edits()) is not None:
            edits.undo()

    def redo(self) -> None:
        if (edits := self._current_edits()) is not None:
            edits.redo()

    def reset(self) -> None:
        if (edits := self._current_edits()) is not None:
            edits.reset()

    def _dragging(self, index: int) -> bool:
        """Whether a drag of keypoint `index` of the current edits is under way."""
        return self._drag is not None and self._drag[1] == index and self._drag[0] is self._current_edits()

    def _current_edits(self) -> KeypointEdits | None:
        return self._state.current.keypoint_edits if self._state.current is not None else None

    def _drag_start(self, document: Document) -> BodyEstimate | None:
        """Where a changing refit starts: the fit shown when it is a refit of these edits (the drag's previous
        changing fit, or the previous edit's), else None (from the base's body)."""
        analysis = document.analysis
        return analysis.result.fit if analysis.request.refit_from is document.keypoint_edits.base else None

    def _on_changing(self, document: Document, where: KeypointState) -> None:
        self._inference.refit(document, document.keypoint_edits.base, where, changing=True,
                              warm_start=self._drag_start(document))

    def _on_edit(self, document: Document, edit: KeypointState) -> None:
        edits = document.keypoint_edits
        if edits.edited:
            self._state.update(document)  # show the edited keypoints now; the body follows when the refit ends
            self._inference.refit(document, edits.base, edit)
        else:
            self._inference.restore(document, edits.base)
        self.history_changed.emit()

    def _on_analysed(self, document: Document) -> None:
        if document.analysis.request.refit_from is None and document.keypoint_edits is not None:
            document.keypoint_edits = None  # a new analysis: the edits of the old one no longer apply
            self._state.update(document)
            self.history_changed.emit()
