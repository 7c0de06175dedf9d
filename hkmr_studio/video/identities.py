"""People's identities across the frames of a video (Qt-free): who in this frame is who in the last.

Each frame's people (boxes and, where known, keypoints; pixels of the frame) are matched to the tracks of the frames
before by the Hungarian assignment on a cost of box overlap and keypoint distance, both taken against where each track
is expected now (its last position moved on by its last velocity), so two people crossing keep their ids. A person not
matched starts a new id, unless a track lost for at most MAX_GAP_FRAMES frames is near where that track was heading and
of about its size: then the person who left and came back keeps their id.

`video.people_takes` uses it for a video of several people: per frame, the people found (or followed), then
`update([Sighting.of(p) for p in people])`, and each id's frames become that person's take (one
`video.recover.TakeRecorder` per id).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from hkmr_studio.pipeline.detection import Box
from hkmr_studio.pipeline.people import FoundPerson, box_iou

#: Assignments dearer than this are not made (cost = 1 - IoU + keypoint distance in box heights).
MAX_COST = 1.2
#: A lost track is remembered this many frames (2 s at 15 fps).
MAX_GAP_FRAMES = 30
#: A returning person is the lost track's when their box centre lies within this many box heights of the expected
#: centre and their height is within this ratio of the track's (either way).
RETURN_DISTANCE = 1.0
RETURN_SIZE_RATIO = 1.4


@dataclass(frozen=True)
class Sighting:
    """One person in one frame: box (x, y, w, h) pixels; keypoints (K, 2) pixels with visible (K,) bool, or None."""

    box: Box
    keypoints: np.ndarray | None = None
    visible: np.ndarray | None = None

    @classmethod
    def of(cls, person: FoundPerson) -> Sighting:
        """A person as `pipeline.people.PeopleFinder.find` gives them: their box and 33 landmarks."""
        return cls(person.box, person.keypoints.xy, person.keypoints.visible())


@dataclass
class _Track:
    identity: int
    sighting: Sighting
    frame: int
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))  # box centre, pixels per frame

    def expected_shift(self, frame: int) -> np.ndarray:
        return self.velocity * (frame - self.frame)


class IdentityTracker:
    """Give each frame's people stable ids: call `update` once per frame, in order."""

    def __init__(self, max_gap_frames: int = MAX_GAP_FRAMES) -> None:
        self.max_gap_frames = max_gap_frames
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._frame = -1

    def update(self, sightings: list[Sighting], frame: int | None = None) -> list[int]:
        """The id of each of `sightings` in frame `frame` (default: the next frame). Ids start at 0."""
        self._frame = self._frame + 1 if frame is None else frame
        self._tracks = [t for t in self._tracks if self._frame - t.frame <= self.max_gap_frames]
        ids = [-1] * len(sightings)
        recent = [t for t in self._tracks if t.frame == self._frame - 1]
        matched_tracks = set()
        for track, s in self._assign(recent, sightings):
            ids[s] = self._continue(track, sightings[s])
            matched_tracks.add(track.identity)
        lost = [t for t in self._tracks if t.identity not in matched_tracks and t.frame < self._frame]
        for s in [i for i, identity in enumerate(ids) if identity < 0]:
            returning = self._returning(lost, sightings[s])
            if returning is not None:
                lost.remove(returning)
                ids[s] = self._continue(returning, sightings[s])
            else:
                ids[s] = self._start(sightings[s])
        return ids

    def _assign(self, tracks: list[_Track], sightings: list[Sighting]) -> list[tuple[_Track, int]]:
        """(track, sighting index) pairs of least total cost, none dearer than MAX_COST."""
        if not tracks or not sightings:
            return []
        cost = np.array([[_cost(t, s, self._frame) for s in sightings] for t in tracks])
        rows, cols = linear_sum_assignment(cost)
        return [(tracks[r], int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] <= MAX_COST]

    def _returning(self, lost: list[_Track], sighting: Sighting) -> _Track | None:
        """The lost track nearest where it was heading, when the sighting is close enough and of its size."""
        height = sighting.box[3]
        best, best_distance = None, RETURN_DISTANCE
        for track in lost:
            ratio = height / max(track.sighting.box[3], 1e-9)
            if not 1 / RETURN_SIZE_RATIO <= ratio <= RETURN_SIZE_RATIO:
                continue
            expected = _centre(track.sighting.box) + track.expected_shift(self._frame)
            distance = float(np.linalg.norm(_centre(sighting.box) - expected)) / max(height, 1e-9)
            if distance <= best_distance:
                best, best_distance = track, distance
        return best

    def _continue(self, track: _Track, sighting: Sighting) -> int:
        gap = self._frame - track.frame
        track.velocity = (_centre(sighting.box) - _centre(track.sighting.box)) / gap if gap == 1 else np.zeros(2)
        track.sighting, track.frame = sighting, self._frame
        return track.identity

    def _start(self, sighting: Sighting) -> int:
        track = _Track(self._next_id, sighting, self._frame)
        self._tracks.append(track)
        self._next_id += 1
        return track.identity


def _centre(box: Box) -> np.ndarray:
    return np.array([box[0] + box[2] / 2, box[1] + box[3] / 2])


def _cost(track: _Track, sighting: Sighting, frame: int) -> float:
    """1 - IoU of the sighting's box with the track's expected box, plus the mean distance of the keypoints both see
    from the track's expected keypoints, in the track's box heights."""
    shift = track.expected_shift(frame)
    x, y, w, h = track.sighting.box
    cost = 1.0 - box_iou((x + shift[0], y + shift[1], w, h), sighting.box)
    last = track.sighting
    if last.keypoints is not None and sighting.keypoints is not None:
        both = np.ones(len(last.keypoints), dtype=bool)
        for visible in (last.visible, sighting.visible):
            if visible is not None:
                both &= visible
        if both.any():
            distance = np.linalg.norm(sighting.keypoints[both] - (last.keypoints[both] + shift), axis=1).mean()
            cost += float(distance) / max(h, 1e-9)
    return cost
