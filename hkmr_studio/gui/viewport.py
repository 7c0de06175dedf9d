"""The 3D view (pyvistaqt): the recovered mesh coloured by kinematic chain and its skeleton, in the Y-up view frame
(x right, y up, z towards the viewer). Drag to orbit, scroll to zoom; front, side and top views; screenshots."""

from __future__ import annotations

import numpy as np
import pyvista as pv
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from pyvistaqt import QtInteractor

from hkmr_studio.body import kinematics
from hkmr_studio.gui.analysis import Analysis
from hkmr_studio.gui.state import Document, StudioState
from hkmr_studio.render.colors import joint_colors
from hkmr_studio.render.llvm_guard import load_triton_before_opengl

#: Camera direction (from the body towards the camera) and screen-up per named view.
VIEWS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "front": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    "side": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "top": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
}
_BONES = [(parent, j) for j, parent in enumerate(kinematics.PARENTS) if parent >= 0]
_BONE_CELLS = np.array([[2, parent, j] for parent, j in _BONES]).ravel()


def _mesh_cells(faces: np.ndarray) -> np.ndarray:
    return np.hstack([np.full((len(faces), 1), 3), faces]).ravel()


class BodyViewport(QWidget):
    """A QtInteractor with view buttons; shows the current document's best body."""

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        load_triton_before_opengl()  # before this first OpenGL context (see llvm_guard)
        self.plotter = QtInteractor(self, auto_update=False)
        self.plotter.setAcceptDrops(False)  # files dropped here go to the window
        self.plotter.set_background("#2a2d33", top="#4a505a")
        self._mesh: pv.PolyData | None = None
        self._skeleton: pv.PolyData | None = None
        self._document: Document | None = None
        self.view_buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        bar.addWidget(QLabel("3D"))
        for name in VIEWS:
            button = QPushButton(name.capitalize())
            button.setToolTip(f"Look at the body from the {name}")
            button.clicked.connect(lambda _=False, n=name: self.set_view(n))
            bar.addWidget(button)
            self.view_buttons[name] = button
        self.screenshot_button = QPushButton("Screenshot…")
        self.screenshot_button.setToolTip("Save this 3D view as a PNG image")
        bar.addWidget(self.screenshot_button)
        bar.addStretch(1)
        hint = QLabel("drag: orbit · right-drag/scroll: zoom · shift-drag: pan")
        hint.setEnabled(False)
        bar.addWidget(hint)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.plotter, 1)
        state.current_changed.connect(self._show_document)
        state.document_changed.connect(self._on_document_changed)
        state.view.events.mesh_opacity.connect(self._apply_opacity)

    def show_analysis(self, analysis: Analysis | None, reset_camera: bool) -> None:
        vertices, joints = (analysis.vertices_yup(), analysis.joints_yup()) if analysis is not None else (None, None)
        if vertices is None:
            self.plotter.clear_actors()
            self._mesh = self._skeleton = None
            self.plotter.render()
            return
        if self._mesh is not None and self._mesh.n_points == len(vertices) and self._mesh.n_cells == len(analysis.faces):
            self._mesh.points = vertices
            self._skeleton.points = joints
        else:
            self._build(vertices, joints, analysis)
            reset_camera = True
        if reset_camera:
            self.set_view("front")
        else:
            self.plotter.render()

    def set_view(self, name: str) -> None:
        direction, up = VIEWS[name]
        self.plotter.view_vector(direction, viewup=up, render=False)
        self.plotter.reset_camera(render=False)
        self.plotter.render()

    def screenshot(self) -> np.ndarray:
        """(H, W, 3) uint8 RGB of the 3D view as shown."""
        return self.plotter.screenshot(return_img=True)

    def close_plotter(self) -> None:
        self.plotter.close()

    def _build(self, vertices: np.ndarray, joints: np.ndarray, analysis: Analysis) -> None:
        self.plotter.clear_actors()
        self._mesh = pv.PolyData(vertices, _mesh_cells(analysis.faces))
        self._mesh.point_data["chain_rgb"] = (analysis.vertex_colors * 255).astype(np.uint8)
        self.plotter.add_mesh(self._mesh, scalars="chain_rgb", rgb=True, smooth_shading=True, name="body",
                              opacity=self._state.view.mesh_opacity, render=False)
        self._skeleton = pv.PolyData(joints, lines=_BONE_CELLS)
        self._skeleton.cell_data["bone_rgb"] = (joint_colors()[[j for _, j in _BONES]] * 255).astype(np.uint8)
        self._skeleton.point_data["joint_rgb"] = (joint_colors() * 255).astype(np.uint8)
        self.plotter.add_mesh(self._skeleton, scalars="bone_rgb", rgb=True, line_width=6,
                              render_lines_as_tubes=True, name="skeleton", render=False)
        self.plotter.add_mesh(self._skeleton, scalars="joint_rgb", rgb=True, style="points", point_size=12,
                              render_points_as_spheres=True, name="joints", render=False)

    def _show_document(self, document: Document | None) -> None:
        self._document = document
        self.show_analysis(document.analysis if document is not None else None, reset_camera=True)

    def _on_document_changed(self, document: Document) -> None:
        if document is self._document:
            self.show_analysis(document.analysis, reset_camera=False)

    def _apply_opacity(self, opacity: float) -> None:
        actor = self.plotter.actors.get("body")
        if actor is not None:
            actor.prop.opacity = opacity
            self.plotter.render()
