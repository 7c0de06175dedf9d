"""The camera module against values worked out by hand, its round trips, batched shapes, a gradient check, shape
errors that say what was expected, and the fitter and the training sampler projecting exactly as it does."""

import ast
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from hkmr_studio.fitting.smplify import SMPLify, SMPLifyConfig
from hkmr_studio.geometry import cameras
from hkmr_studio.geometry.cameras import (
    crop_camera_to_image_translation,
    crop_pixels_to_normalised,
    depth_for_pixel_scale,
    field_of_view_deg,
    focal_length_from_35mm,
    focal_length_to_35mm,
    image_intrinsics_to_crop_intrinsics,
    image_to_crop_scale,
    image_translation_to_crop_camera,
    normalised_to_crop_pixels,
    normalised_to_pixels,
    perspective_project,
    pixel_scale_at_depth,
    pixels_to_normalised,
    scaled_orthographic_project,
    square_photo_focal_length,
    translation_to_weak_perspective,
    weak_perspective_project,
    weak_perspective_to_pinhole_points,
    weak_perspective_to_translation,
)
from training.samples.cameras import PhotoCameras

FOCAL = 1000.0
PRINCIPAL = torch.tensor([[320.0, 240.0]])
ROOT = Path(__file__).resolve().parents[1]


def _random(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_a_point_two_metres_ahead_lands_focal_over_depth_pixels_per_metre_from_the_principal_point():
    point = torch.tensor([[[0.5, -0.2, 2.0]]])
    # 1000 px / 2 m = 500 px per metre: 0.5 m right -> +250 px, 0.2 m up -> -100 px.
    assert perspective_project(point, FOCAL, PRINCIPAL).tolist() == [[[570.0, 140.0]]]
    assert float(pixel_scale_at_depth(FOCAL, torch.tensor(2.0))) == 500.0
    assert depth_for_pixel_scale(FOCAL, 500.0) == 2.0


def test_perspective_takes_one_focal_length_per_camera_or_per_axis():
    points = torch.tensor([[[0.2, 0.2, 2.0]], [[0.2, 0.2, 2.0]]])
    per_camera = perspective_project(points, torch.tensor([1000.0, 500.0]), torch.zeros(2, 2))
    per_axis = perspective_project(points, torch.tensor([[1000.0, 500.0], [1000.0, 500.0]]), torch.zeros(2, 2))
    assert per_camera.tolist() == [[[100.0, 100.0]], [[50.0, 50.0]]]
    assert per_axis.tolist() == [[[100.0, 50.0]], [[100.0, 50.0]]]


def test_scaled_orthographic_puts_every_point_at_the_origins_depth():
    points = torch.tensor([[[0.5, -0.2, 2.0], [0.5, -0.2, 7.0]]])
    pixels = scaled_orthographic_project(points, FOCAL, PRINCIPAL, torch.tensor([2.0]))
    assert pixels.tolist() == [[[570.0, 140.0], [570.0, 140.0]]]


def test_weak_perspective_scales_the_shifted_point_into_the_crop():
    point = torch.tensor([[[0.3, 0.4, 5.0]]])
    camera = torch.tensor([[0.5, 0.1, -0.2]])  # s = 0.5, t = (0.1, -0.2)
    assert torch.allclose(weak_perspective_project(point, camera), torch.tensor([[[0.2, 0.1]]]))


def test_a_crop_of_side_200_at_320_240_maps_its_centre_and_corners():
    centre, side = torch.tensor([[320.0, 240.0]]), torch.tensor([200.0])
    normalised = torch.tensor([[[0.0, 0.0], [-1.0, -1.0], [1.0, 1.0], [0.5, -0.5]]])
    pixels = normalised_to_pixels(normalised, centre, side)
    assert pixels.tolist() == [[[320.0, 240.0], [220.0, 140.0], [420.0, 340.0], [370.0, 190.0]]]
    assert torch.equal(pixels_to_normalised(pixels, centre, side), normalised)


def test_crop_pixels_span_the_crop_from_its_top_left_edge():
    normalised = torch.tensor([[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0]])
    assert normalised_to_crop_pixels(normalised, 224.0).tolist() == [[0.0, 0.0], [112.0, 112.0], [224.0, 224.0]]
    assert torch.equal(crop_pixels_to_normalised(normalised_to_crop_pixels(normalised, 224.0), 224.0), normalised)


def test_weak_perspective_camera_of_scale_one_sits_2f_over_the_crop_side_away():
    camera = torch.tensor([[1.0, 0.1, -0.2]])
    transl = weak_perspective_to_translation(camera, focal_length_px=5000.0, crop_size_px=224.0)
    assert torch.allclose(transl, torch.tensor([[0.1, -0.2, 10000.0 / 224.0]]))


def test_weak_perspective_to_translation_and_back_is_the_identity_for_a_batch():
    camera = torch.rand(5, 3, generator=torch.Generator().manual_seed(1)) + torch.tensor([0.5, -0.5, -0.5])
    transl = weak_perspective_to_translation(camera)
    assert transl.shape == (5, 3)
    assert torch.allclose(translation_to_weak_perspective(transl), camera, atol=1e-6)


def test_weak_perspective_agrees_with_perspective_for_a_distant_body():
    points = torch.randn(2, 24, 3, generator=torch.Generator().manual_seed(0)) * 0.5
    camera = torch.tensor([[0.9, 0.05, -0.1], [1.1, -0.2, 0.3]])
    weak = weak_perspective_project(points, camera)
    transl = weak_perspective_to_translation(camera, focal_length_px=5000.0, crop_size_px=224.0)
    pix = perspective_project(points + transl[:, None], 5000.0, torch.full((2, 2), 112.0))
    persp = (pix - 112.0) / 112.0
    # Exactly: perspective = weak / (1 + Z / tz); with tz ~ 45 m the two differ by ~2 % per metre of depth.
    assert torch.allclose(persp * (1 + points[..., 2:] / transl[:, None, 2:]), weak, atol=1e-5)
    assert (weak - persp).abs().max() < 0.05
    assert torch.allclose(translation_to_weak_perspective(transl), camera, atol=1e-6)


def test_crop_camera_to_image_translation_known_value():
    # s = 0.5 on a 200 px crop: 50 px per metre there; f = 1000 px gives that at 20 m. The body origin shows at
    # 0.5 * 0.1 = 0.05 normalised = 5 px right of the crop's centre, i.e. 0.1 m right of the axis at 20 m.
    camera = torch.tensor([[0.5, 0.1, 0.0]])
    transl = crop_camera_to_image_translation(camera, torch.tensor([[320.0, 240.0]]), torch.tensor([200.0]), FOCAL,
                                              PRINCIPAL)
    assert torch.allclose(transl, torch.tensor([[0.1, 0.0, 20.0]]))


def test_crop_camera_and_image_translation_round_trip_for_a_batch():
    crop_camera = torch.tensor([[0.8, 0.05, -0.1], [1.3, -0.2, 0.3], [0.4, 0.0, 0.1]], dtype=torch.float64)
    centre = torch.tensor([[300.0, 260.0], [100.0, 400.0], [640.0, 10.0]], dtype=torch.float64)
    side = torch.tensor([180.0, 320.0, 90.0], dtype=torch.float64)
    focal = torch.tensor([900.0, 1500.0, 600.0], dtype=torch.float64)
    principal = torch.tensor([[320.0, 240.0], [330.0, 250.0], [300.0, 200.0]], dtype=torch.float64)
    transl = crop_camera_to_image_translation(crop_camera, centre, side, focal, principal)
    assert transl.shape == (3, 3)
    back = image_translation_to_crop_camera(transl, centre, side, focal, principal)
    assert torch.allclose(back, crop_camera, atol=1e-12)


def test_the_crop_camera_of_a_translation_projects_as_the_scaled_orthographic_camera_does():
    points = _random(2, 24, 3) * 0.4
    transl = torch.tensor([[0.3, -0.1, 3.0], [-0.5, 0.2, 6.0]], dtype=torch.float64)
    centre = torch.tensor([[350.0, 220.0], [200.0, 300.0]], dtype=torch.float64)
    side = torch.tensor([250.0, 120.0], dtype=torch.float64)
    principal = PRINCIPAL.double().expand(2, 2)
    camera = image_translation_to_crop_camera(transl, centre, side, FOCAL, principal)
    in_crop = normalised_to_pixels(weak_perspective_project(points, camera), centre, side)
    in_image = scaled_orthographic_project(points + transl[:, None], FOCAL, principal, transl[:, 2])
    assert torch.allclose(in_crop, in_image, atol=1e-9)


def test_weak_perspective_points_seen_by_a_pinhole_land_where_the_scaled_orthographic_camera_puts_them():
    points = _random(2, 10, 3) * 0.3 + torch.tensor([0.0, 0.0, 4.0], dtype=torch.float64)
    depth = torch.tensor([4.0, 3.5], dtype=torch.float64)
    moved = weak_perspective_to_pinhole_points(points, depth)
    principal = PRINCIPAL.double().expand(2, 2)
    assert torch.equal(moved[..., 2], points[..., 2])
    assert torch.allclose(perspective_project(moved, FOCAL, principal),
                          scaled_orthographic_project(points, FOCAL, principal, depth), atol=1e-9)


def test_crop_intrinsics_see_a_point_where_the_image_camera_and_the_crop_put_it():
    focal, principal = torch.tensor([1000.0]), PRINCIPAL
    centre, side = torch.tensor([[320.0, 240.0]]), torch.tensor([200.0])
    crop_focal, crop_principal = image_intrinsics_to_crop_intrinsics(focal, principal, centre, side, 224.0)
    assert image_to_crop_scale(side, 224.0).tolist() == pytest.approx([1.12])  # crop pixels per image pixel
    assert crop_focal.tolist() == [1120.0]
    assert crop_principal.tolist() == [[112.0, 112.0]]
    points = torch.tensor([[[0.3, -0.4, 3.0], [-0.1, 0.2, 5.0]]])
    via_image = normalised_to_crop_pixels(pixels_to_normalised(perspective_project(points, focal, principal),
                                                               centre, side), 224.0)
    assert torch.allclose(perspective_project(points, crop_focal, crop_principal), via_image, atol=1e-4)


def test_an_18mm_lens_sees_90_degrees_across_a_square_photo():
    focal = square_photo_focal_length(torch.tensor([18.0, 31.5]), 1920.0)
    assert focal.tolist() == pytest.approx([960.0, 1680.0])
    assert float(field_of_view_deg(focal[:1], 1920.0)) == pytest.approx(90.0)


def test_35mm_equivalent_focal_lengths_round_trip_through_pixels():
    # A 43.27 mm lens on a 3000 x 4000 photo: the focal length equals the 5000 px diagonal.
    assert focal_length_from_35mm(cameras.FULL_FRAME_DIAGONAL_MM, 3000, 4000) == pytest.approx(5000.0)
    assert focal_length_to_35mm(focal_length_from_35mm(28.0, 1920, 1080), 1920, 1080) == pytest.approx(28.0)


@pytest.mark.parametrize("project", ["perspective", "scaled_orthographic", "weak"])
def test_projections_pass_a_gradient_check(project):
    points = (_random(2, 4, 3) * 0.3 + torch.tensor([0.0, 0.0, 3.0], dtype=torch.float64)).requires_grad_()
    principal = PRINCIPAL.double().expand(2, 2).clone().requires_grad_()
    depth = torch.tensor([3.0, 2.5], dtype=torch.float64, requires_grad=True)
    camera = torch.tensor([[0.8, 0.1, -0.1], [1.2, 0.0, 0.2]], dtype=torch.float64, requires_grad=True)
    functions = {
        "perspective": (lambda p, c: perspective_project(p, FOCAL, c), (points, principal)),
        "scaled_orthographic": (lambda p, c, d: scaled_orthographic_project(p, FOCAL, c, d), (points, principal, depth)),
        "weak": (weak_perspective_project, (points, camera)),
    }
    function, inputs = functions[project]
    assert torch.autograd.gradcheck(function, inputs)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: perspective_project(torch.zeros(1, 5, 2), FOCAL, PRINCIPAL), r"points: expected shape \(\.\.\., 3\), got \(1, 5, 2\)"),
    (lambda: weak_perspective_project(torch.zeros(1, 5, 3), torch.zeros(1, 2)), r"camera: expected shape \(\.\.\., 3\), got \(1, 2\)"),
    (lambda: normalised_to_pixels(torch.zeros(2, 5, 2), torch.zeros(2, 2), torch.ones(3)), r"box_size: expected shape \(2\), got \(3,\)"),
    (lambda: scaled_orthographic_project(torch.zeros(2, 5, 3), FOCAL, torch.zeros(2, 2), torch.ones(2, 1)), r"depth: expected shape \(2\), got \(2, 1\)"),
    (lambda: image_translation_to_crop_camera(torch.zeros(3), torch.zeros(1, 2), torch.ones(1), FOCAL, PRINCIPAL), r"translation: expected shape \(\*, 3\), got \(3,\)"),
])
def test_shape_errors_name_the_argument_and_say_expected_and_actual(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_projections_keep_the_batch_and_point_dimensions():
    points = _random(4, 33, 3) + torch.tensor([0.0, 0.0, 5.0], dtype=torch.float64)
    principal = torch.zeros(4, 2, dtype=torch.float64)
    assert perspective_project(points, torch.full((4,), 800.0), principal).shape == (4, 33, 2)
    assert scaled_orthographic_project(points, FOCAL, principal, torch.full((4,), 5.0)).shape == (4, 33, 2)
    assert weak_perspective_project(points, torch.ones(4, 3, dtype=torch.float64)).shape == (4, 33, 2)
    assert weak_perspective_to_pinhole_points(points, torch.full((4,), 5.0)).shape == (4, 33, 3)


def test_a_point_behind_the_camera_is_divided_by_a_millimetre_not_by_zero():
    pixels = perspective_project(torch.tensor([[[0.001, 0.0, 0.0]]]), FOCAL, torch.zeros(1, 2))
    assert pixels.tolist() == [[[pytest.approx(1000.0), 0.0]]]
    assert math.isfinite(float(pixel_scale_at_depth(FOCAL, torch.tensor(-1.0))))


@pytest.mark.parametrize("camera_model", ["perspective", "weak"])
def test_smplify_projects_its_landmarks_with_the_camera_modules_functions(body, camera_model):
    fitter = SMPLify(body, SMPLifyConfig(camera_model=camera_model))
    points = _random(2, 33, 3).float() * 0.4
    params = {"transl": torch.tensor([[0.1, 0.2, 3.0], [-0.3, 0.0, 5.0]])}
    principal = torch.tensor([[320.0, 240.0], [300.0, 200.0]])
    projected = fitter._project(params, FOCAL, principal, points)
    in_camera = points + params["transl"][:, None]
    if camera_model == "weak":
        expected = scaled_orthographic_project(in_camera, FOCAL, principal, params["transl"][:, 2])
    else:
        expected = perspective_project(in_camera, FOCAL, principal)
    assert torch.equal(projected, expected)


def test_the_training_samplers_photo_cameras_project_with_the_camera_modules_functions():
    points = _random(2, 33, 3).float() * 0.4
    transl = torch.tensor([[0.1, 0.2, 3.0], [-0.3, 0.0, 5.0]])
    focal, principal = torch.tensor([900.0, 1200.0]), torch.tensor([[256.0, 256.0], [250.0, 260.0]])
    photo = PhotoCameras(512.0, focal, principal, transl, torch.tensor([True, False]))
    pixels, depth, per_metre = photo.project(points)
    in_camera = points + transl[:, None]
    assert torch.equal(pixels[0], perspective_project(in_camera, focal, principal)[0])
    assert torch.equal(pixels[1], scaled_orthographic_project(in_camera, focal, principal, transl[:, 2])[1])
    assert torch.equal(depth, in_camera[..., 2])
    # pixels per metre: at each point's own depth through a pinhole, at the body origin's depth in weak perspective
    assert torch.allclose(per_metre[0], 900.0 / in_camera[0, :, 2])
    assert torch.allclose(per_metre[1], torch.full((33,), 1200.0 / 5.0))


#: Scanned for camera formulas: all but the camera module itself and training/real, whose calibrated multi-view
#: cameras are another model (a full pinhole with lens distortion, fitted with the capture).
NOT_SCANNED = ("hkmr_studio/geometry/cameras.py", "training/real/")
#: Arithmetic on a focal length that is no camera formula: every pixel quantity scaled alike with a resized image.
RESIZES = {("hkmr_studio/batch.py", "focal_length * scale"), ("hkmr_studio/render/overlay.py", "self.focal_length * factor")}


def _name(node: ast.expr) -> str:
    """The identifier an operand is read from: `focal`, `self.focal[:, None]` and `focal_of(x)` all give theirs."""
    while isinstance(node, ast.Subscript | ast.Call):
        node = node.value if isinstance(node, ast.Subscript) else node.func
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _last_index(node: ast.expr) -> ast.expr | None:
    """The last index of a subscript (`2:` of `points[..., 2:]`), else None."""
    if not isinstance(node, ast.Subscript):
        return None
    return node.slice.elts[-1] if isinstance(node.slice, ast.Tuple) else node.slice


def _is_constant(node: ast.expr | None, value: float) -> bool:
    return isinstance(node, ast.Constant) and node.value == value


def _is_xy(node: ast.expr) -> bool:
    """`p[..., :2]`: the x and y of points."""
    index = _last_index(node)
    return isinstance(index, ast.Slice) and index.lower is None and _is_constant(index.upper, 2)


def _is_z(node: ast.expr) -> bool:
    """`p[..., 2:]` or `p[..., 2]`: the depth of points."""
    index = _last_index(node)
    if isinstance(index, ast.Slice):
        return _is_constant(index.lower, 2) and index.upper is None
    return _is_constant(index, 2)


def _is_half(node: ast.expr) -> bool:
    """`x / 2` (or `(x / 2)[:, None]`): half a side, the scale between normalised crop coordinates and pixels."""
    while isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _is_constant(node.right, 2)


def camera_formulas(source: str) -> Iterator[str]:
    """The expressions of `source` that re-derive a camera formula: a focal length multiplied or divided (a
    projection, a depth from a scale, a field of view), a perspective division `xy / z`, or a scale by half a side (a
    crop's pixels <-> normalised coordinates)."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.BinOp) or not isinstance(node.op, ast.Mult | ast.Div):
            continue
        dividing = isinstance(node.op, ast.Div)
        if (any("focal" in _name(side).lower() for side in (node.left, node.right))
                or (dividing and _is_xy(node.left) and _is_z(node.right))
                or _is_half(node.right) or (not dividing and _is_half(node.left))):
            yield ast.unparse(node)


@pytest.mark.parametrize("old", [
    "scale = 2.0 * focal / (depth * box[:, 2])",  # training's crop camera from a translation
    "weak_scale = (self.focal / self.transl[:, 2])[:, None]",  # the sampler's weak perspective
    "scale = focal / transl[:, 2:].clamp_min(1e-3)",  # SMPLify's weak camera
    "pixels = points[:, :2] / points[:, 2:] + principal",  # a pinhole, whatever the focal length is called
    "keypoints_px = (keypoints + 1.0) * (CROP_PX / 2.0)",  # normalised crop coords -> crop pixels
    "origin = centre + (side / 2.0)[:, None] * scale[:, None] * camera[:, 1:]",  # crop coords -> image pixels
    "fov = np.degrees(2.0 * np.arctan(photo_px / 2.0 / rendered.focal))",
])
def test_the_scan_finds_the_formulas_that_used_to_be_written_outside_the_camera_module(old):
    assert list(camera_formulas(old))


def test_no_module_outside_the_camera_module_re_derives_a_camera_formula():
    found = []
    for path in sorted([*ROOT.glob("hkmr_studio/**/*.py"), *ROOT.glob("training/**/*.py")]):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(NOT_SCANNED):
            continue
        found += [f"{relative}: {expression}" for expression in camera_formulas(path.read_text(encoding="utf-8"))
                  if (relative, expression) not in RESIZES]
    assert not found, "call hkmr_studio.geometry.cameras instead of:\n" + "\n".join(found)
