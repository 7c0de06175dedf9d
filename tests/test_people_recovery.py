"""Bodies for everyone in a photo (hkmr_studio.pipeline.people.recover_people): a photo of one person keeps the body
the single-person pipeline gives, and a composite of two gives one body per person."""

import numpy as np
import pytest
from conftest import SAMPLE_PHOTO

from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.images import image_from_array, load_image
from hkmr_studio.pipeline.people import PeopleFinder, recover_people


@pytest.fixture(scope="module")
def pipeline():
    pipeline = Pipeline(device="cpu")
    yield pipeline
    pipeline.close()


@pytest.mark.slow
def test_single_person_photo_gives_the_same_body_as_the_single_person_pipeline(pipeline):
    image = load_image(SAMPLE_PHOTO)
    before = pipeline.run(image)
    photo = recover_people(pipeline, PeopleFinder(pipeline.detector), image)
    assert photo.message == "" and len(photo.found) == 1 and len(photo.chosen) == 1
    after = photo.chosen[0].result
    np.testing.assert_array_equal(after.keypoints.xy, before.keypoints.xy)
    np.testing.assert_array_equal(after.mask, before.mask)
    for name in ("global_orient", "body_pose", "betas", "transl", "vertices"):
        np.testing.assert_array_equal(getattr(after.regression, name), getattr(before.regression, name))


@pytest.mark.slow
def test_two_people_each_get_their_own_body_and_one_can_be_picked(pipeline):
    rgb = np.tile(load_image(SAMPLE_PHOTO).rgb, (1, 2, 1))
    image = image_from_array(rgb)
    finder = PeopleFinder(pipeline.detector)
    photo = recover_people(pipeline, finder, image)
    people = photo.chosen
    assert photo.message == "" and [p.label for p in people] == ["p0", "p1"]
    assert all(p.result.found for p in people)
    shift = people[1].result.regression.joints2d - people[0].result.regression.joints2d
    assert np.median(shift[:, 0]) == pytest.approx(rgb.shape[1] / 2, abs=15)  # the right copy's body, one tile over
    picked = recover_people(pipeline, finder, image, which=1).chosen
    assert [p.index for p in picked] == [1]
    np.testing.assert_allclose(picked[0].result.regression.joints2d, people[1].result.regression.joints2d)
