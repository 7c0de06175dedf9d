"""Rendered RGB crops for the image encoders: aligned with the sample's joints (pinhole and weak perspective),
reproducible under a seed, and varied in background and lighting."""

import numpy as np
import pytest
import torch

from training.samples.generator import SampleConfig
from training.samples.rgb_crops import CROP_SIZE, RGBSampleGenerator, random_lights

BATCH = 6


@pytest.fixture(scope="module")
def crops():
    return RGBSampleGenerator(SampleConfig(batch_size=BATCH, seed=11, perspective_fraction=0.5))


def test_the_true_joints_project_inside_the_rendered_body(crops):
    batch = crops.samples.batch(0)
    assert batch["perspective"].any() and (~batch["perspective"]).any()
    _, silhouettes = crops.crops.render(batch, crops.render_rng(0))
    pixels = ((batch["joints2d"] + 1.0) * (CROP_SIZE / 2.0)).numpy()  # (B, 24, 2)
    checked = 0
    for row in range(BATCH):
        silhouette = silhouettes[row]
        assert 0.05 < silhouette.mean() < 0.9  # the body fills a fair part of its crop
        for x, y in pixels[row]:
            col, line = int(np.floor(x)), int(np.floor(y))
            if not (1 <= col < CROP_SIZE - 1 and 1 <= line < CROP_SIZE - 1):
                continue  # beyond the crop (a truncated body)
            assert silhouette[line - 1 : line + 2, col - 1 : col + 2].any(), (row, x, y)
            checked += 1
    assert checked >= 0.8 * BATCH * 24


def test_a_seeded_batch_renders_the_same_crops(crops):
    again = RGBSampleGenerator(SampleConfig(batch_size=BATCH, seed=11, perspective_fraction=0.5))
    first, second = crops.batch(3)["image"], again.batch(3)["image"]
    assert first.shape == (BATCH, 3, CROP_SIZE, CROP_SIZE) and first.dtype == torch.float32
    assert 0.0 <= float(first.min()) and float(first.max()) <= 1.0
    assert torch.equal(first, second)
    assert not torch.equal(first, crops.batch(4)["image"])


def test_backgrounds_differ_between_samples(crops):
    batch = crops.samples.batch(1)
    images, silhouettes = crops.crops.render(batch, crops.render_rng(1))
    means = np.stack([image[~silhouette].reshape(-1, 3).mean(axis=0) for image, silhouette in zip(images, silhouettes)])
    gaps = np.abs(means[:, None] - means[None]).max(axis=-1)  # (B, B) largest channel difference
    assert (gaps + np.eye(BATCH) * 255 > 5).all()


def test_lighting_differs_between_samples(crops):
    """One body in one outfit, rendered under the random lights of two samples, is shaded differently."""
    batch = {key: value[:1] for key, value in crops.samples.batch(2).items()}
    colours = crops.crops.outfit.colours(np.random.default_rng(0))
    renderer = crops.crops
    points, camera = renderer.view(batch, 0, renderer.posed_vertices(batch)[0])
    renders = [renderer.shade(points, colours, random_lights(np.random.default_rng(seed)), camera) for seed in (1, 2)]
    body = (renders[0][..., 3] > 0) & (renders[1][..., 3] > 0)
    difference = np.abs(renders[0][body][:, :3].astype(float) - renders[1][body][:, :3].astype(float)).mean()
    assert difference > 5.0
