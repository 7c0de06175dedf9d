"""The shipped probabilistic model on held-out synthetic samples (the evaluation seed, which training refuses): the
flow finds the true pose more likely than other poses, and the best of n samples gets closer to the truth as n
grows, below the mode's error."""

import pytest

from hkmr_studio.checkpoints import load_checkpoint
from training.evaluation.flow import log_likelihoods, score_batch
from training.evaluation.flow_runs import run_flow
from training.samples.generator import SampleConfig, SampleGenerator
from training.trainer.config import EVAL_SEED

pytestmark = pytest.mark.slow  # the sample generator and the model: ~15 s on 2 busy cores


@pytest.fixture(scope="module")
def held_out():
    model = load_checkpoint("prohmr")
    batch = SampleGenerator(SampleConfig(batch_size=48, seed=EVAL_SEED, occluder_fraction=0.0)).batch(0)
    return model, batch


def test_truth_is_more_likely_than_random_poses_on_held_out_samples(held_out):
    model, batch = held_out
    likelihood = log_likelihoods(model, run_flow(model, batch), batch)
    assert likelihood["truth"] > likelihood["random_angles"] + 100
    assert likelihood["truth"] > likelihood["other_rows_truth"]


def test_min_of_n_falls_as_n_grows_and_beats_the_mode(held_out):
    model, batch = held_out
    scores = score_batch(model, batch, rows=48, ns=(1, 10, 100))
    for key in ("min_of_n_mpjpe_mm", "min_of_n_pa_mpjpe_mm"):
        one, ten, hundred = (scores[key][n] for n in ("1", "10", "100"))
        assert one > ten > hundred, f"{key}: {one}, {ten}, {hundred}"
    assert scores["min_of_n_mpjpe_mm"]["100"] < scores["mode"]["mpjpe_mm"]
    assert scores["spread_mm"] > 0
