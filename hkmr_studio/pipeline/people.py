"""Everyone in a photo (Qt-free): find the people, pick one or all, recover a body for each.

Finding: the person detector (`person_detector.PersonDetector`) proposes people; MediaPipe Pose runs once inside each
proposal's box (`PoseDetector.detect(image, box)`); when it lands on someone found already (their landmark boxes
overlap by more than SAME_PERSON_IOU, or their landmarks coincide), it looks again with the people found painted out, and a proposal that still
ends on someone found counts once. When the detector proposes at most one person, MediaPipe runs
on the whole image exactly as for a single-person photo, so such photos keep today's body (and only when it finds
nobody there does it look in the proposal's box). Boxes the user drew replace the detector: one person per box.
Keypoints given (from files) are people too, without detection.

People are numbered from the left (by their box's centre), p0, p1, ...; coordinates are pixels of the image.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from hkmr_studio.pipeline.core import Pipeline, PipelineResult
from hkmr_studio.pipeline.detection import (
    MASK_THRESHOLD,
    NO_PERSON_MESSAGE,
    Box,
    Detection,
    PoseDetector,
    _person_box,
)
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.pipeline.keypoints import Keypoints2D
from hkmr_studio.pipeline.person_detector import PersonDetector

#: Two proposals whose landmark boxes overlap more than this (intersection over union) found the same person.
SAME_PERSON_IOU = 0.5
#: ... or whose landmarks lie within this fraction of the person's height of each other (median over those both see).
SAME_PERSON_DISTANCE = 0.1
#: People found already are painted this grey, widened by this fraction of their box, when MediaPipe looks for
#: someone else in a box that holds them too.
PAINT = 127
PAINT_GROWTH = 0.05
#: How people are picked: everyone, the one with the largest box, or a number (from the left, 0 first).
PERSON_CHOICES = ("all", "largest")
SOURCES = ("detected", "box", "keypoints")


class PersonChoiceError(ValueError):
    """--person (or a selection) names a person the photo does not have; the message says which exist."""


@dataclass(eq=False)
class FoundPerson:
    """One person in a photo before the body. box (x, y, w, h): the person's extent from visible landmarks and mask;
    source: one of SOURCES; score: the detector's confidence, None for a user's box or keypoints; keypoints: 33
    landmarks (pixels); mask: (H, W) float32 segmentation or None."""

    box: Box
    source: str
    keypoints: Keypoints2D
    score: float | None = None
    mask: np.ndarray | None = None


@dataclass(eq=False)
class PhotoPerson:
    """A person with their body: `index` in the photo's numbering (p0 = leftmost), `found` as found, `result` the
    pipeline's result for their keypoints (result.found False when no body could be recovered)."""

    index: int
    found: FoundPerson
    result: PipelineResult

    @property
    def label(self) -> str:
        return f"p{self.index}"


def box_iou(one: Box, other: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes; 0 when either is empty."""
    x0, y0 = max(one[0], other[0]), max(one[1], other[1])
    x1, y1 = min(one[0] + one[2], other[0] + other[2]), min(one[1] + one[3], other[1] + other[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = one[2] * one[3] + other[2] * other[3] - inter
    return inter / union if union > 0 else 0.0


def people_from_keypoints(people: list[Keypoints2D], image_size: tuple[int, int]) -> list[FoundPerson]:
    """Keypoints given for a photo of (width, height) pixels as people, numbered from the left."""
    return _from_left([FoundPerson(_person_box(kp, None, *image_size), "keypoints", kp) for kp in people])


class PeopleFinder:
    """Finds the people in photos with the person detector (loaded on first use) and `pose` (MediaPipe Pose)."""

    def __init__(self, pose: PoseDetector) -> None:
        self.pose = pose
        self._detector: PersonDetector | None = None

    @property
    def detector(self) -> PersonDetector:
        if self._detector is None:
            self._detector = PersonDetector()
        return self._detector

    def find(self, rgb: np.ndarray, boxes: list[Box] | None = None) -> tuple[list[FoundPerson], list[str]]:
        """The people in an (H, W, 3) uint8 RGB image, numbered from the left, and a message per box given in which
        no person was found (naming the box). With `boxes`, one person per box and no detector."""
        height, width = rgb.shape[:2]
        if boxes:
            detections = [self.pose.detect(rgb, box) for box in boxes]
            missed = [f"no person found in box {i} ({_box_text(box)}): draw it around the whole person"
                      for i, (box, d) in enumerate(zip(boxes, detections, strict=True)) if not d.found]
            return _from_left([_person(d, "box") for d in detections if d.found]), missed
        candidates = self.detector.detect(rgb)
        if len(candidates) <= 1:
            detection = self.pose.detect(rgb)  # the single-person path: the same body as a photo of one person
            if not detection.found and candidates:  # MediaPipe missed a person the detector saw: look in their box
                detection = self.pose.detect(rgb, candidates[0].person_box((width, height)))
            score = candidates[0].score if candidates else None
            return ([_person(detection, "detected", score)] if detection.found else []), []
        return self.in_proposals(rgb, [c.person_box((width, height)) for c in candidates],
                                 [c.score for c in candidates]), []

    def in_proposals(self, rgb: np.ndarray, boxes: list[Box], scores: list[float | None] | None = None,
                     found: list[FoundPerson] | None = None) -> list[FoundPerson]:
        """The people MediaPipe finds in proposal `boxes` (x, y, w, h pixels; the likelier first, `scores` their
        confidences) added to those `found` already, each person once, numbered from the left: a box whose answer is
        someone found already is searched again with those people painted out, and dropped when that finds them
        again."""
        people: list[FoundPerson] = list(found or [])
        for box, score in zip(boxes, scores or [None] * len(boxes), strict=True):  # a duplicate: the later box
            detection = self.pose.detect(rgb, box)
            if people and not _new_person(detection, people):  # MediaPipe went to someone found already
                detection = self.pose.detect(_painted_out(rgb, people), box)
            if _new_person(detection, people):
                people.append(_person(detection, "detected", score))
        return _from_left(people)


def choose(people: list[FoundPerson], which: str | int) -> list[tuple[int, FoundPerson]]:
    """(index, person) pairs picked by `which`: "all", "largest" (the largest box) or a number from the left.
    Raises PersonChoiceError for a number the photo does not have."""
    if which == "all" or not people:
        return list(enumerate(people))
    if which == "largest":
        index = max(range(len(people)), key=lambda i: people[i].box[2] * people[i].box[3])
        return [(index, people[index])]
    if isinstance(which, int) and 0 <= which < len(people):
        return [(which, people[which])]
    if isinstance(which, int):
        raise PersonChoiceError(f"person {which} asked for, but the photo shows {len(people)} "
                                f"(0 to {len(people) - 1}, numbered from the left)")
    raise PersonChoiceError(f"unknown person choice {which!r}: use all, largest or a number (0 is the leftmost)")


@dataclass(eq=False)
class PhotoPeople:
    """Everyone found in a photo (`found`, numbered from the left), those picked with their bodies (`chosen`), and a
    message for the user ('' when all went well): no person found, or boxes without a person."""

    found: list[FoundPerson]
    chosen: list[PhotoPerson]
    message: str = ""


def recover_people(pipeline: Pipeline, finder: PeopleFinder, image: LoadedImage, which: str | int = "all",
                   boxes: list[Box] | None = None, keypoints: list[Keypoints2D] | None = None, refine: bool = False,
                   focal_length: float | None = None, focal_source: str = "given") -> PhotoPeople:
    """The people of `image`, those picked by `which` (see `choose`) with their bodies. `keypoints` (people given in
    pixels of this image) replace detection; otherwise `boxes` replace the person detector. Other arguments as
    `Pipeline.run`. Each result's timings include "find_people": the seconds spent finding everyone in the photo.
    Raises PersonChoiceError for a number the photo does not have."""
    start = time.perf_counter()
    if keypoints is not None:
        people, missed = people_from_keypoints(keypoints, image.original_size), []
    else:
        people, missed = finder.find(image.rgb, boxes)
    found_s = time.perf_counter() - start
    chosen = []
    for index, person in choose(people, which):
        result = pipeline.run(image, keypoints=person.keypoints, refine=refine, focal_length=focal_length,
                              focal_source=focal_source)
        # the segmentation of the detection the keypoints came from, and the time it took to find everyone
        result = result.replaced(mask=person.mask, timings={"find_people": found_s, **result.timings})
        chosen.append(PhotoPerson(index, person, result))
    message = "; ".join(missed) if missed else ("" if people else NO_PERSON_MESSAGE)
    return PhotoPeople(people, chosen, message)


def _new_person(detection: Detection, people: list[FoundPerson]) -> bool:
    """Whether `detection` found someone not among `people`: no box overlaps it more than SAME_PERSON_IOU and no
    person's landmarks lie on its own (`_same_landmarks`)."""
    return detection.found and not any(box_iou(detection.box, p.box) > SAME_PERSON_IOU
                                       or _same_landmarks(detection.keypoints, p.keypoints) for p in people)


def _same_landmarks(one: Keypoints2D, other: Keypoints2D) -> bool:
    """The landmarks both see lie within SAME_PERSON_DISTANCE of the smaller person's height (median distance)."""
    both = one.visible() & other.visible()
    if both.sum() < 4:
        return False
    height = min(np.ptp(kp.xy[kp.visible(), 1]) for kp in (one, other))
    distance = np.median(np.linalg.norm(one.xy[both] - other.xy[both], axis=1))
    return bool(distance < SAME_PERSON_DISTANCE * max(height, 1.0))


def _painted_out(rgb: np.ndarray, people: list[FoundPerson]) -> np.ndarray:
    """A copy of the image with `people` painted PAINT grey (their masks above MASK_THRESHOLD, widened by
    PAINT_GROWTH of their box's larger side; their box without a mask), so MediaPipe looks at someone else."""
    painted = rgb.copy()
    for person in people:
        x, y, w, h = (round(v) for v in person.box)
        if person.mask is None:
            painted[max(0, y):y + h, max(0, x):x + w] = PAINT
            continue
        grow = max(1, round(PAINT_GROWTH * max(w, h)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        painted[cv2.dilate((person.mask > MASK_THRESHOLD).astype(np.uint8), kernel).astype(bool)] = PAINT
    return painted


def _person(detection: Detection, source: str, score: float | None = None) -> FoundPerson:
    return FoundPerson(detection.box, source, detection.keypoints, score, detection.mask)


def _from_left(people: list[FoundPerson]) -> list[FoundPerson]:
    return sorted(people, key=lambda p: p.box[0] + p.box[2] / 2)


def _box_text(box: Box) -> str:
    return ",".join(f"{v:g}" for v in box)
