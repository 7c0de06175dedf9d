"""The bar above the photo: what to draw over it (mesh and its opacity, skeleton, keypoints) and zoom buttons."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from hkmr_studio.gui.image_view import ZOOM_STEP, ImageView
from hkmr_studio.gui.state import ViewOptions


class OverlayControls(QWidget):
    """Checkboxes and an opacity slider bound both ways to ViewOptions; zoom buttons for an ImageView."""

    def __init__(self, view: ViewOptions, image_view: ImageView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._view = view
        self.mesh_box = QCheckBox("Mesh")
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setFixedWidth(120)
        self.opacity_slider.setToolTip("Mesh opacity, in the photo and in the 3D view")
        self.opacity_label = QLabel()
        self.opacity_label.setMinimumWidth(36)
        self.skeleton_box = QCheckBox("Skeleton")
        self.keypoints_box = QCheckBox("Keypoints")
        self.keypoints_box.setToolTip("Detected landmarks: filled when seen, hollow orange when guessed")
        fit = QPushButton("Fit")
        fit.setToolTip("Show the whole photo (F)")
        fit.clicked.connect(image_view.fit)
        zoom_in, zoom_out = QPushButton("+"), QPushButton("−")
        zoom_in.clicked.connect(lambda: image_view.zoom(ZOOM_STEP))
        zoom_out.clicked.connect(lambda: image_view.zoom(1 / ZOOM_STEP))
        for button in (zoom_in, zoom_out):
            button.setFixedWidth(28)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.mesh_box, self.opacity_slider, self.opacity_label, self.skeleton_box, self.keypoints_box):
            layout.addWidget(widget)
        layout.addStretch(1)
        hint = QLabel("wheel: zoom · drag: pan")
        hint.setEnabled(False)
        for widget in (hint, zoom_out, zoom_in, fit):
            layout.addWidget(widget)
        self._show()
        self.mesh_box.toggled.connect(lambda on: setattr(view, "show_mesh", on))
        self.skeleton_box.toggled.connect(lambda on: setattr(view, "show_skeleton", on))
        self.keypoints_box.toggled.connect(lambda on: setattr(view, "show_keypoints", on))
        self.opacity_slider.valueChanged.connect(lambda value: setattr(view, "mesh_opacity", value / 100))
        view.events.connect(self._show)

    def _show(self) -> None:
        view = self._view
        self.mesh_box.setChecked(view.show_mesh)
        self.skeleton_box.setChecked(view.show_skeleton)
        self.keypoints_box.setChecked(view.show_keypoints)
        self.opacity_slider.setValue(round(view.mesh_opacity * 100))
        self.opacity_label.setText(f"{round(view.mesh_opacity * 100)} %")
