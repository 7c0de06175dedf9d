"""The Keypoints & Fit panel: undo, redo and reset of keypoint edits, which body the views show (regressor, fit,
both overlaid or side by side), a per-joint table of regressor against fit, and exports of either body."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from hkmr_studio.body import kinematics
from hkmr_studio.gui.state import BODY_SHOWN, Document, StudioState
from hkmr_studio.pipeline.core import PipelineResult
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES
from hkmr_studio.render.overlay import MESH_COLOR_RGB, REGRESSION_COLOR_RGB

COLUMNS = ("Joint", "3D moved\n(mm)", "2D error\nbefore (px)", "2D error\nafter (px)")  # two lines: a narrow dock
NO_FIT = "No fit yet: drag a keypoint on the photo (or Body ▸ Refine) to fit the body to the keypoints."
#: SMPL joint -> the MediaPipe landmark of the same name (shoulders, elbows, wrists, hips, knees, ankles).
LANDMARK_OF_JOINT = {j: MEDIAPIPE_LANDMARK_NAMES.index(name) for j, name in enumerate(kinematics.JOINT_NAMES)
                     if name in MEDIAPIPE_LANDMARK_NAMES}


@dataclass(frozen=True)
class JointComparison:
    """One joint of regressor against fit. moved_mm: 3D distance between the two bodies' joint in the camera frame;
    error_before_px / error_after_px: the joint's landmark's reprojection error to the keypoint SMPLify fitted, from
    the regressor's and the fit's body (NaN where the joint has no landmark or the keypoint was not used)."""

    joint: str
    moved_mm: float
    error_before_px: float
    error_after_px: float


def compare_joints(result: PipelineResult) -> list[JointComparison]:
    """One row per SMPL joint (24) when `result` has a fit, else []."""
    if result.fit is None or result.regression is None or result.fit_report is None:
        return []
    moved = np.linalg.norm(result.fit.joints3d - result.regression.joints3d, axis=1) * 1000.0
    before = result.fit_report.error2d_before[0].numpy()
    after = result.fit_report.error2d_after[0].numpy()
    rows = []
    for j, name in enumerate(kinematics.JOINT_NAMES):
        k = LANDMARK_OF_JOINT.get(j)
        rows.append(JointComparison(name, float(moved[j]), float(before[k]) if k is not None else float("nan"),
                                    float(after[k]) if k is not None else float("nan")))
    return rows


def _swatch(rgb: tuple[float, float, float], text: str) -> str:
    return f"<span style='color: {QColor.fromRgbF(*rgb).name()}'>■</span> {text}"


class FitComparison(QWidget):
    """The panel; `history_actions` (undo, redo, reset) go in its toolbar, `export_buttons` ask for a file."""

    def __init__(self, state: StudioState, history_actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        toolbar = QToolBar()
        toolbar.addActions(history_actions)
        hint = QLabel("Drag keypoints on the photo; right-click one to hide or pin it.")
        hint.setWordWrap(True)
        self.show_box = QComboBox()
        for name in BODY_SHOWN:
            self.show_box.addItem(name.capitalize(), name)
        self.show_box.setToolTip("Which body the photo and the 3D view show once there is a fit")
        self.show_box.setCurrentIndex(BODY_SHOWN.index(state.view.body_shown))
        self.show_box.currentIndexChanged.connect(lambda i: setattr(state.view, "body_shown", BODY_SHOWN[i]))
        state.view.events.body_shown.connect(lambda name: self.show_box.setCurrentIndex(BODY_SHOWN.index(name)))
        self.displacement_box = QCheckBox("Colour 3D fit by displacement")
        self.displacement_box.setToolTip("Colour each vertex of the fit by how far it moved from the regressor's body")
        self.displacement_box.setChecked(state.view.color_by_displacement)
        self.displacement_box.toggled.connect(lambda on: setattr(state.view, "color_by_displacement", on))
        state.view.events.color_by_displacement.connect(lambda on: self.displacement_box.setChecked(on))
        show_row = QHBoxLayout()
        show_row.addWidget(QLabel("Show"))
        show_row.addWidget(self.show_box, 1)
        legend = QLabel(f"{_swatch(REGRESSION_COLOR_RGB, 'regressor')} &nbsp; {_swatch(MESH_COLOR_RGB, 'fit')}")
        self.summary = QLabel(NO_FIT)
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)  # counted in `_keep_columns_in_view`
        self.table.setToolTip("Regressor against fit per joint: 3D distance in the camera frame, and the 2D distance "
                              "of the joint's landmark from its keypoint (– where the joint has no keypoint)")
        self.export_buttons = {which: QPushButton(f"Export {label}…") for which, label in
                               (("regression", "Regressor"), ("fit", "Fit"))}
        export_row = QHBoxLayout()
        for which, button in self.export_buttons.items():
            button.setToolTip(f"Save the {'regressor' if which == 'regression' else 'fitted'} body (OBJ, GLB, FBX, "
                              "JSON or NPZ: the format is picked in the dialog)")
            export_row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(toolbar)
        layout.addWidget(hint)
        layout.addLayout(show_row)
        layout.addWidget(legend)
        layout.addWidget(self.displacement_box)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(export_row)
        state.current_changed.connect(self._show)
        state.document_changed.connect(lambda d: self._show(d) if d is state.current else None)
        self._show(state.current)

    def rows(self) -> list[JointComparison]:
        """What the table shows."""
        document = self._state.current
        analysis = document.analysis if document is not None else None
        return compare_joints(analysis.result) if analysis is not None else []

    def _keep_columns_in_view(self) -> None:
        """Ask for the width every column needs, so the dock is never narrower than the table (no column cut off)."""
        self.table.resizeColumnsToContents()
        self.table.setMinimumWidth(self.table.horizontalHeader().length() + 2 * self.table.frameWidth()
                                   + self.table.verticalScrollBar().sizeHint().width())

    def _show(self, document: Document | None) -> None:
        rows = self.rows()
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            values = (row.moved_mm, row.error_before_px, row.error_after_px)
            cells = [row.joint.replace("_", " ")] + ["–" if np.isnan(v) else f"{v:.1f}" for v in values]
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self._keep_columns_in_view()
        fitted = bool(rows)
        for which, button in self.export_buttons.items():
            button.setEnabled(fitted or (which == "regression" and document is not None
                                         and document.analysis is not None and document.analysis.result.found))
        if not fitted:
            self.summary.setText(NO_FIT)
            return
        moved = np.array([r.moved_mm for r in rows])
        before = np.array([r.error_before_px for r in rows])
        after = np.array([r.error_after_px for r in rows])
        worst = rows[int(moved.argmax())].joint.replace("_", " ")
        self.summary.setText(f"Joints moved {moved.mean():.0f} mm on average (most: {worst}, {moved.max():.0f} mm); "
                             f"2D error {np.nanmean(before):.1f} px → {np.nanmean(after):.1f} px.")
