"""Temporal smoothing of a take: one shape, less jitter without lag, gaps kept, strength 0 off, local re-smoothing."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from hkmr_studio.body.model import load_body_model
from hkmr_studio.settings import load_settings
from hkmr_studio.video.smoothing import SmoothingSettings, resmooth_around, smooth_take
from hkmr_studio.video.take import Take, TakeTrack
from training.evaluation.motion_metrics import centred, error_mm, jitter_mm, lag_frames
from training.evaluation.take_sources import SLOW_CORRELATION, drift

FPS = 30.0
FRAMES = 90
GAP = (40, 41)  # frames without a body


def _truth(frames: int = FRAMES) -> TakeTrack:
    """A smooth motion: facing the camera (a half turn about x, where axis-angle wraps), swaying, limbs swinging at
    about 1 Hz, walking sideways 4 m away."""
    t = np.arange(frames)[:, None] / FPS
    global_orient = np.hstack([np.pi - 0.2 + 0.3 * np.sin(2.0 * t), 0.3 * np.sin(1.3 * t), 0.0 * t])
    body_pose = 0.4 * np.sin(2 * np.pi * 0.9 * t + np.arange(69)[None] * 0.7)
    transl = np.hstack([0.5 * np.sin(t), 0.1 + 0.0 * t, 4.0 + 0.2 * np.cos(t)])
    return TakeTrack(global_orient, body_pose, np.tile(np.linspace(-0.5, 0.5, 10), (frames, 1)), transl)


def _take(truth: TakeTrack, seed: int = 0) -> Take:
    """The truth seen through per-frame noise (0.06 rad per pose coordinate, 0.2 in betas, 3 cm), GAP without a body."""
    rng = np.random.default_rng(seed)
    raw = TakeTrack(truth.global_orient + rng.normal(0, 0.06, truth.global_orient.shape),
                    truth.body_pose + rng.normal(0, 0.06, truth.body_pose.shape),
                    truth.betas + rng.normal(0, 0.2, truth.betas.shape), truth.transl + rng.normal(0, 0.03, (FRAMES, 3)))
    status = ["ok"] * FRAMES
    for i in GAP:
        raw = raw.with_frame(i, **{name: np.nan for name in ("global_orient", "body_pose", "betas", "transl")})
        status[i] = "no_person"
    keypoints = np.zeros((FRAMES, 33, 2))
    return Take(source="synthetic", image_size=(640, 480), focal_length=800.0, fps=FPS,
                times=np.arange(FRAMES) / FPS, status=tuple(status), messages=("",) * FRAMES,
                keypoints=keypoints, visibility=np.ones((FRAMES, 33)), raw=raw)


def _joints(track: TakeTrack) -> np.ndarray:
    """(T, 24, 3) pelvis-centred joints of a track, NaN where it has no body."""
    found = np.isfinite(track.global_orient).all(axis=1)
    args = [torch.from_numpy(getattr(track, name)[found]).float() for name in ("global_orient", "body_pose", "betas")]
    out = np.full((track.frame_count, 24, 3), np.nan)
    with torch.inference_mode():
        out[found] = load_body_model().joints_only(*args).double().numpy()
    return centred(out, (0,))


def _changed_frames(a: TakeTrack, b: TakeTrack) -> np.ndarray:
    diff = np.abs(np.hstack([a.global_orient, a.body_pose, a.transl]) - np.hstack([b.global_orient, b.body_pose,
                                                                                    b.transl]))
    return np.flatnonzero(np.nan_to_num(diff).max(axis=1) > 1e-9)


def test_a_smoothed_noisy_take_has_one_shape_less_acceleration_and_at_most_two_frames_of_lag():
    truth = _truth()
    take = _take(truth)
    smoothed = smooth_take(take)
    assert np.allclose(smoothed.smoothed.betas, smoothed.smoothed.betas[0])
    raw_joints, smooth_joints, true_joints = _joints(take.raw), _joints(smoothed.smoothed), _joints(truth)
    assert jitter_mm(smooth_joints) < 0.25 * jitter_mm(raw_joints)
    assert abs(lag_frames(smooth_joints, true_joints)) <= 2.0
    assert error_mm(smooth_joints, true_joints) < error_mm(raw_joints, true_joints)
    assert smoothed.smoothing == SmoothingSettings().as_dict()


def test_the_lag_measure_finds_a_known_delay():
    true_joints = _joints(_truth())
    late = np.concatenate([np.repeat(true_joints[:1], 3, axis=0), true_joints[:-3]])
    assert lag_frames(late, true_joints) == pytest.approx(3.0, abs=0.2)


def test_strength_zero_returns_the_raw_track():
    take = _take(_truth())
    off = smooth_take(take, SmoothingSettings(strength=0.0))
    assert off.smoothed is None and off.track is take.raw
    assert off.smoothing["strength"] == 0.0


def test_frames_without_a_body_stay_without_one_and_the_others_all_have_one():
    smoothed = smooth_take(_take(_truth())).smoothed
    for name in ("global_orient", "body_pose", "transl"):
        values = getattr(smoothed, name)
        assert np.isnan(values[list(GAP)]).all()
        assert np.isfinite(np.delete(values, list(GAP), axis=0)).all()


def test_nothing_is_smoothed_across_a_gap_longer_than_max_gap():
    take = _take(_truth())
    settings = SmoothingSettings(max_gap_s=1.5 / FPS)  # the two missing frames make a 3-frame step
    edited = dataclasses.replace(take, raw=take.raw.with_frame(GAP[0] - 1, body_pose=np.zeros(69)))
    changed = _changed_frames(smooth_take(take, settings).smoothed, smooth_take(edited, settings).smoothed)
    assert changed.size and changed.max() < GAP[0]


def test_rotations_either_side_of_a_half_turn_average_to_the_half_turn_not_to_no_turn():
    truth = _truth()
    near_half_turn = np.array([np.pi - 0.01, 0.0, 0.0])
    orient = np.where((np.arange(FRAMES) % 2 == 0)[:, None], near_half_turn, -near_half_turn)
    take = _take(dataclasses.replace(truth, global_orient=orient))
    take = dataclasses.replace(take, raw=dataclasses.replace(take.raw, global_orient=orient))
    smoothed = smooth_take(take).smoothed.global_orient[[0, 10, 60]]
    # +-(pi - 0.01) about x are 0.02 rad apart; their mean is the half turn (raw axis-angle would average to zero)
    assert np.allclose(np.abs(smoothed[:, 0]), np.pi, atol=0.011) and np.allclose(smoothed[:, 1:], 0, atol=1e-6)


def test_resmooth_around_changes_only_the_frames_near_the_edit_and_equals_a_full_smooth():
    settings = SmoothingSettings()
    take = smooth_take(_take(_truth()), settings)
    index = 20
    edited = dataclasses.replace(take, raw=take.raw.with_frame(index, body_pose=take.raw.body_pose[index] + 0.3))
    again = resmooth_around(edited, index, settings)
    changed = _changed_frames(take.smoothed, again.smoothed)
    reach = settings.reach_s * FPS
    assert changed.size and index in changed and np.abs(changed - index).max() <= reach
    full = smooth_take(edited, settings).smoothed
    for name in ("global_orient", "body_pose", "betas", "transl"):
        np.testing.assert_allclose(getattr(again.smoothed, name), getattr(full, name), atol=1e-9)


def test_resmooth_around_a_given_radius_keeps_every_frame_beyond_it():
    take = smooth_take(_take(_truth()))
    edited = dataclasses.replace(take, raw=take.raw.with_frame(60, body_pose=take.raw.body_pose[60] + 0.3))
    changed = _changed_frames(take.smoothed, resmooth_around(edited, 60, radius=2).smoothed)
    assert set(changed) <= set(range(58, 63)) and 60 in changed


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), "strong", True])
def test_a_strength_outside_0_to_1_is_refused_with_a_message_naming_it(value):
    with pytest.raises(ValueError, match="smoothing strength"):
        SmoothingSettings(strength=value)


def test_a_saved_smoothing_strength_outside_0_to_1_falls_back_to_the_default_with_a_message(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"smoothing_strength": 3}))
    settings, message = load_settings(path)
    assert settings.smoothing_strength == SmoothingSettings().strength
    assert "smoothing_strength" in message
    path.write_text(json.dumps({"smoothing_strength": 0.25}))
    assert load_settings(path)[0].smoothing_strength == 0.25


def test_the_synthetic_takes_drift_keeps_the_correlation_measured_on_real_video():
    noise = drift((4000, 3), 60.0, torch.Generator().manual_seed(0)).double().numpy()
    assert np.corrcoef(noise[1:].ravel(), noise[:-1].ravel())[0, 1] == pytest.approx(SLOW_CORRELATION, abs=0.02)
    assert noise.std() == pytest.approx(1.0, abs=0.15)


def test_at_irregular_frame_times_a_translation_quadratic_in_time_is_kept_exactly():
    truth = _truth()
    times = np.cumsum(np.random.default_rng(1).uniform(0.01, 0.06, FRAMES))  # 17-100 frames/s, varying
    transl = np.stack([0.3 * times, 0.1 - 0.5 * times**2, 4.0 + 0.2 * times], axis=1)
    raw = dataclasses.replace(truth, transl=transl)
    take = dataclasses.replace(_take(truth), times=times, raw=raw, status=("ok",) * FRAMES)
    np.testing.assert_allclose(smooth_take(take).smoothed.transl, transl, atol=1e-9)


def test_a_lone_frame_between_long_gaps_keeps_its_own_body_and_a_take_without_bodies_stays_empty():
    take = _take(_truth())
    status = ["no_person"] * FRAMES
    status[30] = "ok"
    lone = smooth_take(dataclasses.replace(take, status=tuple(status))).smoothed
    np.testing.assert_allclose(lone.body_pose[30], take.raw.body_pose[30], atol=1e-9)
    np.testing.assert_allclose(lone.betas[0], take.raw.betas[30])
    empty = smooth_take(dataclasses.replace(take, status=("no_person",) * FRAMES)).smoothed
    assert np.isnan(empty.body_pose).all() and np.isnan(empty.transl).all()


def test_resmooth_around_a_frame_that_gains_a_body_and_joins_two_stretches_stays_in_reach_and_equals_a_full_smooth():
    settings = SmoothingSettings(max_gap_s=2.5 / FPS)  # GAP's two missing frames split the take in two, one would not
    take = smooth_take(_take(_truth()), settings)
    status = list(take.status)
    status[GAP[0]] = "ok"  # the user gives the first missing frame a body (of the take's shape): one frame is left
    raw = take.raw.with_frame(GAP[0], betas=take.shape, **{name: getattr(take.raw, name)[GAP[0] - 1]
                                                           for name in ("global_orient", "body_pose", "transl")})
    edited = dataclasses.replace(take, raw=raw, status=tuple(status))
    again = resmooth_around(edited, GAP[0], settings).smoothed
    full = smooth_take(edited, settings).smoothed
    changed = _changed_frames(take.smoothed, again)
    assert (changed > GAP[1]).any() and np.abs(changed - GAP[0]).max() <= settings.reach_s * FPS
    for name in ("global_orient", "body_pose", "transl"):
        np.testing.assert_allclose(getattr(again, name), getattr(full, name), atol=1e-9)
