"""The 3D view (pyvistaqt): the recovered mesh coloured by kinematic chain and its skeleton, in the Y-up view frame
(x right, y up, z towards the viewer). Drag to orbit, scroll to zoom; front, side and top views; screenshots.
Where there is a fit, `ViewOptions.body_shown` picks the fit, the regressor's body, or both (overlaid, or the
regressor's to the left) in two colours; the fit can be coloured by each vertex's displacement from the regressor's.

The view draws on a timer of its own, at most MAX_RENDER_HZ times a second, only when something changed and it is
visible, and with at least RENDER_SHARE of the GUI thread's time left for the rest: live video changes the body faster
than a software-rendered frame is worth on a 2-core machine, and every render holds the GUI thread (25-100 ms with
Mesa's llvmpipe under load)."""

from __future__ import annotations

import time

import numpy as np
import pyvista as pv
from PySide6.QtCore import QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from pyvistaqt import QtInteractor

from hkmr_studio.body import kinematics
from hkmr_studio.export.frames import camera_to_yup
from hkmr_studio.gui.analysis import Analysis
from hkmr_studio.gui.state import Document, StudioState
from hkmr_studio.llvm_load_order import load_triton_before_opengl
from hkmr_studio.render.colors import joint_colors
from hkmr_studio.render.overlay import MESH_COLOR_RGB, REGRESSION_COLOR_RGB

#: Camera direction (from the body towards the camera) and screen-up per named view.
VIEWS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "front": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    "side": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "top": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
}
_BONES = [(parent, j) for j, parent in enumerate(kinematics.PARENTS) if parent >= 0]
_BONE_CELLS = np.array([[2, parent, j] for parent, j in _BONES]).ravel()
SIDE_BY_SIDE_GAP_M = 0.3
#: A new body whose centre lies farther than this from that of the body the camera was last framed on is framed
#: again, from the direction the user looks from (a Refine may move the body a metre); smaller moves, such as a
#: keypoint drag's refit, keep the user's zoom and pan.
REFRAME_SHIFT_M = 0.25
DISPLACEMENT_CMAP = "viridis"
#: The most renders per second, and the largest share of the GUI thread's time renders may take: after a render of
#: t seconds the next waits at least t / RENDER_SHARE.
MAX_RENDER_HZ = 12.0
RENDER_SHARE = 0.3
#: Multisampling while live video runs: pyvista's 8 samples made a render 1.5-3x slower than none (Mesa's llvmpipe,
#: 700 x 560 px); photos and takes keep the full quality.
LIVE_MULTI_SAMPLES = 0


def displacement_mm(analysis: Analysis) -> np.ndarray | None:
    """(V,) millimetres each vertex of the fit lies from the regressor's (camera frame), or None without a fit."""
    result = analysis.result
    if result.fit is None:
        return None
    return np.linalg.norm(result.fit.vertices - result.regression.vertices, axis=1) * 1000.0


def _mesh_cells(faces: np.ndarray) -> np.ndarray:
    return np.hstack([np.full((len(faces), 1), 3), faces]).ravel()


class BodyViewport(QWidget):
    """A QtInteractor with view buttons; shows the current document's best body."""

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        load_triton_before_opengl()  # before this first OpenGL context (see llvm_load_order)
        self.plotter = QtInteractor(self, auto_update=False)
        self.plotter.setAcceptDrops(False)  # files dropped here go to the window
        self.plotter.set_background("#2a2d33", top="#4a505a")
        self._mesh: pv.PolyData | None = None
        self._skeleton: pv.PolyData | None = None
        self._regression_mesh: pv.PolyData | None = None  # the regressor's body shown with the fit
        self._look: tuple[str, str] | None = None  # (colouring of the main mesh, how the regressor's is shown)
        self._document: Document | None = None
        self._analysis_shown: Analysis | None = None
        self._framed_center: np.ndarray | None = None  # (3,) Y-up centre of the body the camera was framed on
        self._stale = False  # the scene changed since the last render
        self._last_render = 0.0  # time.perf_counter() of the last render
        self._render_interval = 1.0 / MAX_RENDER_HZ  # seconds from one render to the next, at least
        self.renders = 0  # renders done, for tests and benchmarks
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.timeout.connect(self._render_if_stale)
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
        state.view.events.body_shown.connect(self._redraw)
        state.view.events.color_by_displacement.connect(self._redraw)
        self._multi_samples = 0  # the view's own multisampling, kept while live video runs
        state.live_changed.connect(self._on_live_changed)

    def show_analysis(self, analysis: Analysis | None, reset_camera: bool) -> None:
        self._analysis_shown = analysis
        shown = self._shown(analysis)
        if shown is None:
            self.plotter.clear_actors()
            self._mesh = self._skeleton = self._regression_mesh = None
            self._look = None
            self.request_render()
            return
        vertices, joints, regression, look = shown
        same_body = (self._mesh is not None and self._mesh.n_points == len(vertices)
                     and self._mesh.n_cells == len(analysis.faces))
        if same_body and look == self._look:
            self._mesh.points = vertices
            self._skeleton.points = joints
            if regression is not None:
                self._regression_mesh.points = regression
            if look[0] == "displacement":
                self._mesh.point_data["displacement_mm"] = displacement_mm(analysis)
        else:
            reset_camera = reset_camera or not same_body or self._look is None or self._look[1] != look[1]
            self._build(vertices, joints, regression, look, analysis)
        if reset_camera:
            self.set_view("front")
            return
        if self._framed_center is None or np.linalg.norm(self._mesh.center - self._framed_center) > REFRAME_SHIFT_M:
            self._frame()
        self.request_render()

    def request_render(self) -> None:
        """Draw the scene's changes soon: at the next render slot (MAX_RENDER_HZ), once however often asked."""
        self._stale = True
        if not self._render_timer.isActive():
            wait_s = self._last_render + self._render_interval - time.perf_counter()
            self._render_timer.start(max(0, round(wait_s * 1000)))

    def _render_if_stale(self) -> None:
        """Render now if the scene changed and the view is on screen; a hidden view renders when shown again."""
        if self._stale and self.plotter.isVisible() and not getattr(self.plotter, "_closed", False):
            self._render()

    def _render(self) -> None:
        self._stale = False
        self._last_render = time.perf_counter()
        self.renders += 1
        self.plotter.render()
        self._render_interval = max(1.0 / MAX_RENDER_HZ, (time.perf_counter() - self._last_render) / RENDER_SHARE)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.request_render()

    def _shown(self, analysis: Analysis | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None,
                                                         tuple[str, str]] | None:
        """What to draw per the view options: main vertices (V, 3) and joints (24, 3), the regressor's vertices
        (V, 3) or None, all in the Y-up frame, and the look: the main mesh's colouring (chain | displacement | fit)
        and how the regressor's body is shown ("", "overlaid" or "side by side")."""
        result = analysis.result if analysis is not None else None
        if result is None or result.best is None:
            return None
        mode = self._state.view.body_shown
        if result.fit is None or mode == "fit":
            coloring = "displacement" if result.fit is not None and self._state.view.color_by_displacement else "chain"
            return camera_to_yup(result.best.vertices), camera_to_yup(result.best.joints3d), None, (coloring, "")
        if mode == "regressor":
            body = result.regression
            return camera_to_yup(body.vertices), camera_to_yup(body.joints3d), None, ("chain", "")
        vertices, regression = camera_to_yup(result.fit.vertices), camera_to_yup(result.regression.vertices)
        if mode == "side by side":
            regression[:, 0] -= np.ptp(vertices[:, 0]) + SIDE_BY_SIDE_GAP_M
        coloring = "displacement" if self._state.view.color_by_displacement else "fit"
        return vertices, camera_to_yup(result.fit.joints3d), regression, (coloring, mode)

    def set_view(self, name: str) -> None:
        direction, up = VIEWS[name]
        self.plotter.view_vector(direction, viewup=up, render=False)
        self._frame()
        self.request_render()

    def _frame(self) -> None:
        """Fit the camera to what is shown, keeping its direction, and remember which body it was framed on."""
        self.plotter.renderer.reset_camera(render=False)  # the plotter's own renders, render=False or not
        self._framed_center = np.asarray(self._mesh.center) if self._mesh is not None else None

    def screenshot(self) -> np.ndarray:
        """(H, W, 3) uint8 RGB of the 3D view as shown, with any change not drawn yet."""
        if self._stale:
            self._render()
        return self.plotter.screenshot(return_img=True)

    def close_plotter(self) -> None:
        """Close the 3D view and drop pyvistaqt's wrappers of its Qt OpenGL context and surface while both still exist.
        PySide does not invalidate the surface's wrapper when Qt deletes the surface with the window, and a wrapper
        left behind is handed out for whatever Qt allocates at that address next (heap corruption, crashes, a new
        menu answering as a QOffscreenSurface)."""
        self._render_timer.stop()
        self.plotter.close()
        self.plotter._forget_context()  # pyvistaqt's own reset for a destroyed context; it has no public one

    def _build(self, vertices: np.ndarray, joints: np.ndarray, regression: np.ndarray | None, look: tuple[str, str],
               analysis: Analysis) -> None:
        self.plotter.clear_actors()
        self._look = look
        opacity = self._state.view.mesh_opacity
        self._mesh = pv.PolyData(vertices, _mesh_cells(analysis.faces))
        if look[0] == "displacement":
            self._mesh.point_data["displacement_mm"] = displacement_mm(analysis)
            self.plotter.add_mesh(self._mesh, scalars="displacement_mm", cmap=DISPLACEMENT_CMAP, smooth_shading=True,
                                  name="body", opacity=opacity, render=False,
                                  scalar_bar_args={"title": "moved (mm)", "vertical": True})
        elif look[0] == "fit":
            self.plotter.add_mesh(self._mesh, color=MESH_COLOR_RGB, smooth_shading=True, name="body",
                                  opacity=opacity, render=False)
        else:
            self._mesh.point_data["chain_rgb"] = (analysis.vertex_colors * 255).astype(np.uint8)
            self.plotter.add_mesh(self._mesh, scalars="chain_rgb", rgb=True, smooth_shading=True, name="body",
                                  opacity=opacity, render=False)
        self._regression_mesh = None
        if regression is not None:
            self._regression_mesh = pv.PolyData(regression, _mesh_cells(analysis.faces))
            self.plotter.add_mesh(self._regression_mesh, color=REGRESSION_COLOR_RGB, smooth_shading=True,
                                  name="regression", opacity=opacity, render=False)
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
        """Show the document's new analysis; a change of its status or image alone (each live frame's) draws nothing."""
        if document is self._document and document.analysis is not self._analysis_shown:
            self.show_analysis(document.analysis, reset_camera=False)

    def _redraw(self) -> None:
        if self._document is not None:
            self.show_analysis(self._document.analysis, reset_camera=False)

    def _on_live_changed(self, live: bool) -> None:
        render_window = self.plotter.render_window
        if live:
            self._multi_samples = render_window.GetMultiSamples()  # as the OpenGL context allows
        render_window.SetMultiSamples(LIVE_MULTI_SAMPLES if live else self._multi_samples)
        self.request_render()

    def _apply_opacity(self, opacity: float) -> None:
        actors = [self.plotter.actors.get(name) for name in ("body", "regression")]
        for actor in filter(None, actors):
            actor.prop.opacity = opacity
        if any(actors):
            self.request_render()
