"""The Hypotheses dock: the probabilistic model's plausible bodies for the current photo (hkmr_studio.hypotheses):
the mode, the flip reading and N samples, listed with their log-likelihood under the flow. All samples are drawn
thinly over the photo, the selected hypothesis thick (dashed) over the photo and in 3D, and every joint is coloured
by how much the samples disagree about it (blue: certain, red: SPREAD_RED_MM or more). After a keypoint drag the
list also holds the flow-prior refit to the edited keypoints beside the window's SMPLify fit, with both 2D errors.
"Use as Body" (or a double click) makes the selected hypothesis the window's body."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyvista as pv
from PySide6.QtCore import QLineF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsLineItem,
    QGraphicsRectItem,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hkmr_studio.body import kinematics
from hkmr_studio.checkpoints import PROBABILISTIC_MODEL
from hkmr_studio.export.frames import camera_to_yup
from hkmr_studio.gui.analysis import Analysis, explain_error, is_bug
from hkmr_studio.gui.image_view import ImageView
from hkmr_studio.gui.state import Document, Level, StudioState
from hkmr_studio.gui.viewport import BodyViewport
from hkmr_studio.gui.workers import LatestJob
from hkmr_studio.hypotheses import DEFAULT_SAMPLES, Hypotheses, Hypothesis, HypothesisMaker
from hkmr_studio.pipeline.core import Pipeline

log = logging.getLogger(__name__)

HYPOTHESIS_ACTOR = "hypothesis_skeleton"
SPREAD_ACTOR = "hypothesis_spread"
SPREAD_RED_MM = 250.0
_BONES = [(parent, j) for j, parent in enumerate(kinematics.PARENTS) if parent >= 0]


def spread_colors(spread_mm: np.ndarray) -> np.ndarray:
    """(24,) mm -> (24, 3) uint8 RGB from blue (0 mm) to red (SPREAD_RED_MM and above)."""
    t = np.clip(spread_mm / SPREAD_RED_MM, 0.0, 1.0)
    return np.array([QColor.fromHsvF(0.66 * (1.0 - v), 0.9, 1.0).getRgb()[:3] for v in t], dtype=np.uint8)


@dataclass(frozen=True)
class _Job:
    document: Document
    analysis: Analysis
    device: str
    body_path: str | None


class HypothesesPanel(QWidget):
    """The dock's widget; `chosen` (document, parameters dict) asks the window to show a hypothesis as the body."""

    ready = Signal()  # the current photo's hypotheses are listed
    chosen = Signal(object, object)

    def __init__(self, state: StudioState, image_view: ImageView, viewport: BodyViewport,
                 model: str = PROBABILISTIC_MODEL, samples: int = DEFAULT_SAMPLES,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state, self._image_view, self._viewport = state, image_view, viewport
        self._model, self._samples = model, samples
        self._makers: dict[tuple[str, str | None], HypothesisMaker] = {}
        self._jobs: LatestJob[_Job, Hypotheses] = LatestJob(self._make, self._on_made, self._on_errored, self)
        self._document: Document | None = None
        self._analysis: Analysis | None = None
        self._shown = True
        self._keep_for: Document | None = None  # the document whose next analysis shows a chosen hypothesis
        self.hypotheses: Hypotheses | None = None
        self.layer = QGraphicsRectItem()
        self.layer.setPen(QPen(Qt.PenStyle.NoPen))
        self.layer.setZValue(6)
        image_view.scene().addItem(self.layer)

        self.list = QListWidget()
        self.list.setToolTip("The probabilistic model's bodies for this photo; log p: how likely the flow finds each")
        self.list.currentRowChanged.connect(lambda _row: self._draw())
        self.list.itemDoubleClicked.connect(lambda _item: self.choose_selected())
        self.use_button = QPushButton("Use as Body")
        self.use_button.setToolTip("Show the selected hypothesis as the photo's body")
        self.use_button.clicked.connect(self.choose_selected)
        self.status_label = QLabel("Open a photo; its plausible bodies appear here.")
        self.status_label.setWordWrap(True)
        legend = QLabel(f"Joint colour: the samples' spread, blue 0 mm to red {SPREAD_RED_MM:.0f} mm or more.")
        legend.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.use_button)
        layout.addWidget(legend)
        layout.addWidget(self.status_label)
        state.current_changed.connect(self._on_document)
        state.document_changed.connect(lambda document: self._on_document(document)
                                       if document is state.current else None)
        self._set_enabled(False)

    # --- public ---------------------------------------------------------------------------------------------

    def selected(self) -> Hypothesis | None:
        row = self.list.currentRow()
        return None if self.hypotheses is None or row < 0 else self.hypotheses.entries[row]

    def choose_selected(self) -> None:
        """Ask the window to make the selected hypothesis the body."""
        hypothesis = self.selected()
        if hypothesis is not None and self._document is not None:
            self._keep_for = self._document
            self.chosen.emit(self._document, hypothesis.params())

    def show_drawings(self, shown: bool) -> None:
        """Draw over the photo and in 3D (the dock opened), or take the drawings off (closed)."""
        self._shown = shown
        self._draw()

    def shutdown(self) -> None:
        self._jobs.close()

    # --- computing ------------------------------------------------------------------------------------------

    def _on_document(self, document: Document | None) -> None:
        analysis = document.analysis if document is not None else None
        if self._jobs.closed or (document is self._document and analysis is self._analysis):
            return
        if analysis is not None and analysis.request.changing:
            return  # a drag's fit while the mouse moves: the list follows the release's refit
        if document is self._keep_for and analysis is not None and self.hypotheses is not None:
            self._keep_for = None  # the hypothesis chosen is now the body: the list stays
            self._analysis = analysis
            return
        self._document, self._analysis = document, analysis
        self._show(None)
        if analysis is None or not analysis.result.found or not self.isVisible():
            self.status_label.setText("Open a photo with a recovered body; its plausible bodies appear here.")
            return
        choices = self._state.choices
        self.status_label.setText(f"Drawing {self._samples} bodies from {self._model}…")
        self._jobs.submit(_Job(document, analysis, choices.device, choices.body_path))

    def showEvent(self, event: object) -> None:
        super().showEvent(event)
        if self.hypotheses is None and not self._jobs.running:
            self._analysis = None
            self._on_document(self._state.current)

    def _make(self, job: _Job) -> Hypotheses:
        """Worker thread: the hypotheses of the job's photo, with the flow-prior refit after a keypoint edit."""
        key = (job.device, job.body_path)
        if key not in self._makers:
            self._makers[key] = HypothesisMaker(Pipeline(self._model, job.body_path, job.device))
        return self._makers[key].make(job.analysis.result, self._samples,
                                      flow_fit=job.analysis.request.refit_from is not None)

    def _on_made(self, job: _Job, hypotheses: Hypotheses) -> None:
        if job.analysis is not self._analysis:
            return
        self._show(hypotheses)
        self.status_label.setText(self._summary(job.analysis, hypotheses))
        self.ready.emit()

    def _on_errored(self, exc: Exception) -> None:
        if is_bug(exc):
            log.error("drawing hypotheses failed", exc_info=exc)
        text = explain_error(exc)
        self.status_label.setText(text)
        self._state.notify(Level.ERROR, f"Hypotheses: {text}")

    @staticmethod
    def _summary(analysis: Analysis, hypotheses: Hypotheses) -> str:
        """Mean spread; after a drag, the flow-prior refit's 2D error beside SMPLify's."""
        text = f"Mean spread of the samples: {hypotheses.spread_mm.mean():.0f} mm per joint."
        fitted = next((h for h in hypotheses.entries if h.label == "flow-prior fit"), None)
        report = analysis.result.fit_report
        if fitted is not None:
            smplify = "no SMPLify fit"
            if report is not None and report.ok:
                smplify = f"SMPLify {float(report.error2d_after.nanmean()):.1f} px"
            text += f" Refit to the edited keypoints, mean 2D error: flow prior {fitted.error2d_px:.1f} px, {smplify}."
        return text

    # --- showing --------------------------------------------------------------------------------------------

    def _set_enabled(self, enabled: bool) -> None:
        self.list.setEnabled(enabled)
        self.use_button.setEnabled(enabled)

    def _show(self, hypotheses: Hypotheses | None) -> None:
        self.hypotheses = hypotheses
        self.list.blockSignals(True)
        self.list.clear()
        for h in hypotheses.entries if hypotheses is not None else ():
            details = [] if np.isnan(h.log_prob) else [f"log p {h.log_prob:.0f}"]
            details += [] if np.isnan(h.error2d_px) else [f"2D error {h.error2d_px:.1f} px"]
            QListWidgetItem(h.label + (f"  ({', '.join(details)})" if details else ""), self.list)
        self.list.setCurrentRow(0 if hypotheses is not None else -1)
        self.list.blockSignals(False)
        self._set_enabled(hypotheses is not None)
        self._draw()

    def _draw(self) -> None:
        for item in self.layer.childItems():
            self._image_view.scene().removeItem(item)
        plotter = self._viewport.plotter
        drawn = HYPOTHESIS_ACTOR in plotter.actors
        plotter.remove_actor([HYPOTHESIS_ACTOR, SPREAD_ACTOR], render=False)
        selected = self.selected()
        if not self._shown or self.hypotheses is None or selected is None:
            if drawn:
                self._viewport.request_render()
            return
        colors = spread_colors(self.hypotheses.spread_mm)
        for sample in self.hypotheses.samples():
            self._bones(sample.joints2d, QColor(255, 255, 255, 90), 1, Qt.PenStyle.SolidLine)
        self._bones(selected.joints2d, QColor(255, 200, 0), 3, Qt.PenStyle.DashLine)
        for j, (x, y) in enumerate(selected.joints2d):
            dot = QGraphicsEllipseItem(QRectF(-5, -5, 10, 10), self.layer)
            dot.setPos(float(x), float(y))
            dot.setFlag(QGraphicsEllipseItem.GraphicsItemFlag.ItemIgnoresTransformations)
            dot.setBrush(QColor(*colors[j].tolist()))
            dot.setPen(QPen(Qt.PenStyle.NoPen))
        points = camera_to_yup(selected.joints3d)
        skeleton = pv.PolyData(points, lines=np.array([[2, p, j] for p, j in _BONES]).ravel())
        plotter.add_mesh(skeleton, color=(1.0, 0.78, 0.0), line_width=5, render_lines_as_tubes=True,
                         name=HYPOTHESIS_ACTOR, render=False)
        joints = pv.PolyData(points)
        joints.point_data["spread_rgb"] = colors
        plotter.add_mesh(joints, scalars="spread_rgb", rgb=True, point_size=14, render_points_as_spheres=True,
                         name=SPREAD_ACTOR, render=False)
        self._viewport.request_render()

    def _bones(self, joints2d: np.ndarray, color: QColor, width: int, style: Qt.PenStyle) -> None:
        pen = QPen(color, width)
        pen.setCosmetic(True)
        pen.setStyle(style)
        for parent, j in _BONES:
            QGraphicsLineItem(QLineF(*joints2d[parent], *joints2d[j]), self.layer).setPen(pen)
