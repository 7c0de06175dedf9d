"""Offscreen rendering of body meshes over photos with the camera that produced them (pyvista/VTK, no window).

Camera frame: OpenCV (x right, y down, z forward), metres; the rendering camera sits at the origin looking down +z,
so a mesh given in the camera frame lands on the pixels `perspective_project` predicts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from hkmr_studio.geometry.cameras import field_of_view_deg, perspective_project
from hkmr_studio.interrupts import interrupts_held
from hkmr_studio.llvm_load_order import load_triton_before_opengl

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")  # offscreen without an X server

#: Longest image side rendered at full resolution; larger photos are rendered smaller and scaled up.
MAX_RENDER_SIDE = 2048

_BLEND_BAND_ROWS = 256

MESH_COLOR_RGB = (0.55, 0.75, 0.95)
#: The regressor's body where it is shown beside a fit (which keeps MESH_COLOR_RGB).
REGRESSION_COLOR_RGB = (0.98, 0.62, 0.25)


class RenderError(RuntimeError):
    """A render came back without the mesh it should show; the message says what to do."""


@dataclass(frozen=True)
class PinholeCamera:
    """Intrinsics in pixels of the image the mesh is drawn over."""

    focal_length: float
    cx: float
    cy: float
    width: int
    height: int

    def scaled(self, factor: float) -> PinholeCamera:
        return PinholeCamera(self.focal_length * factor, self.cx * factor, self.cy * factor,
                             max(1, round(self.width * factor)), max(1, round(self.height * factor)))


@dataclass(frozen=True)
class DirectionalLight:
    """A light at infinity: `direction` (3,) it shines along, camera frame; RGB `color` in [0, 1]; `intensity`."""

    direction: tuple[float, float, float]
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    intensity: float = 1.0


def _faces_to_vtk(faces: np.ndarray) -> np.ndarray:
    """(F, 3) triangles -> VTK's flat cell array [3, a, b, c, 3, ...]."""
    return np.hstack([np.full((faces.shape[0], 1), 3, dtype=np.int64), faces.astype(np.int64)]).ravel()


def _per_vertex(color: np.ndarray | tuple[float, float, float]) -> bool:
    return isinstance(color, np.ndarray) and color.ndim == 2


def _rgb_bytes(color: np.ndarray) -> np.ndarray:
    """(V, 3) RGB in [0, 1] -> uint8."""
    return (np.clip(color, 0, 1) * 255).astype(np.uint8)


class MeshRenderer:
    """Renders one or more meshes (RGBA) with a pinhole camera; reuse one instance: VTK start-up costs ~1 s.
    Ctrl-C pressed while VTK works takes effect when it returns (`interrupts_held`)."""

    def __init__(self) -> None:
        load_triton_before_opengl()
        import pyvista as pv

        self._pv = pv
        with interrupts_held():
            self._plotter = pv.Plotter(off_screen=True, window_size=(64, 64), lighting="three lights")
            self._plotter.set_background("black")
        self._actors: list = []
        self._meshes: list = []  # PolyData per actor, updated in place while the topology stays the same
        self._faces: list[np.ndarray] = []

    def close(self) -> None:
        with interrupts_held():
            self._plotter.close()

    def set_lights(self, lights: list[DirectionalLight]) -> None:
        """Replace the lighting (the default is pyvista's "three lights") by these directional lights."""
        pl = self._plotter
        pl.remove_all_lights()
        for light in lights:
            direction = np.asarray(light.direction, dtype=float)
            pl.add_light(self._pv.Light(position=tuple(-direction), focal_point=(0.0, 0.0, 0.0), color=light.color,
                                        intensity=light.intensity, light_type="scene light", positional=False))

    def _update_meshes(self, meshes: list[tuple[np.ndarray, np.ndarray, np.ndarray | tuple[float, float, float]]]) -> None:
        """Move the existing actors' points when the topology and colouring are unchanged; rebuild them otherwise."""
        same = len(meshes) == len(self._meshes) and all(
            (faces is old_faces or np.array_equal(faces, old_faces))
            and _per_vertex(color) == ("rgb" in mesh.point_data)
            for (_, faces, color), old_faces, mesh in zip(meshes, self._faces, self._meshes)
        )
        if same:
            for (vertices, _, color), mesh, actor in zip(meshes, self._meshes, self._actors):
                mesh.points = np.asarray(vertices, dtype=np.float32)
                if _per_vertex(color):
                    mesh.point_data["rgb"] = _rgb_bytes(color)
                else:
                    actor.prop.color = tuple(color)
                mesh.Modified()
            return
        for actor in self._actors:
            self._plotter.remove_actor(actor, render=False)
        self._actors, self._meshes, self._faces = [], [], []
        for vertices, faces, color in meshes:
            mesh = self._pv.PolyData(np.asarray(vertices, dtype=np.float32), _faces_to_vtk(np.asarray(faces)))
            if _per_vertex(color):
                mesh.point_data["rgb"] = _rgb_bytes(color)
                actor = self._plotter.add_mesh(mesh, scalars="rgb", rgb=True, smooth_shading=True, render=False)
            else:
                actor = self._plotter.add_mesh(mesh, color=tuple(color), smooth_shading=True, render=False)
            self._actors.append(actor)
            self._meshes.append(mesh)
            self._faces.append(faces)

    def render(
        self,
        meshes: list[tuple[np.ndarray, np.ndarray, np.ndarray | tuple[float, float, float]]],
        camera: PinholeCamera,
    ) -> np.ndarray:
        """Render [(vertices (V, 3) camera frame, faces (F, 3), colour RGB or per-vertex (V, 3) in [0, 1])].

        Returns (H, W, 4) uint8 RGBA at the camera's size; alpha 0 where no mesh covers the pixel. Raises RenderError
        when a mesh in view came back missing.
        """
        factor = min(1.0, MAX_RENDER_SIDE / max(camera.width, camera.height))
        cam = camera.scaled(factor)
        with interrupts_held():
            rgba = self._render(meshes, cam)
        if not rgba[..., 3].any() and _in_view(meshes, cam):
            raise RenderError("the body could not be rendered (VTK returned an empty picture). Run again; if it "
                              "persists, check the graphics setup with `hkmr-studio doctor`")
        if factor < 1.0:
            import cv2

            rgba = cv2.resize(rgba, (camera.width, camera.height), interpolation=cv2.INTER_LINEAR)
        return rgba

    def _render(
        self,
        meshes: list[tuple[np.ndarray, np.ndarray, np.ndarray | tuple[float, float, float]]],
        cam: PinholeCamera,
    ) -> np.ndarray:
        """`render` at the camera's own size: (H, W, 4) uint8 RGBA."""
        pl = self._plotter
        self._update_meshes(meshes)
        if tuple(pl.window_size) != (cam.width, cam.height):
            pl.window_size = (cam.width, cam.height)  # setting it renders a frame: only when it changes
        vtk_cam = pl.camera
        vtk_cam.position = (0.0, 0.0, 0.0)
        vtk_cam.focal_point = (0.0, 0.0, 1.0)
        vtk_cam.up = (0.0, -1.0, 0.0)
        vtk_cam.view_angle = float(field_of_view_deg(torch.tensor(float(cam.focal_length)), cam.height))
        vtk_cam.SetWindowCenter(-2.0 * (cam.cx - cam.width / 2.0) / cam.width,
                                2.0 * (cam.cy - cam.height / 2.0) / cam.height)
        depths = np.concatenate([np.asarray(m[0])[:, 2] for m in meshes]) if meshes else np.array([1.0])
        vtk_cam.clipping_range = (max(0.01, float(depths.min()) * 0.5), float(depths.max()) * 2.0 + 1.0)
        pl.render()
        return pl.screenshot(transparent_background=True, return_img=True)


def _in_view(meshes: list[tuple[np.ndarray, np.ndarray, object]], camera: PinholeCamera) -> bool:
    """Whether the meshes must cover pixels: vertices in front of the camera project inside the frame, at least 2 px
    apart (a smaller mesh may fall between pixel centres)."""
    if not meshes:
        return False
    points = np.concatenate([np.asarray(m[0], dtype=np.float64).reshape(-1, 3) for m in meshes])
    points = points[points[:, 2] > 1e-3]
    principal = torch.tensor([[camera.cx, camera.cy]], dtype=torch.float64)
    pixels = perspective_project(torch.from_numpy(points)[None], camera.focal_length, principal)[0].numpy()
    inside = pixels[((pixels >= 0) & (pixels < (camera.width, camera.height))).all(axis=1)]
    return len(inside) > 0 and float(np.ptp(inside, axis=0).max()) >= 2.0


def blend(image: np.ndarray, rgba: np.ndarray, opacity: float = 0.7) -> np.ndarray:
    """Alpha-blend a rendered (H, W, 4) RGBA layer over an (H, W, 3) RGB uint8 photo into a new array. Floats are
    computed only where the layer covers the photo, a band of rows at a time: photos may have 100+ megapixels."""
    out = image.copy()
    coverage = rgba[..., 3]
    rows, cols = np.flatnonzero(coverage.any(axis=1)), np.flatnonzero(coverage.any(axis=0))
    if rows.size == 0:
        return out
    weight = float(np.clip(opacity, 0.0, 1.0)) / 255.0
    columns = slice(cols[0], cols[-1] + 1)
    for top in range(rows[0], rows[-1] + 1, _BLEND_BAND_ROWS):
        band = (slice(top, min(top + _BLEND_BAND_ROWS, rows[-1] + 1)), columns)
        region = image[band].astype(np.float32)
        region += (rgba[band][..., :3].astype(np.float32) - region) * (rgba[band][..., 3:4] * np.float32(weight))
        out[band] = region.round().astype(np.uint8)
    return out
