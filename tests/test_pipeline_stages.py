"""The pipeline's typed stages: each stage returns a frozen value of its own type, a run is the assembly of its
stages, and no result (nor its timings or messages) can be changed in place; flip and refit make new results."""

import dataclasses

import numpy as np
import pytest
import torch

from hkmr_studio.bench.edits import FOCAL_PX, FRAME, exact_keypoints, prior_bodies
from hkmr_studio.body.keypoint_sets import MEDIAPIPE_LANDMARK_NAMES
from hkmr_studio.fitting.result import FitResult
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.facing_check import FacingCheck
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.pipeline.local_edits import moved_keypoints
from hkmr_studio.pipeline.stages import (
    BodyEstimate,
    DetectionStage,
    FitStage,
    Intrinsics,
    PipelineResult,
    RegressionStage,
    assemble,
)

LEFT_WRIST = MEDIAPIPE_LANDMARK_NAMES.index("left_wrist")
BODY_FIELDS = [f.name for f in dataclasses.fields(BodyEstimate)]


@pytest.fixture(scope="module")
def photo():
    """The shipped model's pipeline, a blank FRAME photo and the exact keypoints of a body from the pose prior."""
    pipeline = Pipeline(device="cpu")
    keypoints = exact_keypoints(pipeline, prior_bodies(1, seed=3)[0])
    yield pipeline, LoadedImage(np.zeros((FRAME[1], FRAME[0], 3), np.uint8), None), keypoints
    pipeline.close()


@pytest.fixture(scope="module")
def refined(photo):
    """The refined result of the photo, its facing checked."""
    pipeline, image, keypoints = photo
    return pipeline.run(image, keypoints=keypoints, refine=True, focal_length=FOCAL_PX)


def _same_body(one: BodyEstimate | None, other: BodyEstimate | None) -> bool:
    if one is None or other is None:
        return one is other
    return all(np.array_equal(getattr(one, name), getattr(other, name)) for name in BODY_FIELDS)


def test_a_result_its_timings_messages_and_bodies_cannot_be_changed_in_place(refined):
    with pytest.raises(dataclasses.FrozenInstanceError):
        refined.fit = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        refined.regression.transl = np.zeros(3)
    with pytest.raises(TypeError):
        refined.timings["render"] = 1.0
    with pytest.raises(AttributeError):
        refined.messages.append("a note")
    assert set(refined.timings) == {"regress", "mesh", "refine"} and refined.fit is not None


def test_a_changed_copy_holds_its_own_timings_and_leaves_the_original(refined):
    timings = {**refined.timings, "render": 0.5}
    copy = refined.replaced(timings=timings)
    timings["render"] = 9.0
    assert copy.timings["render"] == 0.5 and "render" not in refined.timings
    assert copy.fit is refined.fit and copy is not refined


def test_each_stage_returns_a_frozen_value_of_its_own_type(photo):
    pipeline, image, keypoints = photo
    detection = DetectionStage(image, Intrinsics.of_image(image, FOCAL_PX), keypoints)
    regression = pipeline.regress(detection)
    assert isinstance(regression, RegressionStage) and regression.body is None
    assert len(regression.crop) == 3 and regression.camera.shape == (3,) and regression.trace is not None
    assert [tuple(p.shape) for p in regression.params] == [(1, 3), (1, 69), (1, 10), (1, 3)]
    meshed = pipeline.mesh(detection, regression)
    assert isinstance(meshed.body, BodyEstimate) and regression.body is None  # a new stage, the old one kept
    assert meshed.body.joints3d.shape == (24, 3) and meshed.body.joints2d.shape == (24, 2)
    fit = pipeline.refine(detection, meshed.body)
    assert isinstance(fit, FitStage) and isinstance(fit.report, FitResult) and isinstance(fit.messages, tuple)
    assert fit.report.ok and isinstance(fit.body, BodyEstimate)
    for stage, name in ((detection, "keypoints"), (meshed, "body"), (fit, "body")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(stage, name, None)


def test_a_run_is_the_assembly_of_its_stages(photo, refined):
    pipeline, image, keypoints = photo
    detection = DetectionStage(image, Intrinsics.of_image(image, FOCAL_PX, "given"), keypoints)
    regression = pipeline.mesh(detection, pipeline.regress(detection))
    fit = pipeline.refine(detection, regression.body)
    assembled = assemble(detection, regression, fit, facing=refined.facing, timings=refined.timings,
                         notes=(*pipeline.messages, *image.notes))
    assert isinstance(assembled, PipelineResult) and assembled.found and refined.found
    for name in ("found", "refused", "message", "focal_length", "focal_length_source", "principal_point", "crop",
                 "model_name", "model_trained", "flipped", "messages"):
        assert getattr(assembled, name) == getattr(refined, name), name
    assert np.array_equal(assembled.camera, refined.camera) and assembled.keypoints is refined.keypoints
    assert _same_body(assembled.regression, refined.regression) and _same_body(assembled.fit, refined.fit)
    assert torch.equal(assembled.fit_report.error2d_after, refined.fit_report.error2d_after)


def test_flip_and_refit_make_new_results_and_leave_their_base_untouched(photo, refined, one_thread):
    pipeline, _, _ = photo
    before = {name: getattr(refined, name) for name in ("keypoints", "regression", "fit", "fit_report", "facing",
                                                          "other_way", "flipped", "messages")}
    timings, xy = dict(refined.timings), refined.keypoints.xy.copy()
    flipped = pipeline.flip(refined)
    moved = moved_keypoints(refined.keypoints, LEFT_WRIST, tuple(refined.keypoints.xy[LEFT_WRIST] + [30.0, -30.0]))
    refit = pipeline.refit(refined, moved)
    assert all(getattr(refined, name) is value for name, value in before.items())
    assert dict(refined.timings) == timings and np.array_equal(refined.keypoints.xy, xy)
    assert flipped.flipped and flipped.other_way is refined and set(flipped.timings) >= {"regress"}
    assert refit.keypoints is moved and refit.regression is refined.regression and set(refit.timings) == {"refit"}
    assert not _same_body(refit.fit, refined.fit)


def test_a_flagged_result_and_its_changed_copies_flip_there_and_back(photo, monkeypatch):
    """The facing check is planted: the keypoints as given are flagged, the other reading agrees."""
    def planted(self, detection, body):
        return FacingCheck(0.9 if detection.flipped else -0.6, {"shoulders": (1.0, 1.0)})

    monkeypatch.setattr(Pipeline, "_facing", planted)
    pipeline, image, keypoints = photo
    result = pipeline.run(image, keypoints=keypoints, focal_length=FOCAL_PX)
    assert result.facing.flagged and "flip" in result.timings
    assert result.other_way.flipped and result.other_way.other_way is result
    masked = result.replaced(mask=np.ones(image.original_size[::-1], np.float32))
    assert masked.other_way.other_way is masked and result.other_way.other_way is result
    assert result.mask is None and _same_body(masked.other_way.best, result.other_way.best)
