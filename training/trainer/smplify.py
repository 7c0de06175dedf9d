"""hkmr_studio.fitting's SMPLify as the trainer's FitFn: landmarks in normalised crop coordinates and HMR's weak-
perspective crop camera (s, tx, ty) on the trainer's side; crop pixels and a weak camera of SPIN's focal length on
SMPLify's (x_px = f / t_z * (X + t_xy) + c, which is the same projection)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import torch

from hkmr_studio.body.model import BodyModel
from hkmr_studio.fitting.smplify import SMPLify, SMPLifyConfig
from hkmr_studio.geometry.cameras import (
    DEFAULT_CROP_SIZE_PX,
    DEFAULT_FOCAL_LENGTH_PX,
    normalised_to_crop_pixels,
    translation_to_weak_perspective,
    weak_perspective_to_translation,
)
from training.trainer.spin import BodyFit, FitFn

#: SMPLifyConfig settings the trainer fixes: its projection is the regressor's weak-perspective camera.
FIXED_OPTIONS = {"camera_model": "weak", "return_vertices": False}
OPTION_NAMES = tuple(f.name for f in fields(SMPLifyConfig) if f.name not in FIXED_OPTIONS)


def smplify_fit_fn(options: dict[str, Any], body: BodyModel) -> FitFn:
    """SMPLify with SMPLifyConfig `options` (names in OPTION_NAMES) on `body`."""
    smplify = SMPLify(body, SMPLifyConfig(**{**options, **FIXED_OPTIONS}))
    half = DEFAULT_CROP_SIZE_PX / 2.0  # crop pixels per normalised unit

    def fit(init: BodyFit, landmarks: torch.Tensor, weights: torch.Tensor) -> tuple[BodyFit, torch.Tensor]:
        smplify.landmarks.to(landmarks.device)
        start = {"global_orient": init.global_orient, "body_pose": init.body_pose, "betas": init.betas,
                 "transl": weak_perspective_to_translation(init.camera)}
        crop_centre = normalised_to_crop_pixels(landmarks.new_zeros(len(landmarks), 2))
        result = smplify.fit(normalised_to_crop_pixels(landmarks), weights, start, DEFAULT_FOCAL_LENGTH_PX, crop_centre)
        camera = translation_to_weak_perspective(result.transl)
        error = (result.error2d_after.nanmean(dim=1) / half).nan_to_num(nan=float("inf"))
        return BodyFit(result.global_orient, result.body_pose, result.betas, camera), error

    return fit
