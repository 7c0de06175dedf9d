"""The hypotheses the window's dock shows, computed without Qt: the mode, the flip reading and seeded samples of the
shipped probabilistic model, and after an edit the flow-prior refit, which lands nearer the edited keypoints than
where it started."""

import dataclasses

import numpy as np
import pytest

from hkmr_studio.bench.edits import FOCAL_PX, FRAME, exact_keypoints, prior_bodies
from hkmr_studio.hypotheses import HypothesisMaker
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.pipeline.keypoints import Keypoints2D

pytestmark = pytest.mark.slow  # the model, the body and L-BFGS's first step: ~15 s on 2 busy cores


@pytest.fixture(scope="module")
def photo():
    pipeline = Pipeline("prohmr", device="cpu")
    keypoints = exact_keypoints(pipeline, prior_bodies(1)[0])
    blank = LoadedImage(np.zeros((FRAME[1], FRAME[0], 3), dtype=np.uint8), None)
    yield pipeline, pipeline.run(blank, keypoints=keypoints, focal_length=FOCAL_PX)
    pipeline.close()


def test_mode_flip_and_seeded_samples(photo):
    pipeline, base = photo
    maker = HypothesisMaker(pipeline)
    first, again = maker.make(base, samples=5, seed=3), maker.make(base, samples=5, seed=3)
    assert [h.label for h in first.entries] == ["mode", "flip"] + [f"sample {i}" for i in range(1, 6)]
    for a, b in zip(first.entries, again.entries, strict=True):
        assert np.array_equal(a.body_pose, b.body_pose)
    mode, samples = first.entries[0], first.samples()
    assert all(mode.log_prob > s.log_prob for s in samples)  # the mode is the flow's densest point
    assert len({tuple(s.body_pose.round(4)) for s in samples}) == 5
    assert first.spread_mm.shape == (24,) and first.spread_mm[1:].min() > 0


def test_after_an_edit_the_flow_prior_refit_moves_toward_the_keypoints(photo):
    pipeline, base = photo
    kp = base.keypoints
    xy = kp.xy.copy()
    xy[[15, 17, 19, 21]] += [60.0, -60.0]  # the left hand dragged
    edited = Keypoints2D(xy, kp.visibility, kp.present, "user", world=kp.world)
    hypotheses = HypothesisMaker(pipeline).make(dataclasses.replace(base, keypoints=edited), samples=8, flow_fit=True)
    labels = [h.label for h in hypotheses.entries]
    assert labels[:3] == ["mode", "flow-prior fit", "flip"]
    fitted, mode = hypotheses.entries[1], hypotheses.entries[0]
    assert np.isfinite(fitted.log_prob) and fitted.error2d_px < 15.0
    # SMPL joint 20 is the left wrist, MediaPipe landmark 15 the left wrist's keypoint
    assert np.linalg.norm(fitted.joints2d[20] - xy[15]) < np.linalg.norm(mode.joints2d[20] - xy[15])
