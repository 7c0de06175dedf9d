"""The occlusion lab: paint one of the paper's occluders into the current photo (click to place it, or "occlude
joint J"), rerun MediaPipe, the window's model and the HMR baseline on it, and read how far each joint and chain
moved; sweep an occluder over a grid for a heatmap over the photo, or over degrees 1-5 for a Fig. 6-style plot.

All runs happen on one worker thread (MediaPipe is bound to it) through hkmr_studio.occlusion_probe; sweeps report
progress and stop at the next run when cancelled.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Generator
from functools import partial

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
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
from hkmr_studio.gui.analysis import explain_error, is_bug
from hkmr_studio.gui.image_view import ImageView
from hkmr_studio.gui.qt_images import qimage_from_array
from hkmr_studio.gui.state import Document, Level, StudioState
from hkmr_studio.gui.workers import SerialWorkers, WorkerError, reporting
from hkmr_studio.occlusion import DEGREES, OCCLUDER_KINDS, Occluder, make_occluder
from hkmr_studio.occlusion_probe import (
    ALIGNMENT_NOTE,
    DegreeCurves,
    Displacement,
    Heatmap,
    OcclusionProbe,
    ProbeRun,
    degree_sweep,
    grid_sweep,
    joint_occluder,
)
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.render.llvm_guard import load_triton_before_opengl

log = logging.getLogger(__name__)

BASELINE_MODEL = "hmr"
PREVIEW_RGBA = (255, 60, 200, 110)
HEATMAP_ALPHA = 150
KIND_COLORS = {"bar": QColor(230, 120, 40), "circle": QColor(60, 160, 230), "rectangle": QColor(120, 200, 80)}


def heat_colors(values: np.ndarray, alpha: int = HEATMAP_ALPHA) -> np.ndarray:
    """(H, W) values -> (H, W, 4) uint8 RGBA from blue (0) over yellow to red (the maximum); NaN transparent."""
    top = np.nanmax(values) if np.isfinite(values).any() else 1.0
    t = np.clip(np.nan_to_num(values / max(top, 1e-9)), 0.0, 1.0)[..., None]
    blue, yellow, red = np.array([40, 80, 230]), np.array([250, 220, 50]), np.array([220, 30, 30])
    rgb = np.where(t < 0.5, blue + (yellow - blue) * 2 * t, yellow + (red - yellow) * (2 * t - 1))
    alpha_channel = np.where(np.isfinite(values), alpha, 0)[..., None]
    return np.concatenate([rgb, alpha_channel], axis=-1).astype(np.uint8)


class DegreePlot(QWidget):
    """Mean joint displacement (mm) against degree of occlusion, one line per occluder kind and model (solid: the
    first model, dashed: the second), drawn with QPainter."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.curves: DegreeCurves | None = None
        self.labels: dict[str, str] = {}
        self.setMinimumHeight(180)

    def set_curves(self, curves: DegreeCurves | None, labels: dict[str, str]) -> None:
        self.curves, self.labels = curves, labels
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#1e1f22"))
        painter.setPen(QColor("#9aa0a6"))
        if self.curves is None:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Run a degree sweep to plot it here.")
            return
        values = np.array([v for kinds in self.curves.mean_mm.values() for v in kinds.values()])
        top = max(float(np.nanmax(values)) if np.isfinite(values).any() else 1.0, 1.0) * 1.1
        plot = QRectF(44, 10, self.width() - 54, self.height() - 40)
        painter.drawRect(plot)
        degrees = self.curves.degrees
        span = max(degrees[-1] - degrees[0], 1)

        def point(degree: int, mm: float) -> QPointF:
            return QPointF(plot.left() + (degree - degrees[0]) / span * plot.width(),
                           plot.bottom() - mm / top * plot.height())

        for degree in degrees:
            painter.drawText(QRectF(point(degree, 0).x() - 10, plot.bottom() + 2, 20, 14),
                             Qt.AlignmentFlag.AlignCenter, str(degree))
        painter.drawText(QRectF(0, plot.top(), 40, 14), Qt.AlignmentFlag.AlignRight, f"{top:.0f}")
        painter.drawText(QRectF(0, plot.bottom() - 14, 40, 14), Qt.AlignmentFlag.AlignRight, "0")
        painter.drawText(QRectF(plot.left(), self.height() - 16, plot.width(), 14), Qt.AlignmentFlag.AlignCenter,
                         "degree of occlusion · mean joint displacement (mm)")
        legend_y = plot.top() + 4
        for m_index, (model, kinds) in enumerate(self.curves.mean_mm.items()):
            for kind, curve in kinds.items():
                pen = QPen(KIND_COLORS.get(kind, QColor("white")), 2)
                pen.setStyle(Qt.PenStyle.SolidLine if m_index == 0 else Qt.PenStyle.DashLine)
                painter.setPen(pen)
                points = [point(d, v) for d, v in zip(degrees, curve, strict=True) if np.isfinite(v)]
                for a, b in zip(points, points[1:], strict=False):
                    painter.drawLine(a, b)
                painter.drawLine(QPointF(plot.left() + 6, legend_y + 6), QPointF(plot.left() + 26, legend_y + 6))
                painter.drawText(QPointF(plot.left() + 30, legend_y + 10), f"{self.labels.get(model, model)} {kind}")
                legend_y += 14


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
        self._probe: OcclusionProbe | None = None  # lives on the worker thread
        self._reference: tuple[tuple, ProbeRun] | None = None  # ((image id, models, device, body), run)
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
        self._start(partial(self._occlude_at, (x, y)))

    def occlude_joint(self, joint: int) -> None:
        """Put the chosen occluder on SMPL joint `joint` (as the window's model projects it) and compare."""
        self._start(partial(self._occlude_joint, joint))

    def sweep_grid(self, cells: int) -> None:
        self._start(partial(self._grid, cells))

    def sweep_degrees(self, kinds: tuple[str, ...] = OCCLUDER_KINDS, degrees: tuple[int, ...] = DEGREES,
                      joints: tuple[int, ...] | None = None) -> None:
        self._start(partial(self._degrees, kinds, degrees, joints))

    def cancel(self) -> None:
        if self._running is not None:
            self._running.quit()

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
        closing = FunctionWorker(self._close_probe)
        self._workers.start(closing)
        self._workers.wait()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if (self.place_button.isChecked() and event.type() == QEvent.Type.MouseButtonPress
                and isinstance(event, QMouseEvent) and event.button() == Qt.MouseButton.LeftButton):
            scene = self._image_view.mapToScene(event.position().toPoint())
            self.place_at(scene.x(), scene.y())
            return True
        return super().eventFilter(watched, event)

    # --- worker side ----------------------------------------------------------------------------------------

    def _settings(self) -> tuple[str, int, float]:
        return self.kind_box.currentText(), self.degree_box.value(), math.radians(self.angle_box.value())

    def _start(self, task: Callable[[OcclusionProbe, ProbeRun], Generator]) -> None:
        document = self._state.current
        if self._closed or self._running is not None:
            return
        if document is None or document.analysis is None or not document.analysis.result.found:
            self._state.notify(Level.INFO, "Open a photo with a recovered body first; the lab occludes it.")
            return
        choices = self._state.choices
        models = tuple(dict.fromkeys([choices.model, self._baseline]))
        worker = GeneratorWorker(reporting(self._job), document.analysis.image, models, choices.device,
                                 choices.body_path, task)
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(partial(self._on_returned, document))
        worker.errored.connect(self._on_errored)
        worker.aborted.connect(self._on_aborted)
        worker.finished.connect(lambda: self._set_running(False))
        self._running = worker
        self._set_running(True)
        self._workers.start(worker)

    def _job(self, image: LoadedImage, models: tuple[str, ...], device: str, body_path: str | None,
             task: Callable[[OcclusionProbe, ProbeRun], Generator]) -> Generator:
        """Worker thread: the probe and the unoccluded reference (kept while they stay the same), then the task."""
        load_triton_before_opengl()  # MediaPipe may create an OpenGL context (see llvm_guard)
        key = (id(image), models, device, body_path)
        if self._probe is None or self._reference is None or self._reference[0][1:] != key[1:]:
            self._close_probe()
            self._probe = OcclusionProbe(models, body_path, device)
            self._reference = None
        if self._reference is None or self._reference[0] != key or self._reference[1].image is not image:
            yield "Running the unoccluded photo…"
            self._reference = (key, self._probe.run(image))
        reference = self._reference[1]
        if not reference.found:
            raise ValueError("a model found no body in the unoccluded photo, so there is nothing to compare")
        return (yield from task(self._probe, reference))

    def _occlude_at(self, center: tuple[float, float], probe: OcclusionProbe, reference: ProbeRun) -> Generator:
        kind, degree, angle = self._settings()
        occluder = make_occluder(kind, degree, center, angle, crop_size=reference.first.crop[2])
        yield "Running the occluded photo…"
        return reference, occluder, probe.occlude(reference, occluder)

    def _occlude_joint(self, joint: int, probe: OcclusionProbe, reference: ProbeRun) -> Generator:
        kind, degree, angle = self._settings()
        occluder = joint_occluder(reference, joint, kind, degree, angle)
        yield f"Occluding {kinematics.JOINT_NAMES[joint]}…"
        return reference, occluder, probe.occlude(reference, occluder)

    def _grid(self, cells: int, probe: OcclusionProbe, reference: ProbeRun) -> Generator:
        kind, degree, angle = self._settings()
        return reference, None, (yield from grid_sweep(probe, reference, kind, degree, cells, angle))

    def _degrees(self, kinds: tuple[str, ...], degrees: tuple[int, ...], joints: tuple[int, ...] | None,
                 probe: OcclusionProbe, reference: ProbeRun) -> Generator:
        angle = self._settings()[2]
        return reference, None, (yield from degree_sweep(probe, reference, kinds, degrees, joints, angle))

    def _close_probe(self) -> None:
        if self._probe is not None:
            self._probe.close()
        self._probe, self._reference = None, None

    # --- GUI side -------------------------------------------------------------------------------------------

    def _set_running(self, running: bool) -> None:
        if not running:
            self._running = None
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
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

    def _on_returned(self, document: Document, output: tuple) -> None:
        if self._closed:
            return
        self._set_running(False)  # before the signals below, so that their handlers may start the next run
        if document is not self._state.current:
            return
        reference, occluder, result = output
        self.labels = {spec: run.model_name or spec for spec, run in reference.results.items()}
        self.status_label.setText(f"Displacement: {ALIGNMENT_NOTE}, against the unoccluded photo.")
        if isinstance(result, tuple):
            run, displacement = result
            self._show_occluder(document.analysis.image, occluder)
            self._show_displacement(displacement)
            if not run.found:
                self.status_label.setText("No body was found in the occluded photo: " + run.first.message)
            self.compared.emit(displacement)
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
