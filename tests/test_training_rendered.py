"""The rendered set (`python -m training render-set`): renders whose true joints lie inside the body's silhouette,
MediaPipe's own landmarks stored beside the truth, reproducible chunks, a checked file format, batches in the
generator's format, training on a mix and evaluation per pose family."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hkmr_studio.geometry.cameras import normalised_to_pixels
from training.__main__ import main as training_main
from training.evaluation.testset import build_test_set
from training.poses.families import FAMILIES
from training.rendered.backgrounds import KINDS, random_backdrop
from training.rendered.build import CHUNK, PHOTO_PX, ChunkBuilder, SplitSpec, build_split, sample_config
from training.rendered.dataset import RenderedSet, RenderedSetError
from training.rendered.scenes import PhotoRenderer
from training.rendered.source import MixedBatches, RenderedBatches
from training.samples.generator import SampleConfig, SampleGenerator
from training.trainer.config import ConfigError, config_from_dict
from training.trainer.data import true_landmark_pixels
from training.trainer.train import train

SEED = 5


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: a second thread costs more than it saves


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> tuple[RenderedSet, Path]:
    """One chunk of a training split, built and saved."""
    rendered, _ = build_split(SplitSpec("train", CHUNK, SEED), workers=1)
    path = rendered.save(tmp_path_factory.mktemp("rendered") / "train.npz")
    return rendered, path


def test_ground_truth_joints_project_inside_the_rendered_silhouette():
    generator = SampleGenerator(sample_config(SEED, batch_size=6))
    batch = generator.batch(0)
    rng = np.random.default_rng(0)
    with PhotoRenderer(generator.body.body, PHOTO_PX) as renderer:
        vertices = renderer.vertices(batch["global_orient"], batch["body_pose"], batch["betas"], batch["transl"])
        with torch.no_grad():
            joints = generator.body(batch["global_orient"], batch["body_pose"], batch["betas"]).joints
        for row in range(6):
            focal, principal = float(batch["focal_length"][row]), batch["principal_point"][row].numpy()
            photo = renderer.photo(vertices[row], focal, principal, rng)
            camera_joints = (joints[row] + batch["transl"][row]).numpy()
            pixels = focal * camera_joints[:, :2] / camera_joints[:, 2:] + principal
            inside = ((pixels >= 0) & (pixels < PHOTO_PX)).all(axis=1)
            assert inside.sum() >= 12  # most of the body is in the photo
            cols, rows = np.floor(pixels[inside]).astype(int).T
            assert photo.silhouette[rows, cols].all(), f"sample {row}: a joint projects off the body"
            assert photo.image.shape == (PHOTO_PX, PHOTO_PX, 3) and photo.image.dtype == np.uint8
            assert 0.02 < photo.silhouette.mean() < 0.9


def test_backgrounds_are_rooms_textures_and_photos_without_people():
    rng = np.random.default_rng(1)
    kinds = {random_backdrop(64, rng)[1] for _ in range(40)}
    assert kinds == set(range(len(KINDS)))
    image, _ = random_backdrop(64, np.random.default_rng(2))
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8


def test_a_split_stores_mediapipes_landmarks_beside_the_truth(split):
    rendered, _ = split
    assert len(rendered) == CHUNK and rendered.split == "train" and rendered.info["seed"] == SEED
    assert rendered.found.mean() >= 0.75  # MediaPipe finds most rendered people (99 % in calibration)
    assert set(np.unique(rendered.family)) - {-1} <= set(range(len(FAMILIES)))
    # MediaPipe's landmarks lie near the projected true landmarks of the same render, not of another one
    generator = SampleGenerator(sample_config(SEED))
    batch = RenderedBatches(rendered, generator, 1).everything()
    chunk = generator.batch(0)  # the split's chunk 0 is the generator's batch 0
    assert torch.allclose(chunk["body_pose"][rendered.found], batch["body_pose"])
    detected = normalised_to_pixels(batch["keypoints"], batch["box"][:, :2], batch["box"][:, 2])
    assert torch.allclose(detected, torch.from_numpy(rendered.pixels[rendered.found]), atol=1e-3)
    error = (detected - true_landmark_pixels(batch, PHOTO_PX)).norm(dim=-1)  # (K, 33) px
    visible = batch["visibility"] >= 0.5
    assert float(error[visible].median()) < 20.0
    assert set(batch) == set(generator.batch(0))  # the generator's keys, so trainer and evaluation take it as is


def test_chunks_are_reproducible():
    builder = ChunkBuilder(SEED)
    try:
        first, again = builder.chunk(3), builder.chunk(3)
    finally:
        builder.close()
    for name in first:
        assert np.array_equal(first[name], again[name]), name


def test_malformed_and_wrong_split_files_say_what_to_do(split, tmp_path):
    _, path = split
    with pytest.raises(RenderedSetError, match="render-set"):
        RenderedSet.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(RenderedSetError, match="render-set"):
        RenderedSet.load(tmp_path / "junk.npz")
    with pytest.raises(RenderedSetError, match="test split"):
        RenderedSet.load(path, split="test")
    assert RenderedSet.load(path, split="train").found.shape == (CHUNK,)


def test_mixed_batches_put_rendered_rows_after_the_synthetic_ones(split):
    rendered, _ = split
    synthetic = SampleGenerator(SampleConfig(batch_size=6, seed=0))
    mixed = MixedBatches(synthetic, RenderedBatches(rendered, synthetic, 2))
    batch = mixed.batch(4)
    assert batch["keypoints"].shape == (8, 33, 2) and batch["body_pose"].shape == (8, 69)
    assert torch.equal(batch["body_pose"][:6], synthetic.batch(4)["body_pose"])
    assert torch.equal(mixed.batch(4)["keypoints"], batch["keypoints"])  # seeded by the batch index
    stored = {tuple(np.round(p, 4)) for p in rendered.body_pose[:, :6].tolist()}
    assert all(tuple(np.round(p, 4)) in stored for p in batch["body_pose"][6:, :6].tolist())


def test_training_mixes_in_the_rendered_split_and_refuses_it_when_missing(split, tmp_path):
    _, path = split
    data = {
        "model": {"regressor": "hkmr", "feature_dim": 64, "encoder_opts": {"width": 64, "num_blocks": 1},
                  "regressor_opts": {"head_widths": [64, 32]}},
        "data": {"batch_size": 8, "num_workers": 0, "rendered_set": str(path), "rendered_fraction": 0.25},
        "trainer": {"max_steps": 2, "checkpoint_every": 100, "progress_bar": False, "accelerator": "cpu"},
        "output": {"run_dir": str(tmp_path / "run"), "export_path": None, "name": "tiny"},
    }  # fmt: skip
    config = config_from_dict(data)
    assert config.data.rendered_rows == 2 and config.data.sample_config().batch_size == 6
    assert train(config).module.global_step == 2
    data["data"]["rendered_set"] = str(tmp_path / "none.npz")
    data["output"]["run_dir"] = str(tmp_path / "run2")
    with pytest.raises(RenderedSetError, match="render-set"):
        train(config_from_dict(data))
    data["data"]["rendered_set"] = None
    with pytest.raises(ConfigError, match="render-set"):
        config_from_dict(data)


def test_evaluate_reports_errors_per_family_on_the_rendered_test_split(split, tmp_path):
    rendered, _ = split
    rendered = dataclasses.replace(rendered, info={**rendered.info, "split": "test"})
    test_path = rendered.save(tmp_path / "test.npz")
    test_set = build_test_set(8, 2, per_family=0, rendered=test_path)
    assert test_set.rendered is not None and len(test_set.rendered["family"]) == rendered.found.sum()
    out = tmp_path / "eval"
    code = training_main(["evaluate", "--model", "hkmr", "--samples", "8", "--occlusion-samples", "2",
                          "--per-family", "0", "--rendered", str(test_path), "--out", str(out)])
    assert code == 0
    result = json.loads((out / "evaluation.json").read_text())["models"]["hkmr"]["rendered"]
    assert result["all"]["samples"] == rendered.found.sum()
    counted = result["library"]["samples"] + sum(f["samples"] for f in result["per_family"].values())
    assert counted == result["all"]["samples"] and 0 < result["all"]["mpjpe_mm"] < 1000
