"""Turns the user's keypoint edits on the photo into background SMPLify refits, with undo, redo and reset.

Every edit refits from the regressor's body of the analysis the edits started from (the latest edit wins: see
`InferenceController.refit`); undoing back to the unedited keypoints shows that analysis again. A new analysis of
the photo (Analyse Again, Refine, another model) starts the edits afresh from it.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, Qt, Signal

from hkmr_studio.gui.image_view import ImageView
from hkmr_studio.gui.inference import InferenceController
from hkmr_studio.gui.keypoint_edits import KeypointEdits, KeypointState
from hkmr_studio.gui.state import Document, Level, StudioState

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
        image_view.keypoint_moved.connect(lambda i, x, y: self.move(i, (x, y)), queued)
        image_view.keypoint_visible_set.connect(self.set_visible, queued)
        image_view.keypoint_pinned_set.connect(self.set_pinned, queued)
        inference.analysed.connect(self._on_analysed)
        state.current_changed.connect(lambda _: self.history_changed.emit())

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

    def move(self, index: int, xy: tuple[float, float]) -> None:
        """Put keypoint `index` at pixel `xy` of the photo and refit."""
        if (edits := self.edits()) is not None:
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

    def _current_edits(self) -> KeypointEdits | None:
        return self._state.current.keypoint_edits if self._state.current is not None else None

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
