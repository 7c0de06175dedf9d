"""Identities across video frames (hkmr_studio.video.identities): two people crossing keep their ids, and a person
who leaves and comes back near where they left keeps theirs."""

import numpy as np

from hkmr_studio.video.identities import IdentityTracker, Sighting

#: A stick figure of 5 keypoints (head, hands, feet) relative to the box's top-left corner, for a 60 x 160 box.
_FIGURE = np.array([[30.0, 10.0], [5.0, 70.0], [55.0, 70.0], [15.0, 155.0], [45.0, 155.0]])


def _person(x: float, y: float = 100.0, arms_up: bool = False) -> Sighting:
    keypoints = _FIGURE + [x, y]
    if arms_up:
        keypoints[1:3, 1] -= 60.0
    return Sighting((x, y, 60.0, 160.0), keypoints, np.ones(5, dtype=bool))


def test_two_people_crossing_keep_their_ids():
    tracker = IdentityTracker()
    ids = []
    for frame in range(21):  # A walks right and B left, 20 px a frame; they overlap fully at frame 10
        a, b = _person(100 + 20 * frame), _person(500 - 20 * frame, arms_up=True)
        order = [a, b] if frame % 2 else [b, a]  # the detector's order says nothing
        got = tracker.update(order)
        ids.append(got if frame % 2 else got[::-1])
    assert ids == [[0, 1]] * 21 or ids == [[1, 0]] * 21


def test_crossing_without_keypoints_keeps_ids_by_motion():
    tracker = IdentityTracker()
    first = tracker.update([Sighting((100.0, 100.0, 60.0, 160.0)), Sighting((510.0, 100.0, 60.0, 160.0))])
    for frame in range(1, 21):
        got = tracker.update([Sighting((510.0 - 20 * frame, 100.0, 60.0, 160.0)),  # 10 px apart at frame 10
                              Sighting((100.0 + 20 * frame, 100.0, 60.0, 160.0))])
        assert got == first[::-1]


def test_a_person_who_leaves_and_returns_near_keeps_the_id_and_a_stranger_gets_a_new_one():
    tracker = IdentityTracker(max_gap_frames=15)
    for frame in range(5):
        assert tracker.update([_person(100 + 5 * frame), _person(400)]) == [0, 1]
    for _ in range(10):  # person 0 is hidden
        assert tracker.update([_person(400)]) == [1]
    assert tracker.update([_person(160), _person(400)]) == [0, 1]  # back, a little further on
    assert tracker.update([_person(160), _person(400), _person(900)]) == [0, 1, 2]  # someone new, far away


def test_a_track_lost_longer_than_the_gap_is_forgotten():
    tracker = IdentityTracker(max_gap_frames=3)
    assert tracker.update([_person(100)]) == [0]
    for _ in range(4):
        assert tracker.update([]) == []
    assert tracker.update([_person(100)]) == [1]


def test_people_found_in_a_photo_become_sightings_with_their_box_and_visible_landmarks():
    from hkmr_studio.pipeline.keypoints import NUM_LANDMARKS, Keypoints2D
    from hkmr_studio.pipeline.people import FoundPerson

    visibility = np.linspace(0.0, 1.0, NUM_LANDMARKS)
    keypoints = Keypoints2D(np.ones((NUM_LANDMARKS, 2)), visibility, np.ones(NUM_LANDMARKS, bool), "mediapipe")
    sighting = Sighting.of(FoundPerson((1.0, 2.0, 3.0, 4.0), "detected", keypoints))
    assert sighting.box == (1.0, 2.0, 3.0, 4.0)
    np.testing.assert_array_equal(sighting.visible, visibility >= 0.5)
