"""The real benchmark's parts on synthetic captures: the QTM calibration reader against a known projection,
triangulation of a known pose from four noisy views, association of two people across views (one view with
MediaPipe-style swapped sides), the facing metric on known rotations, and scoring end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hkmr_studio.body.facing import facing_error_deg
from hkmr_studio.body.landmarks import LANDMARK_MIRROR, BodyLandmarks
from hkmr_studio.body.model import load_body_model
from hkmr_studio.geometry.rotations import axis_angle_to_matrix
from training.real.association import associate, mirror_order
from training.real.calibration import CalibrationError, Camera, read_qca
from training.real.detections import ViewDetections
from training.real.pseudo_truth import BODY_LANDMARKS, PseudoTruth, build_pseudo_truth
from training.real.report import table
from training.real.scoring import collect_samples, evaluate_real, per_sample_errors
from training.real.triangulation import triangulate, triangulate_robust

#: Body frame (Y up, facing +Z) -> a Z-up world in which the body faces -Y.
BODY_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

QCA = """<?xml version='1.0' encoding='ASCII'?>
<calibration><cameras>
 <camera active="1" serial="cam01" model="none">
  <fov_video left="0" top="0" right="999" bottom="1999"/>
  <transform x="0" y="-5000" z="1000" r11="1" r12="0" r13="0" r21="0" r22="0" r23="1" r31="0" r32="-1" r33="0"/>
  <intrinsic focalLengthU="64000" focalLengthV="64000" centerPointU="32000" centerPointV="64000"
   radialDistortion1="0" radialDistortion2="0" tangentalDistortion1="0" tangentalDistortion2="0"/>
 </camera>
</cameras></calibration>
"""


def test_the_qtm_reader_projects_known_points_where_the_camera_sees_them(tmp_path):
    # A camera 5 m in front of the world origin (at y = -5, height 1 m) looking along +y with z up; focal 1000 px,
    # principal point (500, 1000). QTM's rows are the camera's right, up and backward axes in the world.
    path = tmp_path / "calib.qca.txt"
    path.write_text(QCA)
    (camera,) = read_qca(path)
    assert camera.size == (1000, 2000)
    np.testing.assert_allclose(camera.centre, [0.0, -5.0, 1.0], atol=1e-9)
    points = np.array([[0.0, 0.0, 1.0], [0.5, 0.0, 1.0], [0.0, 0.0, 2.0], [0.0, 5.0, 1.0]])
    expected = np.array([[500.0, 1000.0], [600.0, 1000.0], [500.0, 800.0], [500.0, 1000.0]])
    np.testing.assert_allclose(camera.project(points), expected, atol=1e-6)
    np.testing.assert_allclose(camera.to_camera(points[:1]), [[0.0, 0.0, 5.0]], atol=1e-9)


def test_a_broken_calibration_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "broken.qca.txt"
    path.write_text(QCA.replace('r11="1"', 'r11="2"'))
    with pytest.raises(CalibrationError, match="broken.qca.txt.*not a rotation"):
        read_qca(path)
    path.write_text("<calibration>")
    with pytest.raises(CalibrationError, match="not a readable QTM calibration"):
        read_qca(path)


def test_a_letterboxed_video_is_refused_and_a_scaled_one_rescales_the_camera(tmp_path):
    path = tmp_path / "calib.qca.txt"
    path.write_text(QCA)
    (camera,) = read_qca(path)
    half = camera.resized((500, 1000))
    np.testing.assert_allclose(half.project(np.array([[0.5, 0.0, 1.0]])), [[300.0, 500.0]], atol=1e-6)
    with pytest.raises(CalibrationError, match="letterboxed"):
        camera.resized((1000, 1800))


def ring_cameras(count: int = 4, radius: float = 4.0, height: float = 1.8) -> list[Camera]:
    """Cameras around the origin at `height`, each looking at (0, 0, 1); 1080 x 1920, focal 1500 px."""
    cameras = []
    for i in range(count):
        angle = 2.0 * math.pi * i / count + 0.3
        centre = np.array([radius * math.cos(angle), radius * math.sin(angle), height])
        forward = np.array([0.0, 0.0, 1.0]) - centre
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        R = np.stack([right, down, forward])
        K = np.array([[1500.0, 0.0, 540.0], [0.0, 1500.0, 960.0], [0.0, 0.0, 1.0]])
        cameras.append(Camera(f"cam{i + 1:02d}", (1080, 1920), K, np.zeros(4), R, -R @ centre))
    return cameras


def body_landmarks_world(yaw_deg: float = 0.0, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """(33, 3) MediaPipe landmarks of the open body at rest, standing on the world's floor, turned by `yaw_deg`."""
    body = load_body_model()
    zero = torch.zeros(1, 3)
    with torch.no_grad():
        landmarks = BodyLandmarks(body)(zero, torch.zeros(1, 69), torch.zeros(1, 10)).landmarks[0].double().numpy()
    yaw = axis_angle_to_matrix(torch.tensor([[0.0, 0.0, math.radians(yaw_deg)]], dtype=torch.float64))[0].numpy()
    world = landmarks @ BODY_TO_WORLD.T @ yaw.T
    world[:, 2] -= world[:, 2].min()
    world[:, :2] += offset
    return world


def test_triangulation_recovers_a_pose_seen_by_four_noisy_cameras_to_within_a_centimetre_and_a_half():
    cameras = ring_cameras()
    truth = body_landmarks_world()
    rng = np.random.default_rng(0)
    # 2 px of noise is about 5 mm across a ray at 4 m and 1,500 px focal length
    pixels = np.stack([c.project(truth) for c in cameras]) + rng.normal(0.0, 2.0, (4, 33, 2))
    points = triangulate(cameras, pixels, np.ones((4, 33)))
    error = np.linalg.norm(points - truth, axis=1)
    assert np.median(error) < 0.006 and error.max() < 0.015  # metres


def test_robust_triangulation_drops_a_view_that_put_a_landmark_elsewhere():
    cameras = ring_cameras()
    truth = body_landmarks_world()
    pixels = np.stack([c.project(truth) for c in cameras])
    pixels[2, 15] += (150.0, -80.0)  # one view's wrist is far off
    plain = triangulate(cameras, pixels, np.ones((4, 33)))
    robust, used, errors = triangulate_robust(cameras, pixels, np.ones((4, 33)))
    assert np.linalg.norm(plain[15] - truth[15]) > 0.02
    assert np.linalg.norm(robust[15] - truth[15]) < 0.002
    assert not used[2, 15] and used[:, 14].all()
    assert errors[2, 15] > 100.0


def two_people_detections(cameras: list[Camera]) -> tuple[ViewDetections, list[np.ndarray]]:
    """One frame: two people seen by every camera, in a different slot order per view; view 1 swaps person 0's arms
    and legs (as MediaPipe does in back views)."""
    people = [body_landmarks_world(20.0, (-0.8, 0.2)), body_landmarks_world(-140.0, (0.7, -0.3))]
    views = len(cameras)
    detections = ViewDetections(
        found=np.zeros((views, 1, 3), dtype=bool), xy=np.zeros((views, 1, 3, 33, 2), dtype=np.float32),
        visibility=np.zeros((views, 1, 3, 33), dtype=np.float32), world=np.zeros((views, 1, 3, 33, 3), np.float32))
    rng = np.random.default_rng(1)
    for v, camera in enumerate(cameras):
        for k, person in enumerate(people):
            slot = (k + v) % 2
            xy = camera.project(person) + rng.normal(0.0, 1.5, (33, 2))
            if v == 1 and k == 0:
                xy = xy[mirror_order((False, True, True))]
            detections.found[v, 0, slot] = True
            detections.xy[v, 0, slot] = xy
            detections.visibility[v, 0, slot] = 1.0
            camera_points = camera.to_camera(person)
            detections.world[v, 0, slot] = camera_points - camera_points[[23, 24]].mean(axis=0)
    return detections, people


def test_two_people_are_associated_across_views_despite_one_view_swapping_sides():
    cameras = ring_cameras()
    detections, _ = two_people_detections(cameras)
    views = [(detections.xy[v, 0], detections.visibility[v, 0], detections.found[v, 0]) for v in range(4)]
    groups = associate(cameras, views)
    assert len(groups) == 2
    expected = [{v: (k + v) % 2 for v in range(4)} for k in range(2)]
    assert sorted(groups, key=lambda g: g[0]) == sorted(expected, key=lambda g: g[0])


def test_the_pseudo_truth_undoes_the_swapped_view_and_matches_both_people():
    cameras = ring_cameras()
    detections, people = two_people_detections(cameras)
    truth = build_pseudo_truth(cameras, detections, np.zeros(4, dtype=np.int16))
    for person in people:
        k = int(np.argmin([np.nanmean(np.linalg.norm(truth.points[0, k] - person, axis=1)) for k in range(2)]))
        error = np.linalg.norm(truth.points[0, k, list(BODY_LANDMARKS)] - person[list(BODY_LANDMARKS)], axis=1)
        assert error.max() < 0.01
    swapped_person = int(np.argmin([np.linalg.norm(truth.points[0, k, 23] - people[0][23]) for k in range(2)]))
    np.testing.assert_array_equal(truth.swapped[0, swapped_person, :, 1:], [[0, 0], [1, 1], [0, 0], [0, 0]])


@pytest.mark.parametrize("yaw", [0.0, 30.0, 90.0, 150.0, 180.0])
def test_the_facing_error_is_the_angle_a_body_was_turned_by(yaw):
    # The rest body's torso leans ~2 degrees forward, so a turn of 180 about the vertical reads as ~176
    still = torch.from_numpy(body_landmarks_world())
    turned = torch.from_numpy(body_landmarks_world(yaw))
    assert float(facing_error_deg(turned[None], still[None])[0]) == pytest.approx(yaw, abs=4.0)


def test_the_facing_error_follows_a_tilt_about_a_horizontal_axis():
    still = torch.from_numpy(body_landmarks_world())
    tilt = axis_angle_to_matrix(torch.tensor([[math.radians(60.0), 0.0, 0.0]], dtype=torch.float64))[0]
    assert float(facing_error_deg((still @ tilt.T)[None], still[None])[0]) == pytest.approx(60.0, abs=0.5)


def test_a_mirrored_body_faces_the_other_way():
    body = torch.from_numpy(body_landmarks_world(40.0))
    mirrored = body[list(LANDMARK_MIRROR)]
    assert float(facing_error_deg(mirrored[None], body[None])[0]) > 150.0


def test_scoring_gives_mediapipe_no_error_when_its_world_landmarks_are_the_truth():
    cameras = ring_cameras()
    detections, _ = two_people_detections(cameras)
    truth = build_pseudo_truth(cameras, detections, np.zeros(4, dtype=np.int16))
    samples = collect_samples(cameras, detections, truth)
    assert len(samples) == 8 and samples.swapped.sum() == 1
    world = torch.tensor(np.stack([kp.world for kp in samples.keypoints]))
    errors = per_sample_errors(world, samples.truth)
    clean = ~samples.swapped
    assert errors["mpjpe_mm"][clean].max() < 10.0 and errors["facing_deg"][clean].max() < 2.0
    # the same landmarks a little off: the errors are that offset
    shifted = world.clone()
    shifted[:, [25, 27]] += torch.tensor([0.0, 0.0, 0.1], dtype=shifted.dtype)  # one knee and ankle 10 cm deeper
    moved = per_sample_errors(shifted, samples.truth)["mpjpe_no_hips_mm"]
    np.testing.assert_allclose(moved, errors["mpjpe_no_hips_mm"] + 20.0, atol=2.0)  # 2 of 10 landmarks x 100 mm


def test_the_real_table_sets_the_models_beside_mediapipe():
    cameras = ring_cameras()
    detections, _ = two_people_detections(cameras)
    truth = build_pseudo_truth(cameras, detections, np.zeros(4, dtype=np.int16))
    from hkmr_studio.checkpoints import load_checkpoint

    results = evaluate_real(cameras, detections, truth, [load_checkpoint("hkmr")], torch.device("cpu"))
    text = table(results)
    assert text.splitlines()[1].startswith("MediaPipe world landmarks")
    assert "hkmr" in text.splitlines()[2]
    assert results["rows"]["MediaPipe world landmarks"]["all"]["pa_mpjpe_mm"] < 10.0
    assert results["samples"]["count"] == 8
    assert isinstance(truth, PseudoTruth)
