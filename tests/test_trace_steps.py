"""A regressor's trace as bodies for the chain inspector: one body per outer step and inner pass, ending at the
pipeline's own body, and update angles that measure each joint's rotation change."""

import math

import numpy as np
import pytest
import torch
from conftest import SAMPLE_PHOTO

from hkmr_studio.body import kinematics
from hkmr_studio.checkpoints import BASELINE_MODEL, DEFAULT_MODEL
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.images import load_image
from hkmr_studio.trace_steps import TraceJobs, TraceRequest, start_pose, trace_bodies, update_angles_deg


def test_update_angles_are_the_rotation_between_successive_entries():
    start = torch.zeros(24, 3)
    poses = torch.zeros(2, 24, 3)
    poses[0, 5] = torch.tensor([0.0, 0.0, math.pi / 2])  # 90 degrees about z
    poses[1, 5] = torch.tensor([0.0, 0.0, math.pi / 2])  # no change
    poses[1, 7] = torch.tensor([math.pi / 6, 0.0, 0.0])  # 30 degrees about x
    angles = update_angles_deg(poses, start)
    assert angles.shape == (2, 24)
    assert angles[0, 5] == pytest.approx(90.0, abs=1e-3) and angles[1, 5] == pytest.approx(0.0, abs=1e-3)
    assert angles[1, 7] == pytest.approx(30.0, abs=1e-3) and angles[0, 7] == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("model", ["hkmr", "hmr"])
def test_every_trace_entry_has_a_body_and_the_last_is_the_pipelines(model):
    pipeline = Pipeline(model, device="cpu")
    try:
        result = pipeline.run(load_image(SAMPLE_PHOTO))
    finally:
        pipeline.close()
    trace = result.trace
    bodies = trace_bodies(result, pipeline.body, start_pose(pipeline.model.net.regressor.mean))
    count = trace.num_outer * trace.num_inner + 1  # the passes, then the mirror-averaged body
    assert bodies.entries[-1].label.startswith("final: averaged")
    assert len(bodies.entries) == count and bodies.joints3d.shape == (count, 24, 3)
    assert bodies.joints2d.shape == (count, 24, 2) and bodies.update_deg.shape == (count, 24)
    assert np.allclose(bodies.joints3d[-1], result.regression.joints3d, atol=1e-5)
    assert np.allclose(bodies.joints2d[-1], result.regression.joints2d, atol=1e-2)
    assert (bodies.update_deg >= 0).all() and bodies.update_deg[0].max() > 0  # the first pass moves off the mean
    if model == "hkmr":
        assert {e.direction for e in bodies.entries[:-1]} == {"forward", "backward"}
        assert "pass" in bodies.entries[0].label
    else:
        assert bodies.entries[0].label == "iteration 1"
    chains = bodies.chain_updates_deg(0)
    assert [len(v) for v in chains.values()] == [c.size for c in kinematics.CHAINS]


def test_the_trace_job_reads_the_results_own_trace_and_runs_the_baseline_only_when_asked():
    pipeline = Pipeline(DEFAULT_MODEL, device="cpu")
    try:
        result = pipeline.run(load_image(SAMPLE_PHOTO))
    finally:
        pipeline.close()
    start = start_pose(pipeline.model.net.regressor.mean)
    direct = trace_bodies(result, pipeline.body, start)
    jobs = TraceJobs()
    request = TraceRequest(result, start.numpy(), BASELINE_MODEL, False, result.keypoints, "cpu", None)
    alone = jobs.run(request)
    assert list(alone) == [result.model_name]  # no baseline run: only the window's own trace
    np.testing.assert_allclose(alone[result.model_name].joints2d, direct.joints2d, atol=1e-4)
    both = jobs.run(TraceRequest(result, start.numpy(), BASELINE_MODEL, True, result.keypoints, "cpu", None))
    assert list(both) == [result.model_name, BASELINE_MODEL]
    assert len(both[BASELINE_MODEL].entries) != len(direct.entries)  # HMR's iterations, not HKMR's passes
