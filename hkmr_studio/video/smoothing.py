"""Temporal smoothing of a take (Qt-free): one body shape for the take, pose and translation smoothed over time.

Shape: the per-coordinate median of the betas of the frames with a body (a robust mean: a few frames with wild
betas do not move it). The translation of each frame is moved so that its pelvis stays where that frame's own shape
put it: pelvis = rest_joints(betas)[0] + transl in SMPL, so transl += J0(frame's betas) - J0(take's shape).

Pose and translation: a centred (zero-lag, offline) local polynomial fit with Gaussian weights in time, evaluated at
each frame's own time, so variable frame rates and dropped frames need nothing special. Rotations are smoothed as
unit quaternions (w, x, y, z) per joint with their signs made continuous along the take (q and -q are one rotation),
then renormalised; never as raw axis-angle, which jumps where the angle passes pi. The default degree-2 fit (local
quadratic, a Savitzky-Golay filter for any frame times) keeps a motion's peaks and turning points from being
flattened the way a plain moving average (degree 0) does, so it can smooth harder for the same error.

Frames without a body stay NaN, and nothing is smoothed across a gap longer than `max_gap_s`: the frames on either
side are smoothed as separate stretches. `strength` (0-1) is the user's one knob: the Gaussian's sigma is
strength * MAX_SIGMA_S seconds; 0 turns smoothing off. The default and the method were chosen by measurement on
synthetic takes from real motion capture and on the real multi-view benchmark: training/data/VIDEO_SMOOTHING.md.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch

from hkmr_studio.body.model import BodyModel, load_body_model
from hkmr_studio.geometry.rotations import axis_angle_to_quaternion, quaternion_to_axis_angle
from hkmr_studio.video.take import Take, TakeTrack

#: Sigma of the time kernel at strength 1, seconds.
MAX_SIGMA_S = 0.25
#: The kernel is cut at this many sigmas: an edited frame changes the smoothed frames within this reach only.
REACH_SIGMAS = 3.0
DEFAULT_STRENGTH = 0.5
DEFAULT_MAX_GAP_S = 0.25
DEFAULT_DEGREE = 2
_JOINTS = 24


@dataclass(frozen=True)
class SmoothingSettings:
    """strength: 0 (off) to 1 (sigma MAX_SIGMA_S); max_gap_s: seconds without a body beyond which the stretches on
    either side are smoothed apart; degree: of the local polynomial (0 Gaussian moving average, 1 local linear,
    2 local quadratic)."""

    strength: float = DEFAULT_STRENGTH
    max_gap_s: float = DEFAULT_MAX_GAP_S
    degree: int = DEFAULT_DEGREE

    def __post_init__(self) -> None:
        if not (isinstance(self.strength, int | float) and not isinstance(self.strength, bool)
                and math.isfinite(self.strength) and 0.0 <= self.strength <= 1.0):
            raise ValueError(f"smoothing strength: expected a number from 0 (off) to 1 (strongest), got "
                             f"{self.strength!r}")
        if not (isinstance(self.max_gap_s, int | float) and math.isfinite(self.max_gap_s) and self.max_gap_s > 0):
            raise ValueError(f"smoothing max_gap_s: expected a positive number of seconds, got {self.max_gap_s!r}")
        if self.degree not in (0, 1, 2):
            raise ValueError(f"smoothing degree: expected 0, 1 or 2, got {self.degree!r}")

    @property
    def sigma_s(self) -> float:
        """The Gaussian's sigma in seconds."""
        return float(self.strength) * MAX_SIGMA_S

    @property
    def reach_s(self) -> float:
        """How far in time (seconds) one frame's body reaches into the smoothed frames around it."""
        return REACH_SIGMAS * self.sigma_s

    def as_dict(self) -> dict[str, float]:
        """For `Take.smoothing`."""
        return {"strength": float(self.strength), "max_gap_s": float(self.max_gap_s), "degree": float(self.degree),
                "sigma_s": self.sigma_s}


def smooth_take(take: Take, settings: SmoothingSettings = SmoothingSettings(), body: BodyModel | None = None) -> Take:
    """A copy of `take` with its `smoothed` track (None when strength is 0: the raw bodies are shown) and
    `smoothing` set. `body`: the body model the take's betas belong to (None: the embedded open body)."""
    if settings.strength == 0:
        return dataclasses.replace(take, smoothed=None, smoothing=settings.as_dict())
    shape = robust_shape(take)
    rows = np.arange(take.frame_count)
    smoothed = _with_rows(TakeTrack.empty(take.frame_count), rows, _smoothed_rows(take, shape, settings, body, rows),
                          shape)
    return dataclasses.replace(take, smoothed=smoothed, smoothing=settings.as_dict())


def resmooth_around(take: Take, index: int, settings: SmoothingSettings = SmoothingSettings(),
                    radius: int | None = None, body: BodyModel | None = None) -> Take:
    """After frame `index` of `take.raw` was changed (a refit), smooth again only the frames within `radius` frames
    of it (None: every frame the edit reaches, those within `settings.reach_s`; a frame that gains or loses its body
    and so joins or splits stretches reaches no farther, since what it changes lies beyond it), keeping the take's
    shape; the other smoothed frames are kept as they were, so with the default radius the result equals a full
    `smooth_take` with that shape. A take not yet smoothed with these settings is smoothed in full."""
    if not 0 <= index < take.frame_count:
        raise IndexError(f"frame {index} is outside the take's {take.frame_count} frames")
    if take.smoothed is None or take.smoothing != settings.as_dict():
        return smooth_take(take, settings, body)
    if radius is None:
        rows = np.flatnonzero(np.abs(take.times - take.times[index]) <= settings.reach_s)
    else:
        rows = np.arange(max(index - radius, 0), min(index + radius + 1, take.frame_count))
    shape = take.shape
    smoothed = _with_rows(take.smoothed, rows, _smoothed_rows(take, shape, settings, body, rows), shape)
    return dataclasses.replace(take, smoothed=smoothed)


def robust_shape(take: Take) -> np.ndarray:
    """(10,) the take's one body shape: the per-coordinate median of the raw betas of frames with a body (zeros when
    there are none)."""
    betas = take.raw.betas[take.found]
    return np.zeros(take.raw.betas.shape[1]) if len(betas) == 0 else np.median(betas, axis=0)


def stretches(times: np.ndarray, found: np.ndarray, max_gap_s: float) -> list[np.ndarray]:
    """Indices of the frames with a body, cut into stretches wherever consecutive ones are more than `max_gap_s`
    seconds apart."""
    frames = np.flatnonzero(found)
    if len(frames) == 0:
        return []
    cuts = np.flatnonzero(np.diff(times[frames]) > max_gap_s) + 1
    return np.split(frames, cuts)


def local_fit_weights(times: np.ndarray, at: np.ndarray, sigma: float, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear weights of a Gaussian-weighted local polynomial fit: the fitted value at each time in `at` (N,) is
    sum_k weights[n, k] * y[index[n, k]] for samples y at sorted `times` (S,). Returns index (N, M) and weights
    (N, M), M the most samples within REACH_SIGMAS * sigma of one time (padding has weight 0)."""
    reach = REACH_SIGMAS * sigma
    low = np.searchsorted(times, at - reach, side="left")
    high = np.searchsorted(times, at + reach, side="right")
    width = int((high - low).max())
    index = low[:, None] + np.arange(width)
    inside = index < high[:, None]
    index = np.minimum(index, len(times) - 1)
    offset = (times[index] - at[:, None]) / sigma  # (N, M) sigmas
    kernel = np.exp(-0.5 * offset**2) * inside
    basis = offset[..., None] ** np.arange(degree + 1)  # (N, M, P)
    normal = np.einsum("nm,nmi,nmj->nij", kernel, basis, basis)
    # The value at offset 0 is the first coefficient: row 0 of normal^-1 basis^T W (pinv: with fewer samples than
    # the degree needs, the least-norm fit, which keeps a lone frame's or a pair's own values).
    first = np.linalg.pinv(normal)[:, 0, :]  # (N, P)
    return index, kernel * np.einsum("nmp,np->nm", basis, first)


def weighted_sum(index: np.ndarray, weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """sum_k weights[n, k] * values[index[n, k]]: (N, M) index and weights from `local_fit_weights`, values (S, ...)
    -> (N, ...), one column at a time (no (N, M, ...) array)."""
    out = np.zeros((index.shape[0], *values.shape[1:]))
    for column in range(index.shape[1]):
        out += weights[:, column].reshape(-1, *([1] * (values.ndim - 1))) * values[index[:, column]]
    return out


def continuous_quaternions(quaternions: np.ndarray) -> np.ndarray:
    """(T, J, 4) quaternions -> the same rotations with each joint's sign flipped where needed so that consecutive
    frames lie in the same hemisphere (q and -q are one rotation; averaging needs them on one side)."""
    dots = np.einsum("tjc,tjc->tj", quaternions[1:], quaternions[:-1])
    flips = np.concatenate([np.ones((1, quaternions.shape[1])), np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=0)])
    return quaternions * flips[..., None]


def stretch_signals(raw: TakeTrack, stretch: np.ndarray, shape: np.ndarray,
                    body: BodyModel | None) -> tuple[np.ndarray, np.ndarray]:
    """What is smoothed over the frames `stretch` of `raw`: (S, 24, 4) sign-continuous joint quaternions (global
    orientation first) and (S, 3) translations moved to keep each pelvis in place under the take's `shape`."""
    pose = np.concatenate([raw.global_orient[stretch], raw.body_pose[stretch]], axis=1).reshape(-1, _JOINTS, 3)
    quaternions = continuous_quaternions(axis_angle_to_quaternion(torch.from_numpy(pose)).numpy())
    return quaternions, raw.transl[stretch] + _pelvis_shift(raw.betas[stretch], shape, body)


def pose_from_quaternions(quaternions: np.ndarray) -> np.ndarray:
    """(N, 24, 4) filtered, not necessarily unit, quaternions -> (N, 72) axis-angle pose, global orientation first."""
    unit = quaternions / np.linalg.norm(quaternions, axis=-1, keepdims=True)
    return quaternion_to_axis_angle(torch.from_numpy(unit)).numpy().reshape(len(quaternions), -1)


def _smoothed_rows(take: Take, shape: np.ndarray, settings: SmoothingSettings, body: BodyModel | None,
                   rows: np.ndarray) -> dict[str, np.ndarray]:
    """Smoothed global_orient (R, 3), body_pose (R, 69) and transl (R, 3) at `rows` (NaN where no body)."""
    raw = take.raw
    out = {name: np.full((len(rows), width), np.nan) for name, width in
           (("global_orient", 3), ("body_pose", 69), ("transl", 3))}
    wanted = np.zeros(take.frame_count, dtype=bool)
    wanted[rows] = True
    position = np.full(take.frame_count, -1)
    position[rows] = np.arange(len(rows))
    for stretch in stretches(take.times, take.found, settings.max_gap_s):
        at = stretch[wanted[stretch]]
        if len(at) == 0:
            continue
        # Only the frames within reach of the wanted ones matter (signs are made continuous among those alone: the
        # sign of a smoothed quaternion does not change the rotation it gives).
        reached = np.abs(take.times[stretch] - take.times[at[0]]) <= settings.reach_s
        reached |= np.abs(take.times[stretch] - take.times[at[-1]]) <= settings.reach_s
        reached |= (take.times[stretch] >= take.times[at[0]]) & (take.times[stretch] <= take.times[at[-1]])
        stretch = stretch[reached]
        quaternions, transl = stretch_signals(raw, stretch, shape, body)
        index, weights = local_fit_weights(take.times[stretch], take.times[at], settings.sigma_s, settings.degree)
        fitted_pose = pose_from_quaternions(weighted_sum(index, weights, quaternions))
        target = position[at]
        out["global_orient"][target], out["body_pose"][target] = fitted_pose[:, :3], fitted_pose[:, 3:]
        out["transl"][target] = weighted_sum(index, weights, transl)
    return out


def _pelvis_shift(betas: np.ndarray, shape: np.ndarray, body: BodyModel | None) -> np.ndarray:
    """(S, 3) translation change that keeps each frame's pelvis in place when its (S, 10) betas become `shape`."""
    body = body if body is not None else load_body_model()
    with torch.inference_mode():
        pelvis = body.rest_joints(torch.from_numpy(np.vstack([betas, shape[None]])).to(body.joint_template))[:, 0]
    pelvis = pelvis.double().numpy()
    return pelvis[:-1] - pelvis[-1]


def _with_rows(track: TakeTrack, rows: np.ndarray, values: dict[str, np.ndarray], shape: np.ndarray) -> TakeTrack:
    """A copy of `track` with `rows` replaced by `values` and every row's betas set to `shape`."""
    arrays = {name: getattr(track, name).copy() for name in ("global_orient", "body_pose", "transl")}
    for name, value in values.items():
        arrays[name][rows] = value
    return TakeTrack(betas=np.tile(shape, (track.frame_count, 1)), **arrays)
