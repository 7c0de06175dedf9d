"""Partial inputs: the generator trains on detections that lack a region, and evaluation gives the same detections
with only a partial input's landmarks, cropped again from what stays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hkmr_studio.body.keypoint_sets import (
    COCO17_FROM_MEDIAPIPE33,
    FACE_LANDMARKS,
    LEFT_LIMB_LANDMARKS,
    NUM_LANDMARKS,
    PARTIAL_INPUTS,
)
from hkmr_studio.geometry.cameras import normalised_to_pixels
from hkmr_studio.pipeline.keypoints import Keypoints2D
from training.evaluation.partial import partial_batch, partial_keypoints
from training.samples.generator import PARTIAL_REGIONS, SampleConfig, SampleGenerator


def test_partial_inputs_name_their_regions():
    assert set(PARTIAL_INPUTS["coco17"]) == set(COCO17_FROM_MEDIAPIPE33)
    assert not set(PARTIAL_INPUTS["no_face"]) & set(FACE_LANDMARKS)
    assert not set(PARTIAL_INPUTS["left_side_hidden"]) & set(LEFT_LIMB_LANDMARKS)
    assert {11, 23, 25, 27} <= set(LEFT_LIMB_LANDMARKS)  # shoulder, hip, knee, ankle of the left side
    assert 12 in PARTIAL_INPUTS["left_side_hidden"]  # the right shoulder stays


def test_the_generator_gives_a_share_of_samples_without_a_region():
    config = SampleConfig(batch_size=512, seed=3, coco_fraction=0.0, partial_fraction=0.5, occluder_fraction=0.0)
    batch = SampleGenerator(config).batch(0)
    mask = batch["mask"].bool()
    lacking = {region: (~mask[:, [i for i in range(NUM_LANDMARKS) if i not in PARTIAL_INPUTS[region]]]).all(dim=1)
               for region in PARTIAL_REGIONS}
    partial = torch.stack(list(lacking.values())).any(dim=0)
    assert 0.4 < float(partial.float().mean()) < 0.6
    for region, rows in lacking.items():
        assert int(rows.sum()) > 30, region
    assert (batch["keypoints"][~mask] == 0).all() and (batch["world"][~mask] == 0).all()


def test_no_partial_samples_when_the_fraction_is_zero():
    config = SampleConfig(batch_size=256, seed=3, coco_fraction=0.0, partial_fraction=0.0, occluder_fraction=0.0,
                          hide_fraction=0.0)
    assert bool(SampleGenerator(config).batch(0)["mask"].bool().all())


def test_a_coco_partial_batch_has_coco_keypoints_no_world_and_its_own_crop():
    config = SampleConfig(batch_size=64, seed=5, coco_fraction=0.0, partial_fraction=0.0, occluder_fraction=0.0)
    batch = SampleGenerator(config).batch(0)
    coco = partial_batch(batch, "coco17", config.photo_px)
    assert set(np.flatnonzero(coco["mask"][0].numpy())) <= set(COCO17_FROM_MEDIAPIPE33)
    assert not bool(coco["has_world"].any()) and float(coco["world"].abs().sum()) == 0.0
    assert set(torch.unique(coco["visibility"][coco["mask"].bool()]).tolist()) <= {0.5, 1.0}
    # the crop follows what stays: the landmarks the partial input keeps map to the same pixels through either crop
    old = normalised_to_pixels(batch["keypoints"], batch["box"][:, :2], batch["box"][:, 2])
    new = normalised_to_pixels(coco["keypoints"], coco["box"][:, :2], coco["box"][:, 2])
    kept = coco["mask"].bool()
    torch.testing.assert_close(new[kept], old[kept], atol=1e-3, rtol=0)
    # without hands and feet (visibilities as MediaPipe's) the crop never widens and often shrinks
    trimmed = partial_batch(batch, "no_hands_feet", config.photo_px)
    assert bool((trimmed["box"][:, 2] <= batch["box"][:, 2] + 1e-3).all())
    assert bool((trimmed["box"][:, 2] < batch["box"][:, 2] - 1.0).any())


def test_partial_keypoints_keep_only_their_landmarks():
    rng = np.random.default_rng(0)
    keypoints = Keypoints2D(rng.uniform(0, 500, (33, 2)), rng.uniform(0.2, 1.0, 33), np.ones(33, dtype=bool),
                            "mediapipe", world=rng.normal(size=(33, 3)))
    no_face = partial_keypoints(keypoints, "no_face")
    assert not no_face.present[list(FACE_LANDMARKS)].any() and no_face.present[11:].all()
    assert no_face.world is not None and (no_face.xy[0] == 0).all()
    coco = partial_keypoints(keypoints, "coco17")
    assert coco.world is None and coco.present.sum() == 17
    with pytest.raises(ValueError, match="unknown partial input"):
        partial_keypoints(keypoints, "no_legs")


def test_swap_scale_multiplies_how_often_left_and_right_are_swapped():
    from training.samples.generator import SampleConfigError
    from training.trainer.data import true_landmark_pixels

    def swapped_share(scale: float) -> float:
        config = SampleConfig(batch_size=512, seed=4, coco_fraction=0.0, partial_fraction=0.0, occluder_fraction=0.0,
                              swap_scale=scale)
        batch = SampleGenerator(config).batch(0)
        true = true_landmark_pixels(batch, config.photo_px)
        seen = normalised_to_pixels(batch["keypoints"], batch["box"][:, :2], batch["box"][:, 2])
        # the detected left knee lies nearer the true right knee than the true left one (legs swapped)
        swapped = (seen[:, 25] - true[:, 26]).norm(dim=1) < (seen[:, 25] - true[:, 25]).norm(dim=1)
        return float(swapped.float().mean())

    # side views put the knees close together, so a few samples read as swapped without any swap
    none, tenfold = swapped_share(0.0), swapped_share(10.0)  # legs: MediaPipe's 2% on renders, then 20%
    assert tenfold > none + 0.1
    with pytest.raises(SampleConfigError, match="swap_scale"):
        SampleConfig(swap_scale=-1.0)
