"""`python -m training.evaluation.video_smoothing [--out runs/video_smoothing]`: jitter, lag and error of takes
before and after temporal smoothing (hkmr_studio.video.smoothing), on synthetic takes of real motion capture and on
the real multi-view benchmark (training.evaluation.take_sources), for each candidate method and strength. Prints
markdown tables (training/data/VIDEO_SMOOTHING.md holds them) and writes video_smoothing.json.

Candidates: the app's smoothing of the pose parameters (quaternions) and translation by a Gaussian-weighted local
polynomial of degree 0, 1 or 2; the same filter on the 2D keypoints and world landmarks before the network runs
again ("keypoints"); and a causal One Euro filter on the same quaternions and translation, whose time constant at rest
is the app's sigma. Scores per take (training.evaluation.motion_metrics), then averaged over the takes of a set:
  pose      the body's points relative to its root (synthetic: 24 joints, pelvis-centred; real: the 12 scored
            landmarks, hip-centred, as the real benchmark scores them): jitter, lag and error against the truth
  pelvis    synthetic only: the pelvis in the camera frame (translation and shape together): jitter and error
The default strength is the one whose pose error exceeds each set's best by the least in sum (`chosen_strength`).
Runs in about 13 minutes on 2 busy CPU cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hkmr_studio.atomic import atomic_write_text
from hkmr_studio.body.landmarks import BodyLandmarks
from hkmr_studio.body.model import load_body_model
from hkmr_studio.checkpoints import DEFAULT_MODEL, load_checkpoint
from hkmr_studio.pipeline.keypoints import Keypoints2D
from hkmr_studio.video.smoothing import (
    SmoothingSettings,
    local_fit_weights,
    pose_from_quaternions,
    robust_shape,
    smooth_take,
    stretch_signals,
    stretches,
    weighted_sum,
)
from hkmr_studio.video.take import TakeTrack
from training.evaluation.motion_metrics import centred, error_mm, jitter_mm, lag_frames
from training.evaluation.take_sources import HIPS, TruthTake, real_takes, regress_track, synthetic_takes
from training.real.pseudo_truth import BODY_LANDMARKS

STRENGTHS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
DEGREES = (0, 1, 2)
#: One Euro candidates: speed coefficients (per unit/s of a quaternion component or metre) and the speed's cutoff.
ONE_EURO_BETAS = (0.0, 1.0)
ONE_EURO_SPEED_CUTOFF_HZ = 1.0
DEFAULT_OUT = Path("runs/video_smoothing")
#: The app's method (hkmr_studio.video.smoothing's default degree).
APP_CANDIDATE = f"parameters, degree {SmoothingSettings().degree}"


def body_points(truth_take: TruthTake, track: TakeTrack) -> np.ndarray:
    """(T, P, 3) the track's points as its truth names them, relative to the body's root (module docstring), NaN
    where the frame has no body."""
    body = load_body_model()
    found = truth_take.take.found
    args = [torch.from_numpy(getattr(track, name)[found]).float() for name in ("global_orient", "body_pose", "betas")]
    with torch.inference_mode():
        if truth_take.points == "joints":
            points = centred(body.joints_only(*args).double().numpy(), (0,))
        else:
            points = centred(BodyLandmarks(body)(*args).landmarks.double().numpy(), HIPS)[:, list(BODY_LANDMARKS)]
    out = np.full((len(found), *points.shape[1:]), np.nan)
    out[found] = points
    return out


def true_points(truth_take: TruthTake) -> np.ndarray:
    """(T, P, 3) the truth relative to its root, the same points as `body_points`."""
    if truth_take.points == "joints":
        return centred(truth_take.truth, (0,))
    return centred(truth_take.truth, HIPS)[:, list(BODY_LANDMARKS)]


def pelvis(track: TakeTrack) -> np.ndarray:
    """(T, 1, 3) the pelvis in the camera frame: rest_joints(betas)[0] + transl."""
    with torch.inference_mode():
        rest = load_body_model().rest_joints(torch.from_numpy(np.nan_to_num(track.betas)).float())[:, 0]
    return (rest.double().numpy() + track.transl)[:, None]


def scores(truth_take: TruthTake, track: TakeTrack) -> dict[str, float]:
    """Pose jitter, lag and error (and pelvis jitter and error on synthetic takes) of `track` against the truth."""
    predicted, truth = body_points(truth_take, track), true_points(truth_take)
    out = {"pose_jitter": jitter_mm(predicted), "pose_lag": lag_frames(predicted, truth),
           "pose_error": error_mm(predicted, truth), "truth_jitter": jitter_mm(truth)}
    if truth_take.points == "joints":
        out.update(pelvis_jitter=jitter_mm(pelvis(track)), pelvis_error=error_mm(pelvis(track),
                                                                                  truth_take.truth[:, :1]))
    return out


def smoothed_keypoints(truth_take: TruthTake, settings: SmoothingSettings) -> list[Keypoints2D | None]:
    """The take's keypoints (pixels and world landmarks) smoothed by the app's filter, stretch by stretch."""
    keypoints = list(truth_take.keypoints)
    times = truth_take.take.times
    for stretch in stretches(times, truth_take.take.found, settings.max_gap_s):
        index, weights = local_fit_weights(times[stretch], times[stretch], settings.sigma_s, settings.degree)
        kept = [keypoints[i] for i in stretch]
        xy = weighted_sum(index, weights, np.stack([kp.xy for kp in kept]))
        world = weighted_sum(index, weights, np.stack([kp.world for kp in kept]))
        for row, i in enumerate(stretch):
            keypoints[i] = dataclasses.replace(keypoints[i], xy=xy[row], world=world[row])
    return keypoints


def keypoint_track(truth_take: TruthTake, settings: SmoothingSettings, model: Any) -> TakeTrack:
    """The network's bodies for the take's keypoints smoothed by the app's filter (the raw track at strength 0)."""
    take = truth_take.take
    if settings.strength == 0:
        return take.raw
    present = [kp for kp in smoothed_keypoints(truth_take, settings) if kp is not None]
    fitted = regress_track(model, present, take.image_size, take.focal_length)
    track = TakeTrack.empty(take.frame_count)
    for name in vars(track):
        getattr(track, name)[take.found] = getattr(fitted, name)
    return track


def one_euro(values: np.ndarray, times: np.ndarray, min_cutoff_hz: float, beta: float) -> np.ndarray:
    """The One Euro filter (Casiez et al. 2012), causal, along axis 0 of (S, ...) values at (S,) times: a first-order
    low-pass whose cutoff rises from `min_cutoff_hz` by `beta` times each channel's smoothed speed (units/s)."""
    def alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
        return 1.0 / (1.0 + 1.0 / (2.0 * np.pi * cutoff * dt))

    out = np.empty_like(values)
    out[0] = values[0]
    speed = np.zeros_like(values[0])
    for t in range(1, len(values)):
        dt = max(float(times[t] - times[t - 1]), 1e-6)
        speed = speed + alpha(ONE_EURO_SPEED_CUTOFF_HZ, dt) * ((values[t] - out[t - 1]) / dt - speed)
        out[t] = out[t - 1] + alpha(min_cutoff_hz + beta * np.abs(speed), dt) * (values[t] - out[t - 1])
    return out


def one_euro_track(truth_take: TruthTake, settings: SmoothingSettings, beta: float) -> TakeTrack:
    """The take's one shape with pose (quaternions) and translation through a One Euro filter whose time constant
    at rest is the app's sigma for the same strength (the raw track at strength 0)."""
    take = truth_take.take
    if settings.strength == 0:
        return take.raw
    shape = robust_shape(take)
    track = TakeTrack.empty(take.frame_count)
    for stretch in stretches(take.times, take.found, settings.max_gap_s):
        quaternions, transl = stretch_signals(take.raw, stretch, shape, None)
        cutoff = 1.0 / (2.0 * np.pi * settings.sigma_s)
        pose = pose_from_quaternions(one_euro(quaternions, take.times[stretch], cutoff, beta))
        track.global_orient[stretch], track.body_pose[stretch] = pose[:, :3], pose[:, 3:]
        track.transl[stretch] = one_euro(transl, take.times[stretch], cutoff, beta)
    track.betas[:] = shape
    return track


def candidate_tracks() -> dict[str, Callable[[TruthTake, float, Any], TakeTrack]]:
    """Candidate name -> the track it gives for a take at a strength (with the network at hand)."""
    out: dict[str, Callable[[TruthTake, float, Any], TakeTrack]] = {
        f"parameters, degree {d}": lambda t, s, m, d=d: smooth_take(t.take, SmoothingSettings(s, degree=d)).track
        for d in DEGREES}
    out["keypoints"] = lambda t, s, m: keypoint_track(t, SmoothingSettings(s, degree=1), m)
    for beta in ONE_EURO_BETAS:
        out[f"One Euro (causal), beta {beta:g}"] = lambda t, s, m, b=beta: one_euro_track(t, SmoothingSettings(s), b)
    return out


def sweep(takes: list[TruthTake], model: Any) -> dict[str, dict[str, dict[str, float]]]:
    """candidate -> strength -> mean scores over the takes."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for candidate, track_of in candidate_tracks().items():
        out[candidate] = {}
        for strength in STRENGTHS:
            per_take = [scores(t, track_of(t, strength, model)) for t in takes]
            out[candidate][f"{strength:.1f}"] = {key: round(float(np.mean([s[key] for s in per_take])), 2)
                                                 for key in per_take[0]}
    return out


def chosen_strength(results: dict[str, Any], candidate: str = APP_CANDIDATE) -> float:
    """The strength whose pose error exceeds each set's best (for `candidate`) by the least in sum over the sets."""
    sweeps = [results[name]["sweep"][candidate] for name in results]
    excess = {strength: sum(rows[strength]["pose_error"] - min(r["pose_error"] for r in rows.values())
                            for rows in sweeps) for strength in sweeps[0]}
    return float(min(excess, key=excess.__getitem__))


def table(results: dict[str, dict[str, dict[str, float]]], fps: float) -> str:
    """A markdown table of the sweep."""
    keys = list(next(iter(next(iter(results.values())).values())))
    units = {"jitter": "mm/frame^2", "lag": "frames", "error": "mm"}
    header = " | ".join(f"{k.replace('_', ' ')} ({units[k.split('_')[1]]})" for k in keys)
    lines = [f"| candidate | strength | sigma (frames at {fps:g} fps) | {header} |",
             "|---" * (len(keys) + 3) + "|"]
    for candidate, rows in results.items():
        for strength, row in rows.items():
            sigma = SmoothingSettings(strength=float(strength)).sigma_s * fps
            lines.append(f"| {candidate} | {strength} | {sigma:.1f} | " + " | ".join(f"{row[k]:.2f}" for k in keys)
                         + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    model = load_checkpoint(args.model, "cpu")
    results = {}
    for name, takes in (("synthetic", synthetic_takes(model)), ("real", real_takes(model))):
        results[name] = {"takes": [t.name for t in takes], "frames": int(sum(t.take.frame_count for t in takes)),
                         "sweep": sweep(takes, model)}
        print(f"\n## {name}: {len(takes)} takes, {results[name]['frames']} frames\n")
        print(table(results[name]["sweep"], takes[0].take.fps))
    strength = chosen_strength(results)
    print(f"\nstrength with the least excess pose error over both sets ({APP_CANDIDATE}): {strength:.1f}")
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "video_smoothing.json", json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
