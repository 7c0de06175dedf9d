"""Fit landmark definitions to MediaPipe's detections on renders, and measure how well a definition predicts them.

Per left (or midline) landmark, the weights over its candidate vertices and joints solve a non-negative least squares
problem in the renders' pixels: the weights sum to 1 (a point in the candidates' convex hull), a ridge keeps them near
the anatomical start, and Huber reweighting discounts MediaPipe's occasional outliers. A left landmark and its mirror
image share weights (candidates mirrored), so the definition stays left/right symmetric and sees twice the data.
Projection x = f X / Z + c is made linear in the weights by multiplying through by the depth Z (then divided by the
landmark's depth so residuals stay in pixels).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import nnls

from hkmr_studio.body.landmarks import LANDMARK_MIRROR, Landmark, LandmarkDefinition, combine_points
from hkmr_studio.geometry.cameras import perspective_project
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES, VISIBILITY_THRESHOLD
from training.landmarks.initial import Candidates, RestBody, mirror_landmark, mirror_name
from training.landmarks.observe import Observations
from training.samples.detector_model import SWAP_GROUPS

MIRRORED = np.asarray(LANDMARK_MIRROR)


@dataclass(frozen=True)
class FitSettings:
    """ridge: pixels^2 per unit squared weight change, per observation; huber_px: residual where Huber reweighting
    starts; iterations: reweighting rounds; swap_ratio, swap_min_px: a landmark group of a render counts as left/right
    swapped when its mirrored detections fit the starting definition this much better and it is off by this much."""

    ridge: float = 4.0
    huber_px: float = 6.0
    iterations: int = 4
    swap_ratio: float = 0.6
    swap_min_px: float = 10.0


def predicted_landmarks(obs: Observations, definition: LandmarkDefinition) -> np.ndarray:
    """(N, 33, 3) camera-frame landmarks of the definition on every render (its vertices must be tracked)."""
    index, weight = definition.gather_tables(obs.tracked)
    points = torch.from_numpy(np.concatenate([obs.vertices, obs.joints], axis=1))
    return combine_points(points, index, weight.double()).numpy()


def usable(obs: Observations) -> np.ndarray:
    """(N, 33) bool: the body was found and MediaPipe calls the landmark visible."""
    return obs.found[:, None] & (np.nan_to_num(obs.visibility) >= VISIBILITY_THRESHOLD)


def detect_swaps(obs: Observations, projected: np.ndarray, settings: FitSettings) -> np.ndarray:
    """(N, G) bool per render and SWAP_GROUPS group: its detections match `projected` (N, 33, 2) clearly better with
    left and right exchanged."""
    both = usable(obs) & usable(obs)[:, MIRRORED]
    direct = np.where(both, np.linalg.norm(obs.detected - projected, axis=-1), np.nan)
    mirrored = np.where(both, np.linalg.norm(obs.detected[:, MIRRORED] - projected, axis=-1), np.nan)
    flags = []
    for group in SWAP_GROUPS:
        members = list(group)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # groups with no seen landmark give NaN: not swapped
            off, swapped = np.nanmedian(direct[:, members], axis=1), np.nanmedian(mirrored[:, members], axis=1)
        flags.append((swapped < settings.swap_ratio * off) & (off > settings.swap_min_px))
    return np.stack(flags, axis=1) & obs.found[:, None]


def swapped_landmarks(swaps: np.ndarray) -> np.ndarray:
    """(N, G) group swap flags -> (N, 33) bool: the landmarks of swapped groups."""
    out = np.zeros((len(swaps), len(MIRRORED)), dtype=bool)
    for g, group in enumerate(SWAP_GROUPS):
        out[:, list(group)] = swaps[:, g : g + 1]
    return out


def _solve(rows: np.ndarray, start: np.ndarray, settings: FitSettings) -> np.ndarray:
    """rows (n, 2, K): per observation the linearised x and y residual per unit weight. Returns weights (K,)."""
    count, _, size = rows.shape
    weights = start.copy()
    robust = np.ones(count)
    for _ in range(settings.iterations):
        data = (rows * np.sqrt(robust)[:, None, None]).reshape(-1, size)
        ridge = np.sqrt(settings.ridge * count) * np.eye(size)
        total = 1e3 * np.sqrt(count) * np.ones((1, size))
        matrix = np.concatenate([data, ridge, total])
        target = np.concatenate([np.zeros(len(data)), ridge @ start, total[:, 0]])
        weights = nnls(matrix, target, maxiter=50 * size)[0]
        residual = np.linalg.norm(rows @ weights, axis=1)
        robust = np.minimum(1.0, settings.huber_px / np.maximum(residual, 1e-9))
    return weights / weights.sum()


def _rows(
    points: np.ndarray, detected: np.ndarray, focal: np.ndarray, principal: float, depth: np.ndarray
) -> np.ndarray:
    """points (n, K, 3) camera frame, detected (n, 2) px, focal (n,), depth (n,) -> rows (n, 2, K): each candidate's
    reprojection error times its depth over `depth`, f X + (c - u) Z over depth, linear in the points' weights."""
    pixels = perspective_project(torch.from_numpy(points), torch.from_numpy(focal),
                                 torch.full((len(points), 2), principal, dtype=torch.float64)).numpy()
    return ((pixels - detected[:, None]) * (points[..., 2:] / depth[:, None, None])).transpose(0, 2, 1)


def _fit_landmark(
    obs: Observations,
    body: RestBody,
    start: Landmark,
    candidates: Candidates,
    seen: np.ndarray,
    depth: np.ndarray,
    settings: FitSettings,
) -> Landmark:
    """Fit one left or midline landmark to its detections and (for a left one) its mirror image's, whose candidates
    are the mirrored ones. seen (N, 33) bool: usable detections; depth (N, 33) m: the start's depths."""
    column = {int(v): i for i, v in enumerate(obs.tracked)}
    blocks = []
    for mirrored in (False, True) if mirror_name(start.name) != start.name else (False,):
        i = MEDIAPIPE_LANDMARK_NAMES.index(mirror_name(start.name) if mirrored else start.name)
        vertex_ids = body.vertex_mirror[candidates.vertices] if mirrored else candidates.vertices
        joint_ids = body.joint_mirror[candidates.joints] if mirrored else candidates.joints
        rows = seen[:, i]
        vertices = obs.vertices[rows][:, [column[int(v)] for v in vertex_ids]]
        points = np.concatenate([vertices, obs.joints[rows][:, joint_ids]], axis=1)
        blocks.append(_rows(points, obs.detected[rows, i], obs.focal[rows], obs.principal, depth[rows, i]))
    initial = {("v", v): w for v, w in zip(start.vertex_ids, start.vertex_weights)}
    initial |= {("j", j): w for j, w in zip(start.joint_ids, start.joint_weights)}
    keys = [("v", int(v)) for v in candidates.vertices] + [("j", int(j)) for j in candidates.joints]
    weights = _solve(np.concatenate(blocks), np.array([initial.get(k, 0.0) for k in keys]), settings)
    keep = weights > 1e-4
    weights = weights * keep / (weights * keep).sum()
    count = len(candidates.vertices)
    return Landmark(
        start.name,
        tuple(int(v) for v in candidates.vertices[keep[:count]]),
        tuple(float(w) for w in weights[:count][keep[:count]]),
        tuple(int(j) for j in candidates.joints[keep[count:]]),
        tuple(float(w) for w in weights[count:][keep[count:]]),
    )


def calibrate(
    obs: Observations,
    body: RestBody,
    start: LandmarkDefinition,
    candidates: dict[str, Candidates],
    fit_mask: np.ndarray,
    settings: FitSettings,
) -> LandmarkDefinition:
    """The definition fitted to the detections in fit_mask (N, 33) bool. candidates: per left or midline landmark."""
    seen = usable(obs) & fit_mask
    depth = predicted_landmarks(obs, start)[..., 2]
    fitted: dict[str, Landmark] = {}
    for name, cand in candidates.items():
        landmark = start.landmarks[MEDIAPIPE_LANDMARK_NAMES.index(name)]
        fitted[name] = _fit_landmark(obs, body, landmark, cand, seen, depth, settings)
        if mirror_name(name) != name:
            fitted[mirror_name(name)] = mirror_landmark(body, fitted[name], mirror_name(name))
    return LandmarkDefinition(start.num_vertices, tuple(fitted[n] for n in MEDIAPIPE_LANDMARK_NAMES))


def residuals(obs: Observations, definition: LandmarkDefinition) -> np.ndarray:
    """(N, 33) pixel distance between MediaPipe's landmark and the definition's projection; NaN where unusable."""
    projected = obs.project(predicted_landmarks(obs, definition))
    distance = np.linalg.norm(obs.detected - projected, axis=-1)
    return np.where(usable(obs), distance, np.nan)
