"""The chain inspector: step through a regressor's trace (outer steps and inner forward/backward passes) and see
the pose at that entry over the photo and in 3D, with the size of every joint's update per chain; hover or select
a chain to highlight it. The window's model is not run again: its trace is the window's result's, posed from the
start pose the analysis carries; only the HMR baseline runs, on the result's keypoints, so the two traces can be
compared on the same input."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyvista as pv
from PySide6.QtCore import QLineF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsLineItem,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QSlider,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hkmr_studio.body import kinematics
from hkmr_studio.checkpoints import BASELINE_MODEL
from hkmr_studio.export.frames import camera_to_yup
from hkmr_studio.gui.analysis import Analysis, explain_error, is_bug
from hkmr_studio.gui.image_view import ImageView
from hkmr_studio.gui.state import Document, Level, StudioState
from hkmr_studio.gui.viewport import BodyViewport
from hkmr_studio.gui.workers import LatestJob
from hkmr_studio.render.colors import highlighted_joint_colors
from hkmr_studio.trace_steps import TraceBodies, TraceJobs, TraceRequest

log = logging.getLogger(__name__)

STEP_ACTOR = "step_skeleton"
_BONES = [(parent, j) for j, parent in enumerate(kinematics.PARENTS) if parent >= 0]


class StepSkeleton:
    """The inspected entry's skeleton, drawn over the photo (a layer above the window's overlay) and in the 3D view
    (its own actor), with one chain highlighted; while not `shown` (its dock closed) it is kept but not drawn."""

    def __init__(self, image_view: ImageView, viewport: BodyViewport) -> None:
        self._image_view = image_view
        self._viewport = viewport
        self._pose: tuple[np.ndarray | None, np.ndarray | None, str | None] = (None, None, None)
        self._shown = True
        self.layer = QGraphicsRectItem()
        self.layer.setPen(QPen(Qt.PenStyle.NoPen))
        self.layer.setZValue(5)
        image_view.scene().addItem(self.layer)

    def show(self, joints3d: np.ndarray | None, joints2d: np.ndarray | None, highlight: str | None = None) -> None:
        """(24, 3) camera-frame metres and (24, 2) photo pixels, or None to clear."""
        self._pose = (joints3d, joints2d, highlight)
        self._draw()

    def set_shown(self, shown: bool) -> None:
        """Draw the skeleton kept, or take it off the photo and the 3D view."""
        self._shown = shown
        self._draw()

    def _draw(self) -> None:
        joints3d, joints2d, highlight = self._pose if self._shown else (None, None, None)
        colors = (highlighted_joint_colors(highlight) * 255).astype(np.uint8)
        for item in self.layer.childItems():
            self._image_view.scene().removeItem(item)
        plotter = self._viewport.plotter
        drawn = STEP_ACTOR in plotter.actors
        plotter.remove_actor(STEP_ACTOR, render=False)
        if joints3d is None or joints2d is None:
            if drawn:  # a closed dock's inspector, cleared on every live frame, must not make the 3D view render
                self._viewport.request_render()
            return
        for parent, j in _BONES:
            pen = QPen(QColor(*colors[j].tolist()), 5 if highlight == kinematics.CHAIN_OF_JOINT[j] else 3)
            pen.setCosmetic(True)
            pen.setStyle(Qt.PenStyle.DashLine)
            QGraphicsLineItem(QLineF(*joints2d[parent], *joints2d[j]), self.layer).setPen(pen)
        skeleton = pv.PolyData(camera_to_yup(joints3d), lines=np.array([[2, p, j] for p, j in _BONES]).ravel())
        skeleton.cell_data["bone_rgb"] = colors[[j for _, j in _BONES]]
        plotter.add_mesh(skeleton, scalars="bone_rgb", rgb=True, line_width=9, render_lines_as_tubes=True,
                         name=STEP_ACTOR, render=False)
        self._viewport.request_render()

    def actor_points(self) -> np.ndarray | None:
        """(24, 3) the 3D skeleton's points as drawn (Y-up), None when none is shown."""
        actor = self._viewport.plotter.actors.get(STEP_ACTOR)
        return None if actor is None else np.asarray(actor.mapper.dataset.points)


@dataclass(frozen=True)
class _Job:
    """A trace request and the document it was made for (the answer is shown only while it is still current)."""

    document: Document
    request: TraceRequest


class ChainInspector(QWidget):
    """Slider over the trace's entries, a model choice (the window's model or the HMR baseline), and per chain its
    joints with their update angle at the entry shown."""

    ready = Signal()  # traces for the current document are shown

    def __init__(self, state: StudioState, image_view: ImageView, viewport: BodyViewport,
                 baseline: str = BASELINE_MODEL, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._baseline = baseline
        self._traces = TraceJobs()
        self._jobs: LatestJob[_Job, dict[str, TraceBodies]] = LatestJob(
            lambda job: self._traces.run(job.request), self._on_traced, self._on_errored, self)
        self._bodies: dict[str, TraceBodies] = {}
        self._document: Document | None = None
        self._analysis: Analysis | None = None  # the analysis traced (or being traced)
        self._highlight: str | None = None
        self.skeleton = StepSkeleton(image_view, viewport)

        self.model_box = QComboBox()
        self.model_box.setToolTip("Whose trace to step through: the window's model or the HMR baseline")
        self.model_box.currentIndexChanged.connect(self._on_model_changed)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Outer step and inner pass of the regressor")
        self.slider.valueChanged.connect(self._show_entry)
        self.entry_label = QLabel()
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Chain / joint", "Δθ (°)"])
        self.tree.setToolTip("Angle of each joint's update at this pass (from the previous pass, or from the mean "
                             "pose at the first). Select or hover a chain to highlight it.")
        self.tree.setMouseTracking(True)
        self.tree.itemEntered.connect(lambda item, _col: self.highlight(self._chain_of(item)))
        self.tree.itemSelectionChanged.connect(self._on_selection)
        self.status_label = QLabel("Open a photo; its traces appear here.")
        self.status_label.setWordWrap(True)
        for chain in kinematics.CHAINS:
            top = QTreeWidgetItem(self.tree, [chain.name, ""])
            top.setData(0, Qt.ItemDataRole.UserRole, chain.name)
            for name in chain.joint_names:
                QTreeWidgetItem(top, [name, ""]).setData(0, Qt.ItemDataRole.UserRole, chain.name)
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Trace of"))
        row.addWidget(self.model_box, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.slider)
        layout.addWidget(self.entry_label)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.status_label)
        state.current_changed.connect(self._on_document)
        state.document_changed.connect(lambda document: self._on_document(document)
                                       if document is state.current else None)
        self._set_enabled(False)

    # --- public ---------------------------------------------------------------------------------------------

    @property
    def bodies(self) -> TraceBodies | None:
        """The traced bodies of the model chosen in the box."""
        return self._bodies.get(self.model_box.currentText())

    def highlight(self, chain: str | None) -> None:
        self._highlight = chain
        self._show_entry(self.slider.value())

    def show_drawings(self, shown: bool) -> None:
        """Draw the inspected pass over the photo and in 3D (the inspector's dock opened), or take it off (closed)."""
        self.skeleton.set_shown(shown)

    def refresh(self) -> None:
        """Trace the current document again (when it has a recovered body)."""
        self._on_document(self._state.current)

    def shutdown(self) -> None:
        self._jobs.close()

    # --- computing ------------------------------------------------------------------------------------------

    def _on_document(self, document: Document | None) -> None:
        analysis = document.analysis if document is not None else None
        if self._jobs.closed or (document is self._document and analysis is self._analysis):
            return
        if analysis is not None and analysis.request.changing:
            return  # a drag's fit while the mouse moves keeps the trace it started from: retrace after the release
        self._document, self._analysis = document, analysis
        self._bodies = {}
        self.skeleton.show(None, None)
        self._set_enabled(False)
        if analysis is None or not analysis.result.found or not self.isVisible():
            self.status_label.setText("Open a photo with a recovered body; its traces appear here.")
            return
        request = analysis.request
        run_baseline = request.model != self._baseline
        self.status_label.setText(f"Tracing {self._baseline}…" if run_baseline else "Reading the trace…")
        regressed = analysis
        while regressed.request.refit_from is not None:
            regressed = regressed.request.refit_from
        self._jobs.submit(_Job(document, TraceRequest(analysis.result, analysis.start_pose, self._baseline,
                                                      run_baseline, regressed.result.keypoints, request.device,
                                                      request.body_path)))

    def showEvent(self, event: object) -> None:
        super().showEvent(event)
        if not self._bodies and not self._jobs.running:
            self._analysis = None
            self.refresh()

    def _on_traced(self, job: _Job, bodies: dict[str, TraceBodies]) -> None:
        if job.document is not self._document:
            return
        self._bodies = bodies
        self.model_box.blockSignals(True)
        self.model_box.clear()
        self.model_box.addItems(list(bodies))
        self.model_box.blockSignals(False)
        self._on_model_changed()
        if job.request.result.trace is None:
            shown = f"; {self.model_box.currentText()}'s is shown." if bodies else "."
            self.status_label.setText(f"The window's body has no trace to step through (it was posed from given "
                                      f"parameters, as a take's frames are){shown}")
        self.ready.emit()

    def _on_errored(self, exc: Exception) -> None:
        if is_bug(exc):
            log.error("tracing failed", exc_info=exc)
        text = explain_error(exc)
        self.status_label.setText(text)
        self._state.notify(Level.ERROR, f"Chain inspector: {text}")

    # --- showing --------------------------------------------------------------------------------------------

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self.model_box, self.slider, self.tree):
            widget.setEnabled(enabled)

    def _on_model_changed(self) -> None:
        bodies = self.bodies
        self._set_enabled(bodies is not None)
        if bodies is None:
            return
        self.status_label.setText(self._legend(self.model_box.currentText()))
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(bodies.entries) - 1)
        self.slider.setValue(len(bodies.entries) - 1)
        self.slider.blockSignals(False)
        self._show_entry(self.slider.value())

    def _show_entry(self, index: int) -> None:
        bodies = self.bodies
        if bodies is None:
            return
        entry = bodies.entries[index]
        self.entry_label.setText(f"{entry.label} — {index + 1} of {len(bodies.entries)}")
        updates = bodies.chain_updates_deg(index)
        for row, chain in enumerate(kinematics.CHAINS):
            top = self.tree.topLevelItem(row)
            top.setText(1, f"Σ {updates[chain.name].sum():.1f}")
            for k in range(chain.size):
                top.child(k).setText(1, f"{updates[chain.name][k]:.1f}")
        self.skeleton.show(bodies.joints3d[index], bodies.joints2d[index], self._highlight)

    def _on_selection(self) -> None:
        items = self.tree.selectedItems()
        self.highlight(self._chain_of(items[0]) if items else None)

    def _legend(self, traced: str) -> str:
        """Which body is which: the dashed pose is `traced`'s; the solid one is the window's body of the photo."""
        result = self._analysis.result
        if traced == result.model_name and result.fit is None:
            return f"Dashed: {traced}'s pose at this pass. Solid: {traced}'s final body."
        refined = ", refined" if result.fit is not None else ""
        return f"Dashed: {traced}'s pose at this pass. Solid: the window's body ({result.model_name}{refined})."

    @staticmethod
    def _chain_of(item: QTreeWidgetItem | None) -> str | None:
        return None if item is None else item.data(0, Qt.ItemDataRole.UserRole)
