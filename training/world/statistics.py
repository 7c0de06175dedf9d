"""Error statistics of world landmarks against the truth, with no Qt and no rendering: the numbers the world-error
model is fitted to reproduce, and the check of it on real photos.

Inputs: `predicted` and `truth` (N, 33, 3) in MediaPipe's landmark order, metres, hip-centred, camera-aligned (x right,
y down, z away from the camera): MediaPipe's world landmarks and the true (or triangulated) landmark positions in the
same camera's frame, each re-centred on its own hips. `valid` (N, 33) bool marks truth that exists (default: all).
Rotation and scale are those of the similarity about the hips that maps the truth onto the prediction (s R x ~ y).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from hkmr_studio.body.landmarks import LANDMARK_MIRROR
from hkmr_studio.geometry.metrics import similarity_transform
from training.samples.detector_model import SWAP_GROUPS
from training.samples.world_model import LIMB_KINDS, LIMBS, rotation_angle

ROTATION_LEVELS = (0.5, 0.75, 0.9, 0.95, 0.99)
SCALE_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
#: A limb is foreshortened enough to tell its depth order when its ends differ in depth by this share of its length.
FORESHORTENED = 0.6
#: A group counts as swapped when the mirrored truth fits it this much better than the truth.
SWAP_RATIO = 0.7
#: Camera pitch bins (degrees) of the per-pitch rows.
PITCH_EDGES = (-5.0, 10.0, 25.0, 35.0)


@dataclass
class Alignment:
    """Per sample (N,): scale, rotation (N, 3, 3), translation (N, 3) of the truth onto the prediction, and the
    prediction mapped back into the truth's frame, `back` (N, 33, 3) = R^T (y - t) / s."""

    scale: torch.Tensor
    rotation: torch.Tensor
    translation: torch.Tensor
    back: torch.Tensor


def align(predicted: torch.Tensor, truth: torch.Tensor, valid: torch.Tensor | None = None) -> Alignment:
    """The similarity about the hips (both are hip-centred, so t = 0) of each sample's truth onto its prediction
    (float64). About the hips, as MediaPipe's frame is: a rotation about the centroid would move the hips, and the
    residual's hip offset would then stand in for part of the rotation."""
    predicted, truth = predicted.double(), truth.double()
    weights = None if valid is None else valid.double()
    scale, rotation, translation = similarity_transform(truth, predicted, weights, translate=False)
    back = (predicted - translation[:, None]) @ rotation / scale[:, None, None]
    return Alignment(scale, rotation, translation, back)


def swapped_groups(predicted: torch.Tensor, truth: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """(N, 3) bool: per SWAP_GROUPS group (face, arms, legs), whether the prediction has its left and right swapped
    (the truth with that group mirrored fits it after alignment SWAP_RATIO times better)."""
    mirror = torch.tensor(LANDMARK_MIRROR)
    plain = align(predicted, truth, valid)
    out = torch.zeros(len(truth), len(SWAP_GROUPS), dtype=torch.bool)
    for g, group in enumerate(SWAP_GROUPS):
        members = torch.tensor(group)
        order = torch.arange(truth.shape[1])
        order[members] = mirror[members]
        mirrored = align(predicted, truth[:, order], None if valid is None else valid[:, order])
        error = (plain.back - truth.double())[:, members].norm(dim=-1).mean(dim=1)
        error_mirrored = (mirrored.back - truth[:, order].double())[:, members].norm(dim=-1).mean(dim=1)
        out[:, g] = error_mirrored < SWAP_RATIO * error
    return out


def limb_depth_flips(back: torch.Tensor, truth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per LIMBS segment: (N, 8) bool foreshortened (its ends differ in true depth by FORESHORTENED of its length) and
    (N, 8) bool flipped (the aligned prediction puts the far end on the other side in depth)."""
    near, far = [s[1] for s in LIMBS], [s[2] for s in LIMBS]
    true_dz = truth[:, far, 2] - truth[:, near, 2]
    length = (truth[:, far] - truth[:, near]).norm(dim=-1)
    predicted_dz = back[:, far, 2] - back[:, near, 2]
    return true_dz.abs() > FORESHORTENED * length, torch.sign(true_dz) != torch.sign(predicted_dz)


@dataclass
class WorldErrorStatistics:
    """What MediaPipe-like world landmarks get wrong, cm unless said.

    mean_error_cm / axis_rms_cm (3,): distance and per-axis RMS as given (hip-centred, no alignment);
    landmark_rms_cm (33, 3): the same per landmark; pa_error_cm / pa_axis_rms_cm: after aligning the prediction onto
    the truth by a similarity, as PA-MPJPE does;
    rotation_deg: quantiles at ROTATION_LEVELS of the alignment's rotation angle, gross_share: its share above 90 deg;
    scale: quantiles at SCALE_LEVELS; depth_slope: the aligned prediction's z against the truth's (1: no compression);
    limb_flips (4,): per LIMB_KINDS, the share of foreshortened limbs turned the other way in depth; swaps (3,): per
    SWAP_GROUPS group, the share of samples whose left and right are swapped; by_pitch: pitch bin label ->
    (samples, median rotation deg, mean error cm) when pitches were given."""

    samples: int
    mean_error_cm: float
    axis_rms_cm: np.ndarray
    landmark_rms_cm: np.ndarray
    pa_error_cm: float
    pa_axis_rms_cm: np.ndarray
    rotation_deg: np.ndarray
    gross_share: float
    scale: np.ndarray
    depth_slope: float
    limb_flips: np.ndarray
    swaps: np.ndarray
    by_pitch: dict[str, tuple[int, float, float]] = field(default_factory=dict)

    def summary(self) -> dict[str, float]:
        """Scalar name -> value, for tables."""
        out = {"samples": float(self.samples), "mean error (cm)": self.mean_error_cm,
               "PA error (cm)": self.pa_error_cm}  # fmt: skip
        out.update({f"RMS {a} (cm)": float(v) for a, v in zip("xyz", self.axis_rms_cm)})
        out.update({f"PA RMS {a} (cm)": float(v) for a, v in zip("xyz", self.pa_axis_rms_cm)})
        out.update({f"rotation {100 * q:g} % (deg)": float(v) for q, v in zip(ROTATION_LEVELS, self.rotation_deg)})
        out["rotation above 90 deg"] = self.gross_share
        out.update({f"scale {100 * q:g} %": float(v) for q, v in zip(SCALE_LEVELS, self.scale)})
        out["depth slope"] = self.depth_slope
        out.update({f"{kind} depth flipped": float(v) for kind, v in zip(LIMB_KINDS, self.limb_flips)})
        out.update({f"{name} swapped": float(v) for name, v in zip(("face", "arms", "legs"), self.swaps)})
        return out


def _pitch_label(index: int) -> str:
    bounds = [f"{e:g}" for e in PITCH_EDGES]
    if index == 0:
        return f"pitch below {bounds[0]} deg"
    if index == len(bounds):
        return f"pitch {bounds[-1]} deg and above"
    return f"pitch {bounds[index - 1]} to {bounds[index]} deg"


def world_error_statistics(
    predicted: torch.Tensor, truth: torch.Tensor, valid: torch.Tensor | None = None, pitch_deg: torch.Tensor | None = None
) -> WorldErrorStatistics:
    """The statistics of (N, 33, 3) predicted against true world landmarks (module docstring); pitch_deg (N,) the
    cameras' pitch for the per-pitch rows (positive: looking down)."""
    predicted, truth = torch.as_tensor(predicted).double(), torch.as_tensor(truth).double()
    valid = torch.ones(truth.shape[:2], dtype=torch.bool) if valid is None else torch.as_tensor(valid).bool()
    mask = valid[..., None].double()
    count = valid.sum().clamp_min(1)

    def rms(error: torch.Tensor) -> np.ndarray:
        return ((error.square() * mask).sum(dim=(0, 1)) / count).sqrt().numpy() * 100.0

    error = predicted - truth
    distance = error.norm(dim=-1)
    fit = align(predicted, truth, valid)
    scale, rotation, translation = similarity_transform(predicted, truth, valid.double())  # PA-MPJPE's alignment
    pa_error = scale[:, None, None] * predicted @ rotation.transpose(1, 2) + translation[:, None] - truth
    landmark_rms = ((error.square() * mask).sum(dim=0) / valid.sum(dim=0).clamp_min(1)[:, None]).sqrt() * 100.0
    angle = torch.rad2deg(rotation_angle(fit.rotation)).numpy()
    centred_truth = truth - (truth * mask).sum(dim=1, keepdim=True) / valid.sum(dim=1).clamp_min(1)[:, None, None]
    centred_back = fit.back - (fit.back * mask).sum(dim=1, keepdim=True) / valid.sum(dim=1).clamp_min(1)[:, None, None]
    z, z_back = centred_truth[..., 2] * valid, centred_back[..., 2] * valid
    foreshortened, flipped = limb_depth_flips(fit.back, truth)
    both = valid[:, [s[1] for s in LIMBS]] & valid[:, [s[2] for s in LIMBS]] & foreshortened
    kinds = torch.tensor([s[0] for s in LIMBS])
    limb_flips = np.array([float((flipped & both)[:, kinds == k].sum() / both[:, kinds == k].sum().clamp_min(1))
                           for k in range(len(LIMB_KINDS))])  # fmt: skip
    stats = WorldErrorStatistics(
        samples=len(truth),
        mean_error_cm=float((distance * valid).sum() / count) * 100.0,
        axis_rms_cm=rms(error),
        landmark_rms_cm=landmark_rms.numpy(),
        pa_error_cm=float((pa_error.norm(dim=-1) * valid).sum() / count) * 100.0,
        pa_axis_rms_cm=rms(pa_error),
        rotation_deg=np.quantile(angle, ROTATION_LEVELS),
        gross_share=float((angle > 90.0).mean()),
        scale=np.quantile(fit.scale.numpy(), SCALE_LEVELS),
        depth_slope=float((z * z_back).sum() / (z * z).sum()),
        limb_flips=limb_flips,
        swaps=swapped_groups(predicted, truth, valid).double().mean(dim=0).numpy(),
    )
    if pitch_deg is not None:
        groups = np.digitize(torch.as_tensor(pitch_deg).numpy(), PITCH_EDGES)
        per_sample = ((distance * valid).sum(dim=1) / valid.sum(dim=1).clamp_min(1)).numpy() * 100.0
        for index in range(len(PITCH_EDGES) + 1):
            chosen = groups == index
            if chosen.any():
                stats.by_pitch[_pitch_label(index)] = (int(chosen.sum()), float(np.median(angle[chosen])),
                                                       float(per_sample[chosen].mean()))
    return stats
