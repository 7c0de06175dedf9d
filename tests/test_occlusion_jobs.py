"""The occlusion lab's experiments as a Qt-free job: a frozen request in, progress out, a frozen outcome back; an
occluder over a keypoint changes the answer, closing a sweep stops it, and the unoccluded reference is reused for
the same pixels (whichever array holds them) and run again for changed ones."""

import dataclasses
import math

import numpy as np
import pytest
from conftest import SAMPLE_PHOTO
from generator_runs import run_to_end

from hkmr_studio.body import kinematics
from hkmr_studio.checkpoints import BASELINE_MODEL
from hkmr_studio.occlusion_jobs import (
    Comparison,
    GridSweep,
    OccludeJoint,
    OccluderSettings,
    OcclusionJobs,
    OcclusionRequest,
    PlaceOccluder,
    image_digest,
)
from hkmr_studio.occlusion_probe import Heatmap, OcclusionProbe
from hkmr_studio.pipeline.images import LoadedImage, load_image

KNEE = kinematics.JOINT_INDEX["left_knee"]


@pytest.fixture(scope="module")
def jobs():
    jobs = OcclusionJobs()
    yield jobs
    jobs.close()


@pytest.fixture(scope="module")
def photo():
    return load_image(SAMPLE_PHOTO)


@pytest.fixture
def request_for(untrained_model_path, photo):
    def make(experiment, image=photo, kind="circle", degree=5):
        return OcclusionRequest(image, (str(untrained_model_path), BASELINE_MODEL), "cpu", None,
                                OccluderSettings(kind, degree, math.radians(45)), experiment)
    return make


@pytest.fixture
def reference_runs(monkeypatch):
    """The images OcclusionProbe.run is called on, in order (the reference's and every occluded photo's)."""
    images = []
    run = OcclusionProbe.run
    monkeypatch.setattr(OcclusionProbe, "run", lambda probe, image: images.append(image) or run(probe, image))
    return images


def test_an_occluder_over_a_keypoint_changes_the_keypoints_and_moves_the_joints(jobs, request_for):
    request = request_for(OccludeJoint(KNEE))
    progress, outcome = run_to_end(jobs.run(request))
    comparison = outcome.result
    assert isinstance(comparison, Comparison) and outcome.request is request
    assert progress[-1] == "Occluding left_knee…"
    assert set(outcome.labels) == set(request.models) and outcome.labels[BASELINE_MODEL] == BASELINE_MODEL
    assert comparison.occluder.mask(*request.image.rgb.shape[:2]).any()
    _, control = run_to_end(jobs.run(request_for(PlaceOccluder((0.5, 0.5)), degree=1)))  # far from the person
    for model in request.models:
        moved = comparison.displacement.per_joint_mm[model]
        assert np.isfinite(moved).all() and moved.max() > 0.0
        assert comparison.displacement.mean_mm(model) > control.result.displacement.mean_mm(model)
    assert not np.allclose(comparison.run.first.keypoints.xy, control.result.run.first.keypoints.xy)
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.result = None


def test_closing_a_sweep_stops_it_before_the_next_run(jobs, request_for, monkeypatch):
    occluded = []
    occlude = OcclusionProbe.occlude
    monkeypatch.setattr(OcclusionProbe, "occlude", lambda *args: occluded.append(1) or occlude(*args))
    sweep = jobs.run(request_for(GridSweep(3)))
    first = next(sweep)
    while isinstance(first, str):  # the reference's line, when it is not kept
        first = next(sweep)
    assert first == (1, 9)
    sweep.close()
    assert len(occluded) == 1
    _, finished = run_to_end(jobs.run(request_for(GridSweep(1))))
    assert isinstance(finished.result, Heatmap) and len(occluded) == 2  # the job runs on after a cancelled sweep


def test_the_reference_is_kept_for_the_same_pixels_and_run_again_for_changed_ones(jobs, request_for, photo,
                                                                                  reference_runs):
    run_to_end(jobs.run(request_for(OccludeJoint(KNEE))))
    copy = LoadedImage(photo.rgb.copy(), None)
    assert copy is not photo and image_digest(copy) == image_digest(photo)
    progress, _ = run_to_end(jobs.run(request_for(OccludeJoint(KNEE), image=copy)))
    assert "Running the unoccluded photo…" not in progress
    references = [image for image in reference_runs if np.array_equal(image.rgb, photo.rgb)]
    assert len(references) <= 1 and len(reference_runs) == len(references) + 2  # cached: occluded runs only
    changed = photo.rgb.copy()
    changed[:40, :40] = 255 - changed[:40, :40]
    edited = LoadedImage(changed, None)
    assert image_digest(edited) != image_digest(photo)
    progress, _ = run_to_end(jobs.run(request_for(OccludeJoint(KNEE), image=edited)))
    assert progress[0] == "Running the unoccluded photo…" and reference_runs[-2] is edited
