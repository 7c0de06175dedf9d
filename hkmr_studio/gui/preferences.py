"""Preferences: which body model to use (checked by loading it when chosen) and what "Export all" writes."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from hkmr_studio.body.model import load_body_model
from hkmr_studio.export import FORMATS
from hkmr_studio.gui.analysis import is_bug
from hkmr_studio.settings import Settings

#: Longest run of characters without a break opportunity in the refusal message.
BREAK_EVERY = 30
log = logging.getLogger(__name__)
FORMAT_LABELS = {"json": "Parameters (JSON)", "npz": "Parameters (NPZ)", "obj": "Mesh (OBJ)", "glb": "Mesh (GLB)",
                 "fbx": "Rigged body (FBX)"}


def body_file_problem(path: str | Path) -> str:
    """Load a SMPL-format body file; '' when it is usable, else why it was refused (the body check's message)."""
    name = Path(path).name if Path(path).name.isprintable() else repr(Path(path).name)
    try:
        load_body_model(path)
    except Exception as exc:  # a user's file may fail in any way; each failure means refused, bugs are logged
        if is_bug(exc):
            log.error("checking the body file %r failed", path, exc_info=exc)
            return (f"{name} could not be checked: HKMR Studio failed unexpectedly ({type(exc).__name__}). The "
                    "details are in the log; please report it.")
        return f"{name} was refused: {str(exc).removeprefix(f'{name}: ')}"
    return ""


def wrappable(text: str) -> str:
    """`text` with an invisible break opportunity every BREAK_EVERY characters of a long unbroken run (a path), so a
    word-wrapped label can wrap it instead of growing wider than the screen."""
    return re.sub(rf"\S{{{BREAK_EVERY}}}(?=\S)", lambda match: match.group(0) + "\u200b", text)


class PreferencesDialog(QDialog):
    """Edits a copy of the settings' body model and export formats; `values()` gives the result after accept."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self._body_path = settings.body_path
        self.embedded = QRadioButton("Embedded open body (CC0, ships with HKMR Studio)")
        self.licensed = QRadioButton("My licensed SMPL file:")
        group = QButtonGroup(self)
        group.addButton(self.embedded)
        group.addButton(self.licensed)
        self.path_edit = QLineEdit(settings.body_path or "")
        self.path_edit.setReadOnly(True)
        self.path_edit.setPlaceholderText("SMPL_NEUTRAL.pkl from the SMPL website")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #9b1c1c")
        (self.licensed if settings.body_path else self.embedded).setChecked(True)
        self.format_boxes = {fmt: QCheckBox(FORMAT_LABELS[fmt]) for fmt in FORMATS}
        for fmt, box in self.format_boxes.items():
            box.setChecked(fmt in settings.export_formats)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        formats = QVBoxLayout()
        for box in self.format_boxes.values():
            formats.addWidget(box)
        form = QFormLayout()
        body = QVBoxLayout()
        body.addWidget(self.embedded)
        body.addWidget(self.licensed)
        body.addLayout(path_row)
        form.addRow("Body model:", body)
        form.addRow(self.problem_label)  # a row of its own: a nested layout in a form row would clip wrapped text
        form.addRow("Export all writes:", formats)
        self.smoothing_box = QDoubleSpinBox()
        self.smoothing_box.setRange(0.0, 1.0)
        self.smoothing_box.setSingleStep(0.1)
        self.smoothing_box.setValue(settings.smoothing_strength)
        self.smoothing_box.setToolTip("How strongly recorded takes are smoothed over time: 0 off, 1 strongest "
                                      "(a Gaussian of 0.25 s); changing it smooths the open takes again")
        form.addRow("Take smoothing:", self.smoothing_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def choose_body_file(self, path: str) -> bool:
        """Check and take `path` as the body model; on refusal show why and keep the previous choice."""
        problem = body_file_problem(path)
        self._show_problem(problem)
        if problem:
            return False
        self._body_path = str(Path(path).resolve())
        self.path_edit.setText(self._body_path)
        self.licensed.setChecked(True)
        return True

    def values(self) -> tuple[str | None, list[str]]:
        """(body_path or None for the embedded body, export formats)."""
        body_path = self._body_path if self.licensed.isChecked() else None
        return body_path, [fmt for fmt, box in self.format_boxes.items() if box.isChecked()]

    def smoothing_strength(self) -> float:
        """The takes' smoothing strength, 0 (off) to 1."""
        return round(self.smoothing_box.value(), 2)

    def accept(self) -> None:
        if self.licensed.isChecked() and not self._body_path:
            self._show_problem("Choose your SMPL file first, or pick the embedded body.")
            return
        super().accept()

    def _show_problem(self, text: str) -> None:
        """Show `text` under the body choice, wrapped, and fit the dialog to it so no line is cut off."""
        self.problem_label.setText(wrappable(text))
        self.layout().activate()  # the new text's size, before the dialog is fitted to it
        self.adjustSize()

    def _browse(self) -> None:
        start = str(Path(self._body_path).parent) if self._body_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a SMPL-format body model", start,
                                              "SMPL body models (*.pkl *.npz);;All files (*)")
        if path:
            self.choose_body_file(path)
