"""The offscreen renderer draws meshes where the pinhole camera projects them."""

import numpy as np
import pytest
import torch

from hkmr_studio.geometry.cameras import crop_camera_to_image_translation, perspective_project, weak_perspective_project
from hkmr_studio.render.overlay import MeshRenderer, PinholeCamera, blend


@pytest.fixture(scope="module")
def renderer():
    r = MeshRenderer()
    yield r
    r.close()


def _box(center, half):
    """Axis-aligned box (8 vertices, 12 triangles) around `center`."""
    c = np.asarray(center, dtype=np.float64)
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64) * half + c
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return corners, faces


@pytest.mark.parametrize("principal", [(320.0, 240.0), (400.0, 200.0)])
def test_rendered_mesh_covers_its_projection(renderer, principal):
    camera = PinholeCamera(focal_length=600.0, cx=principal[0], cy=principal[1], width=640, height=480)
    verts, faces = _box((0.3, -0.2, 4.0), 0.1)
    rgba = renderer.render([(verts, faces, (1.0, 0.0, 0.0))], camera)
    assert rgba.shape == (480, 640, 4)
    ys, xs = np.nonzero(rgba[..., 3] > 0)
    centre_px = perspective_project(torch.tensor([[[0.3, -0.2, 4.0]]]), 600.0, torch.tensor([principal]))[0, 0]
    assert abs(xs.mean() - centre_px[0].item()) < 2.0 and abs(ys.mean() - centre_px[1].item()) < 2.0


def test_large_images_render_at_full_size(renderer):
    camera = PinholeCamera(focal_length=3000.0, cx=1500.0, cy=2000.0, width=3000, height=4000)
    verts, faces = _box((0.0, 0.0, 5.0), 0.2)
    rgba = renderer.render([(verts, faces, (0.0, 1.0, 0.0))], camera)
    assert rgba.shape == (4000, 3000, 4)
    ys, xs = np.nonzero(rgba[..., 3] > 0)
    assert abs(xs.mean() - 1500) < 8 and abs(ys.mean() - 2000) < 8


def test_blend_respects_opacity_and_coverage():
    photo = np.full((4, 4, 3), 100, dtype=np.uint8)
    layer = np.zeros((4, 4, 4), dtype=np.uint8)
    layer[0, 0] = (200, 200, 200, 255)
    out = blend(photo, layer, opacity=0.5)
    assert tuple(out[0, 0]) == (150, 150, 150) and tuple(out[1, 1]) == (100, 100, 100)


def test_crop_camera_translation_lands_the_body_on_its_crop():
    points = torch.randn(1, 24, 3, generator=torch.Generator().manual_seed(1)) * 0.3
    camera = torch.tensor([[0.8, 0.1, -0.05]])
    box_center, box_size = torch.tensor([[700.0, 420.0]]), torch.tensor([500.0])
    focal, principal = 1500.0, torch.tensor([[640.0, 360.0]])
    transl = crop_camera_to_image_translation(camera, box_center, box_size, focal, principal)
    persp = perspective_project(points + transl[:, None], focal, principal)
    weak_px = weak_perspective_project(points, camera) * box_size / 2 + box_center[:, None]
    # Same pixels up to the depth extent of the body relative to its distance (~1 %): a few pixels here.
    assert (persp - weak_px).norm(dim=-1).max() < 0.03 * box_size.item()
    origin = perspective_project(transl[:, None], focal, principal)[0, 0]
    assert torch.allclose(origin, box_center[0] + box_size / 2 * camera[0, 0] * camera[0, 1:], atol=1e-3)


def test_reused_renderer_follows_moving_meshes_and_new_colours(renderer):
    camera = PinholeCamera(focal_length=600.0, cx=320.0, cy=240.0, width=640, height=480)
    verts, faces = _box((0.0, 0.0, 4.0), 0.1)
    first = renderer.render([(verts, faces, (1.0, 0.0, 0.0))], camera)
    second = renderer.render([(verts + np.array([0.5, 0.0, 0.0]), faces, (0.0, 0.0, 1.0))], camera)
    xs1 = np.nonzero(first[..., 3] > 0)[1].mean()
    ys, xs2 = np.nonzero(second[..., 3] > 0)
    assert abs((xs2.mean() - xs1) - 600.0 * 0.5 / 4.0) < 3.0  # moved by f * dx / z pixels
    covered = second[ys, xs2]
    assert covered[:, 2].mean() > covered[:, 0].mean()  # blue now, not red


def test_35mm_equivalent_focal_length_scales_by_the_full_frame_diagonal():
    from hkmr_studio.geometry.cameras import focal_length_from_35mm

    # A 50 mm equivalent lens on a 3:2 photo: the photo's diagonal spans 43.27 mm of a full-frame sensor.
    assert focal_length_from_35mm(50.0, 6000, 4000) == pytest.approx(50.0 / 43.27 * np.hypot(6000, 4000))
    # 43.27 mm equivalent is the "normal lens" the app assumes without EXIF: the image diagonal.
    assert focal_length_from_35mm(43.27, 640, 480) == pytest.approx(800.0)
    for bad in (0.0, -35.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="35 mm"):
            focal_length_from_35mm(bad, 640, 480)


def test_an_empty_render_of_a_mesh_in_view_raises_render_error(renderer, monkeypatch):
    """VTK handing back a blank picture (a render cut short) is an error, not an overlay without its body."""
    import pyvista

    from hkmr_studio.render.overlay import RenderError

    camera = PinholeCamera(focal_length=600.0, cx=320.0, cy=240.0, width=640, height=480)
    verts, faces = _box((0.0, 0.0, 4.0), 0.1)
    monkeypatch.setattr(pyvista.Plotter, "screenshot", lambda self, *a, **k: np.zeros((480, 640, 4), np.uint8))
    with pytest.raises(RenderError, match="could not be rendered"):
        renderer.render([(verts, faces, (1.0, 0.0, 0.0))], camera)
    aside = renderer.render([(verts + np.array([10.0, 0.0, 0.0]), faces, (1.0, 0.0, 0.0))], camera)
    assert not aside[..., 3].any()  # a mesh outside the picture rightly covers nothing


def test_ctrl_c_during_a_render_takes_effect_when_vtk_returns(renderer):
    """Ctrl-C inside a VTK callback would be swallowed or end the process; it is held until the render is done."""
    import signal

    camera = PinholeCamera(focal_length=600.0, cx=320.0, cy=240.0, width=640, height=480)
    verts, faces = _box((0.0, 0.0, 4.0), 0.1)
    window = renderer._plotter.ren_win
    events = []

    def ctrl_c(caller, event):
        signal.raise_signal(signal.SIGINT)  # to this thread: os.kill's process-wide signal may reach another
        events.append("Ctrl-C")  # Python runs the SIGINT handler by here: inside VTK's callback

    tags = [window.AddObserver("StartEvent", ctrl_c),
            window.AddObserver("EndEvent", lambda caller, event: events.append("render done"))]
    # Python's own Ctrl-C handler: a Python started with SIGINT ignored (a background job of a non-interactive
    # shell, as a CI script may start the tests) keeps it ignored, and then no Ctrl-C reaches anything
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            renderer.render([(verts, faces, (1.0, 0.0, 0.0))], camera)
    finally:
        signal.signal(signal.SIGINT, before)
        for tag in tags:
            window.RemoveObserver(tag)
    assert events[0] == "Ctrl-C" and events[-1] == "render done"  # the interrupt waited for VTK to finish
