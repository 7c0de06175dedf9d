"""Finding everyone in a photo: the person detector's anchors and decoding, and person counts on the bundled photo and
composites of it (hkmr_studio.pipeline.person_detector, hkmr_studio.pipeline.people)."""

import numpy as np
import pytest

from hkmr_studio.pipeline.people import (
    PAINT,
    PeopleFinder,
    PersonChoiceError,
    box_iou,
    choose,
    people_from_keypoints,
)
from hkmr_studio.pipeline.person_detector import (
    INPUT_SIZE,
    NUM_ANCHORS,
    PersonCandidate,
    decode,
    detection_windows,
    letterbox,
    ssd_anchor_centres,
    weighted_nms,
)


def test_anchors_are_one_per_model_output_cell_by_cell():
    anchors = ssd_anchor_centres()
    assert anchors.shape == (NUM_ANCHORS, 2)
    np.testing.assert_allclose(anchors[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(anchors[1], anchors[0])  # two anchors per cell at stride 8
    np.testing.assert_allclose(anchors[2], [1.5 / 28, 0.5 / 28])  # then the next column
    np.testing.assert_allclose(anchors[28 * 28 * 2], [0.5 / 14, 0.5 / 14])  # stride 16 starts
    np.testing.assert_allclose(anchors[-6:], np.tile([6.5 / 7, 6.5 / 7], (6, 1)))  # 3 layers x 2 at stride 32


def test_decode_keeps_confident_anchors_and_offsets_from_their_centres():
    anchors = ssd_anchor_centres()
    raw = np.zeros((NUM_ANCHORS, 12), dtype=np.float32)
    logits = np.full(NUM_ANCHORS, -5.0, dtype=np.float32)
    logits[100] = 3.0
    raw[100] = [22.4, -22.4, 44.8, 22.4, 0, 0, 0, 44.8, 0, 0, 0, 0]
    values, scores = decode(raw, logits, anchors)
    assert scores.shape == (1,) and scores[0] == pytest.approx(1 / (1 + np.exp(-3.0)))
    centre = anchors[100]
    np.testing.assert_allclose(values[0, :4], [centre[0] + 0.1, centre[1] - 0.1, 0.2, 0.1])
    np.testing.assert_allclose(values[0, 4:8], [*centre, centre[0], centre[1] + 0.2])


def test_weighted_nms_merges_overlapping_faces_by_score_and_keeps_apart_ones():
    values = np.zeros((3, 12))
    values[:, :4] = [[0.2, 0.2, 0.1, 0.1], [0.22, 0.2, 0.1, 0.1], [0.8, 0.8, 0.1, 0.1]]
    scores = np.array([0.9, 0.6, 0.7])
    merged = weighted_nms(values, scores)
    assert [round(s, 2) for _, s in merged] == [0.9, 0.7]
    assert merged[0][0][0] == pytest.approx((0.2 * 0.9 + 0.22 * 0.6) / 1.5)
    assert merged[1][0][0] == pytest.approx(0.8)


def test_letterbox_centres_the_photo_and_maps_pixels_by_scale_and_pad():
    image = np.full((100, 200, 3), 255, dtype=np.uint8)
    tensor, scale, (pad_x, pad_y) = letterbox(image)
    assert tensor.shape == (1, INPUT_SIZE, INPUT_SIZE, 3) and scale == pytest.approx(INPUT_SIZE / 200)
    assert (pad_x, pad_y) == (0, 56)
    assert tensor[0, 55, 10, 0] == 0.0 and tensor[0, 56, 10, 0] == pytest.approx(1.0)


def test_wide_photos_are_also_searched_in_overlapping_squares():
    assert detection_windows(612, 612) == [(0, 0, 612, 612)]
    windows = detection_windows(1836, 612)
    assert windows[0] == (0, 0, 1836, 612) and windows[1] == (0, 0, 612, 612) and windows[-1] == (1224, 0, 1836, 612)
    assert len(windows) == 1 + 5  # squares every half side


def test_person_box_is_the_body_circle_clipped_to_the_image():
    candidate = PersonCandidate(0.9, (0, 0, 1, 1), hips=(50.0, 60.0), body_radius=40.0)
    assert candidate.person_box((80, 200)) == (10.0, 20.0, 70.0, 80.0)


@pytest.fixture(scope="module")
def finder():
    from hkmr_studio.pipeline.detection import PoseDetector

    with PoseDetector() as pose:
        yield PeopleFinder(pose)


@pytest.mark.slow
@pytest.mark.parametrize(("columns", "rows"), [(1, 1), (2, 1), (3, 1), (2, 2)])
def test_composites_of_the_bundled_photo_give_one_person_per_tile(finder, sample_rgb, columns, rows):
    height, width = sample_rgb.shape[:2]
    composite = np.tile(sample_rgb, (rows, columns, 1))
    people, missed = finder.find(composite)
    assert missed == [] and len(people) == columns * rows
    tiles = {(int((p.box[0] + p.box[2] / 2) // width), int((p.box[1] + p.box[3] / 2) // height)) for p in people}
    assert tiles == {(c, r) for c in range(columns) for r in range(rows)}
    lefts = [p.box[0] + p.box[2] / 2 for p in people]
    assert lefts == sorted(lefts)  # numbered from the left


@pytest.mark.slow
def test_blank_photo_has_nobody_and_a_box_without_a_person_is_named(finder, sample_rgb):
    assert finder.find(np.zeros_like(sample_rgb)) == ([], [])
    people, missed = finder.find(np.tile(sample_rgb, (1, 2, 1)), boxes=[(650, 200, 500, 600), (5, 5, 40, 40)])
    assert len(people) == 1 and people[0].source == "box" and people[0].box[0] > 600
    assert missed == ["no person found in box 1 (5,5,40,40): draw it around the whole person"]


def _person(box):
    from hkmr_studio.pipeline.people import FoundPerson

    return FoundPerson(box, "detected", keypoints=None)


def test_choose_picks_all_the_largest_or_a_number_and_names_the_range():
    people = [_person((0, 0, 10, 10)), _person((20, 0, 30, 30)), _person((60, 0, 5, 5))]
    assert [i for i, _ in choose(people, "all")] == [0, 1, 2]
    assert [i for i, _ in choose(people, "largest")] == [1]
    assert [i for i, _ in choose(people, 2)] == [2]
    with pytest.raises(PersonChoiceError, match="person 3 asked for, but the photo shows 3 \\(0 to 2"):
        choose(people, 3)


def test_box_iou_of_overlapping_and_apart_boxes():
    assert box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 0, 10, 10)) == 0.0


def test_people_from_keypoints_are_numbered_from_the_left():
    from hkmr_studio.pipeline.keypoints import NUM_LANDMARKS, Keypoints2D

    def at(x):
        xy = np.column_stack([np.linspace(x, x + 50, NUM_LANDMARKS), np.linspace(10, 200, NUM_LANDMARKS)])
        return Keypoints2D(xy, np.ones(NUM_LANDMARKS), np.ones(NUM_LANDMARKS, bool), "coco-json")

    people = people_from_keypoints([at(300), at(20)], (640, 480))
    assert [round(p.box[0]) for p in people] == [20, 300] and {p.source for p in people} == {"keypoints"}


class _FirstVisible:
    """A stand-in for MediaPipe: answers person A (the top-left square) wherever it is visible, else person B (the
    bottom-right square), as MediaPipe answers the most prominent person in a box holding two."""

    def __init__(self):
        self.painted_calls = 0

    def detect(self, rgb, box=None):
        from hkmr_studio.pipeline.detection import Detection
        from hkmr_studio.pipeline.keypoints import NUM_LANDMARKS, Keypoints2D

        a_visible = rgb[50, 50, 0] != PAINT
        self.painted_calls += not a_visible
        x0 = 0 if a_visible else 100
        mask = np.zeros(rgb.shape[:2], np.float32)
        mask[x0:x0 + 100, x0:x0 + 100] = 1.0
        xy = np.column_stack([np.linspace(x0, x0 + 99, NUM_LANDMARKS)] * 2)
        keypoints = Keypoints2D(xy, np.ones(NUM_LANDMARKS), np.ones(NUM_LANDMARKS, bool), "mediapipe")
        return Detection(True, keypoints=keypoints, mask=mask, box=(x0, x0, 100, 100))


class _TwoProposals:
    def detect(self, rgb):
        return [PersonCandidate(0.9, (40, 10, 20, 20), hips=(50.0, 50.0), body_radius=60.0),
                PersonCandidate(0.8, (140, 110, 20, 20), hips=(120.0, 120.0), body_radius=100.0)]


def test_a_proposal_whose_box_lands_on_someone_found_is_searched_again_with_them_painted_out():
    pose = _FirstVisible()
    finder = PeopleFinder(pose)
    finder._detector = _TwoProposals()
    people, _ = finder.find(np.full((200, 200, 3), 90, np.uint8))
    assert [p.box for p in people] == [(0, 0, 100, 100), (100, 100, 100, 100)]
    assert pose.painted_calls == 1


class _SamePersonTwice:
    """A stand-in for MediaPipe that answers the same landmarks for every box, with a box widened by the mask of
    whoever else the box held: one person, two boxes that overlap little."""

    def detect(self, rgb, box=None):
        from hkmr_studio.pipeline.detection import Detection
        from hkmr_studio.pipeline.keypoints import NUM_LANDMARKS, Keypoints2D

        xy = np.column_stack([np.linspace(10, 60, NUM_LANDMARKS), np.linspace(10, 190, NUM_LANDMARKS)])
        keypoints = Keypoints2D(xy, np.ones(NUM_LANDMARKS), np.ones(NUM_LANDMARKS, bool), "mediapipe")
        wide = box is not None and box[0] > 15  # the second proposal's box (20, 20, 180, 180)
        return Detection(True, keypoints=keypoints, box=(10, 10, 180 if wide else 50, 180))


def test_two_proposals_ending_on_the_same_landmarks_are_one_person():
    finder = PeopleFinder(_SamePersonTwice())
    finder._detector = _TwoProposals()
    people, _ = finder.find(np.full((200, 200, 3), 90, np.uint8))
    assert len(people) == 1
