"""Partial inputs for evaluation: the same detections given only the landmarks of one of
`hkmr_studio.body.keypoint_sets.PARTIAL_INPUTS`, cut into the crop that inference would cut from what stays.

"coco17" is what a COCO annotation file gives: its 17 keypoints with COCO's visibilities (1 where MediaPipe calls the
landmark visible, 0.5 "labelled but occluded" otherwise) and no world landmarks. The other kinds are MediaPipe's
output with a region removed, world landmarks kept for the landmarks that stay.
"""

from __future__ import annotations

import numpy as np
import torch

from hkmr_studio.body.keypoint_sets import NUM_LANDMARKS, PARTIAL_INPUTS
from hkmr_studio.geometry.cameras import normalised_to_pixels, pixels_to_normalised
from hkmr_studio.pipeline.keypoints import VISIBILITY_THRESHOLD, Keypoints2D
from training.samples.cameras import person_crops

Batch = dict[str, torch.Tensor]
COCO = "coco17"
#: COCO's visibility for a labelled keypoint that is seen / occluded.
COCO_SEEN, COCO_OCCLUDED = 1.0, 0.5


def _kept(kind: str) -> np.ndarray:
    if kind not in PARTIAL_INPUTS:
        raise ValueError(f"unknown partial input {kind!r}; choose from {', '.join(PARTIAL_INPUTS)}")
    kept = np.zeros(NUM_LANDMARKS, dtype=bool)
    kept[list(PARTIAL_INPUTS[kind])] = True
    return kept


def partial_keypoints(keypoints: Keypoints2D, kind: str) -> Keypoints2D:
    """One person's detection given only the landmarks of `kind` (the others absent: present False, zero)."""
    present = keypoints.present & _kept(kind)
    visibility = keypoints.visibility
    if kind == COCO:
        visibility = np.where(visibility >= VISIBILITY_THRESHOLD, COCO_SEEN, COCO_OCCLUDED)
    return Keypoints2D(np.where(present[:, None], keypoints.xy, 0.0), np.where(present, visibility, 0.0), present,
                       keypoints.source, world=None if kind == COCO else keypoints.world)


def partial_batch(batch: Batch, kind: str, photo_px: float) -> Batch:
    """A batch (the sample generator's keys) given only the landmarks of `kind`, its crop cut again from them."""
    kept = torch.from_numpy(_kept(kind))
    old_box = batch["box"]
    pixels = normalised_to_pixels(batch["keypoints"], old_box[:, :2], old_box[:, 2])
    present = batch["mask"].bool() & kept[None]
    visibility = batch["visibility"]
    if kind == COCO:
        visibility = torch.where(visibility >= VISIBILITY_THRESHOLD, COCO_SEEN, COCO_OCCLUDED)
    box = person_crops(pixels, present & (visibility >= VISIBILITY_THRESHOLD), present, photo_px)
    mask = present.float()
    out = dict(batch)
    out["keypoints"] = pixels_to_normalised(pixels, box[:, :2], box[:, 2]) * mask[..., None]
    out["joints2d"] = pixels_to_normalised(normalised_to_pixels(batch["joints2d"], old_box[:, :2], old_box[:, 2]),
                                           box[:, :2], box[:, 2])
    out["visibility"], out["mask"], out["box"] = visibility * mask, mask, box
    has_world = batch["has_world"] & (kind != COCO)
    out["has_world"] = has_world
    out["world"] = batch["world"] * (mask * has_world[:, None])[..., None]
    return out
