"""The occlusion lab: paint one of the paper's occluders into the current photo (click to place it, or "occlude
joint J"), rerun MediaPipe, the window's model and the HMR baseline on it, and read how far each joint and chain
moved; sweep an occluder over a grid for a heatmap over the photo, or over degrees 1-5 for a Fig. 6-style plot.

The widget builds a frozen OcclusionRequest on the GUI thread and shows the outcome; the experiments run as a Qt-free
job (hkmr_studio.occlusion_jobs) on one worker thread (MediaPipe is bound to it); sweeps report progress and stop at
the next run when cancelled.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Generator
from functools import partial

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGraphicsPixmapItem,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import FunctionWorker, GeneratorWorker

from hkmr_studio.body import kinematics
from hkmr_studio.checkpoints import BASELINE_MODEL
from hkmr_studio.gui.analysis import explain_error, is_bug
from hkmr_studio.gui.degree_plot import DegreePlot
from hkmr_studio.gui.image_view import ImageView
from hkmr_studio.gui.qt_images import qimage_from_array
from hkmr_studio.gui.state import Document, Level, StudioState
from hkmr_studio.gui.workers import SerialWorkers, WorkerError, reporting
from hkmr_studio.llvm_load_order import load_triton_before_opengl
from hkmr_studio.occlusion import DEGREES, OCCLUDER_KINDS, Occluder
from hkmr_studio.occlusion_jobs import (
    Comparison,
    DegreeSweep,
    Experiment,
    GridSweep,
    JobProgress,
    OccludeJoint,
    OccluderSettings,
    OcclusionJobs,
    OcclusionOutcome,
    OcclusionRequest,
    PlaceOccluder,
)
from hkmr_studio.occlusion_probe import ALIGNMENT_NOTE, Displacement, Heatmap
from hkmr_studio.pipeline.images import LoadedImage

log = logging.getLogger(__name__)

PREVIEW_RGBA = (255, 60, 200, 110)
HEATMAP_ALPHA = 150


def heat_colors(values: np.ndarray, alpha: int = HEATMAP_ALPHA) -> np.ndarray:
    """(H, W) values -> (H, W, 4) uint8 RGBA from blue (0) over yellow to red (the maximum); NaN transparent."""
    top = np.nanmax(values) if np.isfinite(values).any() else 1.0
    t = np.clip(np.nan_to_num(values / max(top, 1e-9)), 0.0, 1.0)[..., None]
    blue, yellow, red = np.array([40, 80, 230]), np.array([250, 220, 50]), np.array([220, 30, 30])
    rgb = np.where(t < 0.5, blue + (yellow - blue) * 2 * t, yellow + (red - yellow) * (2 * t - 1))
    alpha_channel = np.where(np.isfinite(values), alpha, 0)[..., None]
    return np.concatenate([rgb, alpha_channel], axis=-1).astype(np.uint8)


#: The table's last row: the whole body's turn, in degrees (the other rows are mm).
TURN_ROW = "body turned (°)"


class OcclusionLab(QWidget):
    """Occluder controls, the per-joint and per-chain displacement of every compared model, and the sweeps."""

    compared = Signal(object)  # Displacement of the last occluder placed
    swept = Signal(object)  # Heatmap or DegreeCurves of a finished sweep
    stopped = Signal()  # a sweep was cancelled

    def __init__(self, state: StudioState, image_view: ImageView, baseline: str = BASELINE_MODEL,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._image_view = image_view
        self._baseline = baseline
        self._workers = SerialWorkers(self)
        self._jobs = OcclusionJobs()  # used on the worker thread only
        self._running: GeneratorWorker | None = None
        self._closed = False
        self.labels: dict[str, str] = {}  # model spec -> model name
        self.occluder: Occluder | None = None
        self.displacement: Displacement | None = None
        self.heatmap: Heatmap | None = None

        self.preview_item = QGraphicsPixmapItem()
        self.preview_item.setZValue(6)
        self.heatmap_item = QGraphicsPixmapItem()
        self.heatmap_item.setZValue(4)
        image_view.scene().addItem(self.preview_item)
        image_view.scene().addItem(self.heatmap_item)
        image_view.viewport().installEventFilter(self)

        self.kind_box = QComboBox()
        self.kind_box.addItems(list(OCCLUDER_KINDS))
        self.degree_box = QSpinBox()
        self.degree_box.setRange(DEGREES[0], DEGREES[-1])
        self.degree_box.setValue(3)
        self.degree_box.setToolTip("Degree of occlusion as in the paper, at a 224 px person crop: bar width and "
                                   "circle radius 10·d px, rectangle area 3,000·d px²; scaled to this person's crop")
        self.angle_box = QSpinBox()
        self.angle_box.setRange(0, 179)
        self.angle_box.setValue(45)
        self.angle_box.setSuffix("°")
        self.place_button = QPushButton("Place by clicking")
        self.place_button.setCheckable(True)
        self.place_button.setToolTip("Click on the photo to put the occluder there")
        self.joint_box = QComboBox()
        self.joint_box.addItems(list(kinematics.JOINT_NAMES))
        self.joint_box.setCurrentText("left_wrist")
        self.joint_button = QPushButton("Occlude joint")
        self.joint_button.clicked.connect(lambda: self.occlude_joint(self.joint_box.currentIndex()))
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        self.cells_box = QSpinBox()
        self.cells_box.setRange(1, 20)
        self.cells_box.setValue(6)
        self.cells_box.setToolTip("Grid cells per side over the person's crop (one run per cell)")
        self.heatmap_button = QPushButton("Heatmap sweep")
        self.heatmap_button.clicked.connect(lambda: self.sweep_grid(self.cells_box.value()))
        self.degree_button = QPushButton("Degree sweep")
        self.degree_button.setToolTip("Every kind at degrees 1-5 on each joint (24 × 15 runs)")
        self.degree_button.clicked.connect(lambda: self.sweep_degrees())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.heatmap_model_box = QComboBox()
        self.heatmap_model_box.setToolTip("Whose displacement the heatmap shows")
        self.heatmap_model_box.currentIndexChanged.connect(lambda _: self._show_heatmap())
        self.table = QTableWidget(len(kinematics.CHAINS) + kinematics.NUM_JOINTS + 1, 0)
        self.table.setVerticalHeaderLabels([f"chain {c.name}" for c in kinematics.CHAINS]
                                           + list(kinematics.JOINT_NAMES) + [TURN_ROW])
        self.table.verticalHeaderItem(self.table.rowCount() - 1).setToolTip(
            "How far the whole body's orientation turned (degrees); it moves every root-aligned joint")
        self.plot = DegreePlot()
        self.status_label = QLabel(f"Displacement: {ALIGNMENT_NOTE}, against the unoccluded photo.")
        self.status_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Occluder", self.kind_box)
        form.addRow("Degree (1-5)", self.degree_box)
        form.addRow("Angle", self.angle_box)
        joint_row = QHBoxLayout()
        joint_row.addWidget(self.joint_box, 1)
        joint_row.addWidget(self.joint_button)
        form.addRow("Joint", joint_row)
        place_row = QHBoxLayout()
        place_row.addWidget(self.place_button)
        place_row.addWidget(self.clear_button)
        form.addRow(place_row)
        sweep_row = QHBoxLayout()
        sweep_row.addWidget(QLabel("Cells"))
        sweep_row.addWidget(self.cells_box)
        sweep_row.addWidget(self.heatmap_button)
        sweep_row.addWidget(self.degree_button)
        form.addRow(sweep_row)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        form.addRow(progress_row)
        form.addRow("Heatmap of", self.heatmap_model_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.plot, 1)
        state.current_changed.connect(lambda _: self.clear())
        self._set_running(False)

    # --- public ---------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._running is not None

    def place_at(self, x: float, y: float) -> None:
        """Put the chosen occluder at photo pixel (x, y) and compare."""
        self._start(PlaceOccluder((float(x), float(y))))

    def occlude_joint(self, joint: int) -> None:
        """Put the chosen occluder on SMPL joint `joint` (as the window's model projects it) and compare."""
        self._start(OccludeJoint(joint))

    def sweep_grid(self, cells: int) -> None:
        self._start(GridSweep(cells))

    def sweep_degrees(self, kinds: tuple[str, ...] = OCCLUDER_KINDS, degrees: tuple[int, ...] = DEGREES,
                      joints: tuple[int, ...] | None = None) -> None:
        self._start(DegreeSweep(tuple(kinds), tuple(degrees), None if joints is None else tuple(joints)))

    def cancel(self) -> None:
        if self._running is not None:
            self._running.quit()

    def show_drawings(self, shown: bool) -> None:
        """Show the occluder and the heatmap over the photo (the lab's dock opened), or take them off it (closed: then
        a click on the photo places nothing)."""
        self.preview_item.setVisible(shown)
        self.heatmap_item.setVisible(shown)
        if not shown:
            self.place_button.setChecked(False)

    def clear(self) -> None:
        self.occluder = self.displacement = self.heatmap = None
        self.preview_item.setPixmap(QPixmap())
        self.heatmap_item.setPixmap(QPixmap())
        self.table.setColumnCount(0)

    def shutdown(self) -> None:
        """Stop a sweep, release MediaPipe on its thread and wait; stop listening to the photo's clicks (a filter left
        on it would be called while Qt tears the window down, after Python has let go of this object)."""
        self._closed = True
        self._image_view.viewport().removeEventFilter(self)
        self.cancel()
        closing = FunctionWorker(self._jobs.close)
        self._workers.start(closing)
        self._workers.wait()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (self.place_button.isChecked() and event.type() == QEvent.Type.MouseButtonPress
                and isinstance(event, QMouseEvent) and event.button() == Qt.MouseButton.LeftButton):
            scene = self._image_view.mapToScene(event.position().toPoint())
            self.place_at(scene.x(), scene.y())
            return True
        return super().eventFilter(watched, event)

    # --- the job --------------------------------------------------------------------------------------------

    def _start(self, experiment: Experiment) -> None:
        """Build the request from the window and the controls (GUI thread) and run it on the worker thread."""
        document = self._state.current
        if self._closed or self._running is not None:
            return
        if document is None or document.analysis is None or not document.analysis.result.found:
            self._state.notify(Level.INFO, "Open a photo with a recovered body first; the lab occludes it.")
            return
        choices = self._state.choices
        occluder = OccluderSettings(self.kind_box.currentText(), self.degree_box.value(),
                                    math.radians(self.angle_box.value()))
        request = OcclusionRequest(document.analysis.image, tuple(dict.fromkeys([choices.model, self._baseline])),
                                   choices.device, choices.body_path, occluder, experiment)
        worker = GeneratorWorker(reporting(self._run), request)
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(partial(self._on_returned, document))
        worker.errored.connect(self._on_errored)
        worker.aborted.connect(self._on_aborted)
        worker.finished.connect(lambda: self._set_running(False))
        self._running = worker
        self._set_running(True)
        self._workers.start(worker)

    def _run(self, request: OcclusionRequest) -> Generator[JobProgress, None, OcclusionOutcome]:
        """Worker thread: the job, after the load-order guard (MediaPipe may create an OpenGL context)."""
        load_triton_before_opengl()
        return (yield from self._jobs.run(request))

    # --- GUI side -------------------------------------------------------------------------------------------

    def _set_running(self, running: bool) -> None:
        if not running:
            self._running = None
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("")  # no runs to count until the next job
        for widget in (self.joint_button, self.heatmap_button, self.degree_button):
            widget.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def _on_progress(self, value: object) -> None:
        if isinstance(value, tuple):
            done, total = value
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.setFormat("%v of %m runs")
        else:
            self.progress.setRange(0, 0)
            self.status_label.setText(str(value))

    def _on_returned(self, document: Document, outcome: OcclusionOutcome) -> None:
        if self._closed:
            return
        self._set_running(False)  # before the signals below, so that their handlers may start the next run
        if document is not self._state.current:
            return
        result = outcome.result
        self.labels = outcome.labels
        self.status_label.setText(f"Displacement: {ALIGNMENT_NOTE}, against the unoccluded photo.")
        if isinstance(result, Comparison):
            self._show_occluder(outcome.request.image, result.occluder)
            self._show_displacement(result.displacement)
            if not result.run.found:
                self.status_label.setText("No body was found in the occluded photo: " + result.run.first.message)
            self.compared.emit(result.displacement)
        elif isinstance(result, Heatmap):
            self.heatmap = result
            self.heatmap_model_box.blockSignals(True)
            self.heatmap_model_box.clear()
            for spec in result.mean_mm:
                self.heatmap_model_box.addItem(self.labels[spec], spec)
            self.heatmap_model_box.blockSignals(False)
            self._show_heatmap()
            self.swept.emit(result)
        else:
            self.plot.set_curves(result, self.labels)
            self.swept.emit(result)

    def _on_errored(self, exc: Exception) -> None:
        if self._closed:
            return
        exc = exc.error if isinstance(exc, WorkerError) else exc
        if is_bug(exc) and not isinstance(exc, ValueError):
            log.error("occlusion lab run failed", exc_info=exc)
        text = str(exc) if isinstance(exc, ValueError) else explain_error(exc)
        self.status_label.setText(text)
        self._state.notify(Level.ERROR, f"Occlusion lab: {text}")

    def _on_aborted(self) -> None:
        if not self._closed:
            self.status_label.setText("Sweep cancelled.")
            self.stopped.emit()

    def _show_occluder(self, image: LoadedImage, occluder: Occluder) -> None:
        self.occluder = occluder
        height, width = image.rgb.shape[:2]
        rgba = np.zeros((height, width, 4), np.uint8)
        rgba[occluder.mask(height, width)] = PREVIEW_RGBA
        self.preview_item.setPixmap(QPixmap.fromImage(qimage_from_array(rgba)))

    def _show_displacement(self, displacement: Displacement) -> None:
        self.displacement = displacement
        models = list(displacement.per_joint_mm)
        self.table.setColumnCount(len(models))
        self.table.setHorizontalHeaderLabels([f"{self.labels[m]} (mm)" for m in models])
        for col, model in enumerate(models):
            values = [*displacement.per_chain_mm(model).values(), *displacement.per_joint_mm[model],
                      displacement.turn_deg[model]]
            for row, value in enumerate(values):
                self.table.setItem(row, col, QTableWidgetItem("—" if not np.isfinite(value) else f"{value:.0f}"))

    def _show_heatmap(self) -> None:
        heatmap, spec = self.heatmap, self.heatmap_model_box.currentData()
        if heatmap is None or spec is None:
            self.heatmap_item.setPixmap(QPixmap())
            return
        self.heatmap_item.setPixmap(QPixmap.fromImage(qimage_from_array(heat_colors(heatmap.mean_mm[spec]))))
        self.heatmap_item.setPos(*heatmap.origin)
        self.heatmap_item.setScale(heatmap.cell_px)
        worst = np.nanmax(heatmap.mean_mm[spec]) if np.isfinite(heatmap.mean_mm[spec]).any() else float("nan")
        self.status_label.setText(f"Heatmap: mean joint displacement of {self.labels[spec]} with the occluder centred "
                                  f"in each cell (blue 0 to red {worst:.0f} mm; {ALIGNMENT_NOTE}).")
