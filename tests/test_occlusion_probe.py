"""The occlusion lab's experiments without Qt: occlude the sample photo, rerun MediaPipe and two models on it, and
measure root-aligned joint displacement per joint, per chain, over a grid and over degrees of occlusion."""

import math

import numpy as np
import pytest
from conftest import SAMPLE_PHOTO
from generator_runs import run_to_end

from hkmr_studio.body import kinematics
from hkmr_studio.occlusion import make_occluder
from hkmr_studio.occlusion_probe import (
    Displacement,
    OcclusionProbe,
    degree_sweep,
    displacement,
    grid_sweep,
    joint_occluder,
    occluded_image,
    root_aligned_displacement_mm,
    turn_deg,
)
from hkmr_studio.pipeline.images import load_image


@pytest.fixture(scope="module")
def probe(untrained_model_path):
    probe = OcclusionProbe([untrained_model_path, "hmr"], device="cpu")
    yield probe
    probe.close()


@pytest.fixture(scope="module")
def reference(probe):
    run = probe.run(load_image(SAMPLE_PHOTO))
    assert run.found
    return run


def test_displacement_ignores_a_shift_of_the_whole_body_and_measures_mm_per_joint():
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(24, 3))
    moved = joints + np.array([0.3, -0.2, 1.0])  # the whole body shifted: nothing moved relative to the root
    assert np.allclose(root_aligned_displacement_mm(joints, moved), 0.0)
    wrist = kinematics.JOINT_INDEX["left_wrist"]
    moved[wrist] += [0.0, 0.01, 0.0]
    per_joint = root_aligned_displacement_mm(joints, moved)
    assert per_joint[wrist] == pytest.approx(10.0) and np.delete(per_joint, wrist) == pytest.approx(0.0, abs=1e-9)
    chains = Displacement({"m": per_joint}, {"m": 0.0}).per_chain_mm("m")
    assert chains["left_arm"] == pytest.approx(10.0 / 5) and chains["right_arm"] == pytest.approx(0.0, abs=1e-9)
    assert list(chains) == [c.name for c in kinematics.CHAINS]


def test_the_whole_bodys_turn_is_the_angle_between_the_two_orientations():
    facing = np.array([0.0, 0.3, 0.0])
    assert turn_deg(facing, facing) == pytest.approx(0.0, abs=1e-6)
    assert turn_deg(facing, facing + [0.0, math.radians(40), 0.0]) == pytest.approx(40.0)
    assert turn_deg(np.zeros(3), np.array([math.pi / 2, 0.0, 0.0])) == pytest.approx(90.0)


def test_the_occluder_is_painted_into_the_photo_and_nowhere_else(reference):
    occluder = joint_occluder(reference, kinematics.JOINT_INDEX["right_knee"], "circle", 3)
    image = occluded_image(reference.image, occluder)
    changed = np.any(image.rgb != reference.image.rgb, axis=2)
    mask = occluder.mask(*changed.shape)
    assert changed.any() and not changed[~mask].any()
    x, y = reference.first.regression.joints2d[kinematics.JOINT_INDEX["right_knee"]]
    assert occluder.center == pytest.approx((x, y))
    assert occluder.radius == pytest.approx(30.0 * reference.first.crop[2] / 224.0)  # degree 3 at the person's crop


def test_the_same_photo_again_moves_no_joint_and_an_occluder_gives_numbers_for_both_models(probe, reference):
    again = displacement(reference, probe.run(reference.image))
    assert set(again.per_joint_mm) == set(probe.models) and len(probe.models) == 2
    for model in probe.models:
        assert np.allclose(again.per_joint_mm[model], 0.0) and again.turn_deg[model] == pytest.approx(0.0, abs=1e-4)
    torso = reference.first.regression.joints2d[kinematics.JOINT_INDEX["spine2"]]
    run, moved = probe.occlude(reference, make_occluder("bar", 5, tuple(torso), angle=0.0,
                                                        crop_size=reference.first.crop[2]))
    assert run.found
    for model in probe.models:
        per_joint = moved.per_joint_mm[model]
        assert per_joint.shape == (24,) and np.isfinite(per_joint).all() and per_joint[0] == 0.0
        assert per_joint.max() > 0.0  # the photo changed, so the keypoints and the bodies did
        assert moved.mean_mm(model) == pytest.approx(per_joint.mean()) and 0.0 <= moved.turn_deg[model] <= 180.0


def test_a_grid_sweep_reports_progress_and_fills_every_cell(probe, reference):
    progress, heatmap = run_to_end(grid_sweep(probe, reference, "circle", 4, cells=2))
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    cx, cy, side = reference.first.crop
    assert heatmap.cell_px == pytest.approx(side / 2) and heatmap.centre(1, 1) == pytest.approx(
        (cx + side / 4, cy + side / 4))
    for model in probe.models:
        assert heatmap.mean_mm[model].shape == (2, 2)
        assert np.isfinite(heatmap.mean_mm[model]).any()


def test_stopping_a_sweep_stops_its_runs(probe, reference, monkeypatch):
    runs = []
    original = probe.occlude
    monkeypatch.setattr(probe, "occlude", lambda *args: runs.append(1) or original(*args))
    sweep = grid_sweep(probe, reference, "rectangle", 2, cells=3)
    assert next(sweep) == (1, 9)
    sweep.close()
    assert len(runs) == 1


def test_a_degree_sweep_gives_one_curve_per_model_and_kind(probe, reference):
    wrist = kinematics.JOINT_INDEX["left_wrist"]
    progress, curves = run_to_end(degree_sweep(probe, reference, kinds=("circle",), degrees=(1, 5), joints=(wrist,)))
    assert progress == [(1, 2), (2, 2)] and curves.degrees == (1, 5) and curves.joints == (wrist,)
    for model in probe.models:
        assert set(curves.mean_mm[model]) == {"circle"}
        assert curves.mean_mm[model]["circle"].shape == (2,)
        assert np.isfinite(curves.mean_mm[model]["circle"]).all()
