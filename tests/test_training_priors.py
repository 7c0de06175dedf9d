"""The pose priors: the shipped VAE and mixture load and tell real poses from random ones; unobserved dimensions stay
free; `train-priors` writes loadable files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hkmr_studio.fitting.priors import GaussianMixturePrior, load_pose_prior
from hkmr_studio.nets.vae import PoseVAE
from training.__main__ import main as training_main
from training.mocap.library import PoseLibrary
from training.priors.data import LIBRARY_PATH, load_split, split_library, with_families
from training.priors.scores import random_poses, separation


@pytest.fixture(scope="module")
def split():
    return load_split()


@pytest.mark.parametrize("name", ["gmm", "vae"])
def test_shipped_prior_scores_held_out_library_poses_above_random_joint_angles(split, name):
    prior, note = load_pose_prior(name, torch.zeros(1, 69))
    assert note == "", f"the shipped {name} prior did not load: {note}"
    scores = separation(prior, split.held_out, random_poses(len(split.held_out), seed=1))
    assert scores.real_median < scores.random_median
    assert scores.ranking > 0.99


@pytest.mark.parametrize("name", ["gmm", "vae"])
def test_shipped_prior_scores_held_out_family_poses_like_library_poses(name):
    """Trained on the pose families too, the priors must not punish sitting, kneeling or lying: the median penalty of
    family poses they never saw stays below the 90th percentile of held-out library poses (the library-only mixture
    put every family pose above it)."""
    split = with_families(load_split(), 300, seed=99)  # another seed than train-priors' draws
    library = split.held_out[: len(split.held_out) - len(split.held_out_families)]
    prior, _ = load_pose_prior(name, torch.zeros(1, 69))
    with torch.no_grad():
        library_scores = prior(torch.from_numpy(library)).numpy()
        family_scores = prior(torch.from_numpy(split.held_out_families)).numpy()
    assert np.median(family_scores) < np.percentile(library_scores, 90)
    assert separation(prior, split.held_out_families, random_poses(len(family_scores), seed=2)).ranking > 0.99


@pytest.mark.parametrize("name", ["gmm", "vae"])
def test_moving_joints_the_library_never_moves_costs_far_less_than_moving_observed_ones(split, name):
    """The mocap has no feet, head or hand rotations: the priors must not pin them (a fit may turn the head)."""
    poses = torch.from_numpy(split.held_out[:100])
    prior, _ = load_pose_prior(name, poses)
    unobserved = np.flatnonzero(split.unobserved)
    observed = np.flatnonzero(~split.unobserved)[: len(unobserved)]
    with torch.no_grad():
        base = prior(poses)
        cost = {}
        for label, dims in (("unobserved", unobserved), ("observed", observed)):
            moved = poses.clone()
            moved[:, dims] += 0.3
            cost[label] = float((prior(moved) - base).median())
    assert cost["unobserved"] < cost["observed"] / 10


def test_held_out_poses_are_the_last_frames_of_each_clip_and_never_trained_on():
    library = PoseLibrary.load(LIBRARY_PATH)
    parts = split_library(library)
    assert len(parts.train) + len(parts.held_out) == len(library)
    train_rows = {row.tobytes() for row in parts.train}
    assert not any(row.tobytes() in train_rows for row in parts.held_out)
    assert 0.05 < len(parts.held_out) / len(library) < 0.15


def test_train_priors_writes_a_mixture_and_vae_that_load_safely(tmp_path):
    status = training_main(["train-priors", "--out", str(tmp_path), "--vae-steps", "20", "--components", "2"])
    assert status == 0
    mixture = GaussianMixturePrior.from_file(tmp_path / "pose_gmm.npz")
    assert mixture.means.shape == (2, 69)
    vae = PoseVAE()
    vae.load_state_dict(torch.load(tmp_path / "pose_vae.pt", map_location="cpu", weights_only=True))
    card = (tmp_path / "README.md").read_text()
    assert "held-out median" in card and "train-priors" in card and "held-out families median" in card
