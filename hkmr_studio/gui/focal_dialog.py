"""The camera's focal length for one photo, asked as its 35 mm equivalent in millimetres (what cameras and phones
state and EXIF records) and converted to the photo's pixels, which the pipeline uses."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hkmr_studio.geometry.cameras import focal_length_from_35mm, focal_length_to_35mm

F35_RANGE_MM = (8.0, 2000.0)
SOURCE_TEXT = {"exif": "from the photo's EXIF", "given": "set by you",
               "assumed": "assumed (the photo has no EXIF focal length): a normal lens, the photo's diagonal"}


class FocalLengthDialog(QDialog):
    """Asks for the focal length of a (width, height) photo's camera, now `focal_px` from `source` (assumed | given |
    exif). `value()`: the 35 mm equivalent chosen, in mm, or None for the photo's own (its EXIF, else assumed)."""

    def __init__(self, focal_px: float, source: str, size: tuple[int, int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Camera Focal Length")
        self._size = size
        self._photos_own = False
        now_mm = focal_length_to_35mm(focal_px, *size)
        self.source_label = QLabel(f"Now {now_mm:.0f} mm, {SOURCE_TEXT[source]}.")
        self.source_label.setWordWrap(True)
        self.mm_box = QDoubleSpinBox()
        self.mm_box.setRange(*F35_RANGE_MM)
        self.mm_box.setDecimals(1)
        self.mm_box.setSuffix(" mm")
        self.mm_box.setValue(now_mm)
        self.mm_box.setToolTip("The lens's 35 mm-equivalent focal length, as the camera or phone states it")
        self.pixels_label = QLabel()
        self.mm_box.valueChanged.connect(self._show_pixels)
        self._show_pixels(self.mm_box.value())
        self.reset_button = QPushButton("Use the Photo's Own")
        self.reset_button.setToolTip("The focal length in the photo's EXIF, else the assumed one")
        self.reset_button.clicked.connect(self._use_photos_own)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton(self.reset_button, QDialogButtonBox.ButtonRole.ResetRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("35 mm equivalent", self.mm_box)
        form.addRow("", self.pixels_label)
        layout = QVBoxLayout(self)
        layout.addWidget(self.source_label)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def value(self) -> float | None:
        return None if self._photos_own else self.mm_box.value()

    def _show_pixels(self, mm: float) -> None:
        width, height = self._size
        self.pixels_label.setText(f"= {focal_length_from_35mm(mm, width, height):.0f} px for this {width} x {height} "
                                  "photo")

    def _use_photos_own(self) -> None:
        self._photos_own = True
        self.accept()
