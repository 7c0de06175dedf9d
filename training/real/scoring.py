"""Scoring 3D bodies on the real benchmark: every view of every frame used, one sample per (frame, person, view).

A sample's input is that view's MediaPipe detection of the person as the app would get it (left/right swaps
included); its truth is the person's triangulated landmarks (training.real.pseudo_truth) in that camera's frame.
Predictions are MediaPipe's 33 landmarks in the camera's axes (any origin): MediaPipe's own world landmarks, or a
model's body through the landmark definition. Scores use the 12 body landmarks (shoulders, elbows, wrists, hips,
knees, ankles), also without the two hips (MediaPipe puts them wider and lower than a body's hip joints):
  MPJPE        mean distance after moving both hip midpoints to the origin, mm
  PA-MPJPE     mean distance after similarity (Procrustes) alignment on the scored landmarks, mm
  facing       angle between the torso forward directions (hkmr_studio.body.facing), degrees
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hkmr_studio.body.facing import facing_error_deg, torso_forward
from hkmr_studio.body.keypoint_sets import PARTIAL_INPUTS
from hkmr_studio.body.landmarks import BodyLandmarks
from hkmr_studio.body.model import load_body_model
from hkmr_studio.checkpoints import LoadedModel
from hkmr_studio.geometry.metrics import per_joint_error, procrustes_align
from hkmr_studio.pipeline.core import network_inputs
from hkmr_studio.pipeline.keypoints import Keypoints2D
from training.evaluation.evaluate import model_predictor
from training.evaluation.partial import partial_keypoints
from training.real.calibration import Camera
from training.real.detections import ViewDetections
from training.real.pseudo_truth import BODY_LANDMARKS, HIPS, PseudoTruth

NO_HIPS: tuple[int, ...] = tuple(i for i in BODY_LANDMARKS if i not in HIPS)
#: Facing errors above these (degrees) are counted.
FACING_LIMITS: tuple[float, ...] = (45.0, 90.0)


@dataclass(frozen=True)
class Samples:
    """N scored samples: frame, person, view (N,) int; keypoints (the detections as the app gets them); image sizes
    (N, 2) (width, height); truth (N, 33, 3) metres in each view's camera frame (NaN where not triangulated);
    swapped (N,) bool: MediaPipe swapped some left/right group in that view."""

    frame: np.ndarray
    person: np.ndarray
    view: np.ndarray
    keypoints: list[Keypoints2D]
    image_size: np.ndarray
    truth: np.ndarray
    swapped: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)


def used_frames(truth: PseudoTruth) -> np.ndarray:
    """(F, K) bool: the person-frames scored: every body landmark triangulated, and the nose in front of the torso
    (a left/right mix-up left in the truth would turn its facing round)."""
    complete = truth.complete()
    with np.errstate(invalid="ignore"):
        points = torch.from_numpy(np.nan_to_num(truth.points))
        nose = points[..., 0, :] - points[..., [11, 12], :].mean(dim=-2)
        in_front = ((nose * torso_forward(points)).sum(dim=-1) > 0).numpy()
    return complete & in_front


def collect_samples(cameras: list[Camera], detections: ViewDetections, truth: PseudoTruth) -> Samples:
    """One sample per view of every used person-frame."""
    rows: list[tuple[int, int, int]] = []
    used = used_frames(truth)
    for f, k in zip(*np.nonzero(used), strict=True):
        rows += [(int(f), int(k), v) for v in np.flatnonzero(truth.slot[f, k] >= 0)]
    keypoints, truths = [], []
    for f, k, v in rows:
        keypoints.append(detections.keypoints(v, f + int(truth.offsets[v]), int(truth.slot[f, k, v])))
        truths.append(cameras[v].to_camera(truth.points[f, k]))
    frame, person, view = (np.array(column, dtype=np.int64) for column in zip(*rows, strict=True))
    sizes = np.array([cameras[v].size for v in view], dtype=np.int64)
    return Samples(frame, person, view, keypoints, sizes, np.stack(truths),
                   truth.swapped[frame, person, view].any(axis=1))


def partial_samples(samples: Samples, kind: str) -> Samples:
    """The samples with each detection given only the landmarks of a partial input (training.evaluation.partial)."""
    return dataclasses.replace(samples, keypoints=[partial_keypoints(kp, kind) for kp in samples.keypoints])


def mediapipe_world(samples: Samples) -> torch.Tensor:
    """(N, 33, 3) MediaPipe's own world landmarks of each sample."""
    return torch.tensor(np.stack([kp.world for kp in samples.keypoints]), dtype=torch.float32)


def model_landmarks(model: LoadedModel, samples: Samples, device: torch.device) -> torch.Tensor:
    """(N, 33, 3) the landmarks of the body `model` recovers from each sample's detection, camera axes."""
    global_orient, body_pose, betas = model_predictor(model, device)(network_batch(model, samples))
    with torch.inference_mode():
        return BodyLandmarks(load_body_model())(global_orient, body_pose, betas).landmarks


def network_batch(model: LoadedModel, samples: Samples) -> dict[str, torch.Tensor]:
    """The network's inputs for every sample as the app makes them (keypoints, visibility, mask, world, has_world),
    world landmarks only if the model's meta says it reads them."""
    use_world = bool(model.meta.get("uses_world_landmarks", False))
    inputs = [network_inputs(kp, tuple(size), use_world) for kp, size in zip(samples.keypoints, samples.image_size,
                                                                             strict=True)]
    return {
        "keypoints": torch.cat([i.landmarks for i in inputs]),
        "visibility": torch.cat([i.visibility for i in inputs]),
        "mask": torch.cat([i.mask for i in inputs]),
        "world": torch.cat([i.world if i.world is not None else torch.zeros(1, 33, 3) for i in inputs]),
        "has_world": torch.tensor([i.world is not None for i in inputs]),
    }


def per_sample_errors(predicted: torch.Tensor, truth: np.ndarray) -> dict[str, np.ndarray]:
    """(N, 33, 3) predictions and truths -> per-sample (N,) errors: mpjpe_mm, pa_mpjpe_mm, mpjpe_no_hips_mm,
    pa_mpjpe_no_hips_mm, facing_deg."""
    true = torch.from_numpy(truth).to(predicted)

    def centred(points: torch.Tensor) -> torch.Tensor:
        return points - points[:, list(HIPS)].mean(dim=1, keepdim=True)

    pred_c, true_c = centred(predicted), centred(true)
    out = {}
    for suffix, landmarks in (("", list(BODY_LANDMARKS)), ("_no_hips", list(NO_HIPS))):
        p, t = pred_c[:, landmarks], true_c[:, landmarks]
        out[f"mpjpe{suffix}_mm"] = per_joint_error(p, t).mean(dim=1) * 1000.0
        out[f"pa_mpjpe{suffix}_mm"] = per_joint_error(procrustes_align(p, t), t).mean(dim=1) * 1000.0
    out["facing_deg"] = facing_error_deg(predicted, true)
    return {key: value.double().numpy() for key, value in out.items()}


def summarise(errors: dict[str, np.ndarray], rows: np.ndarray | None = None) -> dict[str, Any]:
    """Means (mm, degrees) and facing counts over `rows` (None: all samples)."""
    rows = np.ones(len(errors["facing_deg"]), dtype=bool) if rows is None else rows
    summary: dict[str, Any] = {key: round(float(values[rows].mean()), 1) for key, values in errors.items()}
    facing = errors["facing_deg"][rows]
    for limit in FACING_LIMITS:
        summary[f"facing_over_{limit:g}"] = int((facing > limit).sum())
    summary["samples"] = int(rows.sum())
    return summary


def evaluate_real(cameras: list[Camera], detections: ViewDetections, truth: PseudoTruth, models: list[LoadedModel],
                  device: torch.device) -> dict[str, Any]:
    """Scores of MediaPipe's world landmarks and of each model on every sample: overall, per person, on the views
    where MediaPipe swapped sides, and (models) given only each partial input's landmarks. Rows keyed by name (a
    model's meta name, made unique)."""
    samples = collect_samples(cameras, detections, truth)
    predictions = {"MediaPipe world landmarks": mediapipe_world(samples)}
    for model in models:
        name, suffix = model.name, 2
        while name in predictions:
            name, suffix = f"{model.name} ({suffix})", suffix + 1
        predictions[name] = model_landmarks(model, samples, device)
    rows = {}
    for name, predicted in predictions.items():
        errors = per_sample_errors(predicted, samples.truth)
        rows[name] = {
            "all": summarise(errors),
            "per_person": [summarise(errors, samples.person == k) for k in np.unique(samples.person)],
            "swapped_views": summarise(errors, samples.swapped) if samples.swapped.any() else {},
            "per_sample": {key: np.round(values, 1).tolist() for key, values in errors.items()},
        }
    for name, model in zip(list(predictions)[1:], models, strict=True):
        rows[name]["partial"] = {
            kind: summarise(per_sample_errors(model_landmarks(model, partial_samples(samples, kind), device),
                                              samples.truth))
            for kind in PARTIAL_INPUTS}
    return {"samples": {"count": len(samples), "frames": len(np.unique(samples.frame)),
                        "people": len(np.unique(samples.person)), "swapped_views": int(samples.swapped.sum()),
                        "frame": samples.frame.tolist(), "person": samples.person.tolist(),
                        "view": samples.view.tolist()},
            "rows": rows}
