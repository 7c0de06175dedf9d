"""Everyone in a video: one take per person, each person keeping their id across the frames (Qt-free).

Per frame the people are located, then matched to the people of the frames before by `identities.IdentityTracker`
(box overlap plus keypoint distance; a person who leaves and comes back near where they were heading keeps their
id), and each person's keypoints go through the pipeline into their own take (a `recover.TakeRecorder` per id). Ids
are numbered in the order people first appear, from the left within a frame (p0, p1, ...).

Locating: the person detector looks for everyone (`PeopleFinder.find`) on every `search_every`-th frame, on any
frame that follows nobody, and while someone the tracker remembers is missing. Everyone else of the previous frame
(in the frames between searches, everyone) is followed: MediaPipe looks for them in their last box widened by
FOLLOW_MARGIN (`PeopleFinder.in_proposals`, each person once), which skips the detector and keeps people it misses
(overlapping or small). Someone who enters is found at the next search.

A take covers every frame of the video: frames where its person was not seen are no_person, with a message.

Cost (30-frame 640 x 480 clips of the sample, shipped HKMR, CPU time per frame of the whole process, 2 cores under
load 8-9; wall time about twice): one person followed in MediaPipe's tracking mode (`recover_take`) 31 ms; here,
one person 79 ms searching every frame, 50 ms searching every 5th (47 every 10th); two people 116 ms every frame,
88 ms every 5th (81 every 10th): about 38 ms per person added, of which the body (regressor and joints) took
15-25 ms wall.
"""

from __future__ import annotations

import time as clock
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.detection import Box
from hkmr_studio.pipeline.people import SAME_PERSON_IOU, FoundPerson, PeopleFinder, PersonChoiceError, box_iou
from hkmr_studio.video.frames import FrameSource, VideoFrame
from hkmr_studio.video.identities import IdentityTracker, Sighting
from hkmr_studio.video.recover import Progress, TakeRecorder, add_timings, each_frame_ahead, torch_threads
from hkmr_studio.video.take import Take

#: The person detector looks for everyone on every this many frames (and whenever nobody is followed or someone is
#: missing).
SEARCH_EVERY = 5
#: A followed person is looked for in their last box widened by this fraction of its width and height on each side.
FOLLOW_MARGIN = 0.25


@dataclass
class RecoveredPeople:
    """What `recover_people_takes` made: `takes` per person id (raw, every frame of the video; everyone's, or the
    one id asked for), `boxes` per id of everyone seen (x, y, w, h pixels in each frame they were seen in), the
    frames read and those that could not be decoded (indices), whether Ctrl-C stopped it early, seconds per stage
    (locate: finding and following everyone; regress, mesh: summed over people), the frames the person detector
    searched, the bodies recovered, and `seconds` in all (reading frames included)."""

    takes: dict[int, Take]
    boxes: dict[int, list[Box]]
    frame_count: int = 0
    unreadable: list[int] = field(default_factory=list)
    interrupted: bool = False
    stage_seconds: dict[str, float] = field(default_factory=dict)
    searched_frames: int = 0
    bodies: int = 0
    seconds: float = 0.0


def pick_people(boxes: dict[int, list[Box]], which: str | int) -> list[int]:
    """The ids `which` picks among the people seen (`boxes`: id -> their boxes, x, y, w, h pixels): "all",
    "largest" (the one who fills most of the video: the largest box area summed over their frames) or an id.
    Raises PersonChoiceError for an id the video does not have."""
    if which == "all" or not boxes:
        return sorted(boxes)
    if which == "largest":
        return [max(boxes, key=lambda i: sum(w * h for _, _, w, h in boxes[i]))]
    if isinstance(which, int) and which in boxes:
        return [which]
    raise PersonChoiceError(f"person {which} asked for, but the video shows {len(boxes)} (0 to {len(boxes) - 1}, "
                            "numbered in the order they first appear, from the left)")


class _PeopleLocator:
    """Locates everyone in the frames of one video, in order, and gives them their tracker ids."""

    def __init__(self, finder: PeopleFinder, search_every: int) -> None:
        self.finder, self.search_every = finder, search_every
        self.tracker = IdentityTracker()
        self.searched_frames = 0
        self._last: list[FoundPerson] = []  # the people of the last frame located
        self._last_seen: dict[int, int] = {}  # id -> the last frame index they were seen in

    def locate(self, frame: VideoFrame) -> _Located:
        start = clock.perf_counter()
        rgb = frame.image.rgb
        following = sorted(self._last, key=lambda p: -p.box[2] * p.box[3])  # the biggest (nearest) first
        people: list[FoundPerson] = []
        if not self._last or frame.index % self.search_every == 0 or self._someone_missing(frame.index):
            people, _ = self.finder.find(rgb)
            self.searched_frames += 1
            following = [p for p in following if not any(box_iou(p.box, q.box) > SAME_PERSON_IOU for q in people)]
        if following:
            height, width = rgb.shape[:2]
            people = self.finder.in_proposals(rgb, [_widened(p.box, width, height) for p in following], found=people)
        ids = self.tracker.update([Sighting.of(p) for p in people], frame.index)
        self._last = people
        self._last_seen.update(dict.fromkeys(ids, frame.index))
        return _Located(list(zip(ids, people, strict=True)), clock.perf_counter() - start)

    def _someone_missing(self, index: int) -> bool:
        """Whether someone not seen in the frame before is still remembered by the tracker (hidden or gone for at most
        its gap): the detector searches for them, since following looks only where people were."""
        return any(1 < index - seen <= self.tracker.max_gap_frames for seen in self._last_seen.values())


@dataclass(frozen=True)
class _Located:
    """A frame's people with their ids, and the seconds locating them took."""

    people: list[tuple[int, FoundPerson]]
    seconds: float


def recover_people_takes(frames: FrameSource, pipeline: Pipeline, which: str | int = "all",
                         focal_length: float | None = None, progress: Progress | None = None,
                         search_every: int = SEARCH_EVERY) -> RecoveredPeople:
    """A take per person of `frames`: everyone's, or with an id for `which` that person's alone (pick with
    `pick_people` afterwards: who is "largest" shows at the end). No facing check and no mesh per frame, `focal_length`
    in pixels (None: the frame diagonal), as `recover.recover_take`; locating the next frame (a worker thread)
    overlaps the bodies of this one. Ctrl-C ends the loop between frames: the frames done form the takes and
    `interrupted` is set."""
    start = clock.perf_counter()
    locator = _PeopleLocator(PeopleFinder(pipeline.detector), search_every)
    recorders: dict[int, TakeRecorder] = {}
    boxes: dict[int, list[Box]] = {}
    earlier: list[tuple[float, str]] = []  # each frame done: its time and, when it could not be decoded, why
    stages: dict[str, float] = {}
    bodies = 0

    def finish(frame: VideoFrame, located: Future[_Located] | None) -> None:
        nonlocal bodies
        seen = located.result() if located is not None else None
        for identity, person in seen.people if seen is not None else []:
            boxes.setdefault(identity, []).append(person.box)
            if identity not in recorders and (which in ("all", "largest") or which == identity):
                recorders[identity] = _recorder_from(frames, earlier, identity)
            if identity in recorders:
                result = pipeline.run(frame.image, keypoints=person.keypoints, focal_length=focal_length,
                                      facing=False, mesh=False)
                recorders[identity].add(frame.time, result)
                bodies += 1
                add_timings(stages, result.timings)
        if seen is not None:
            add_timings(stages, {"locate": seen.seconds})
        for identity, recorder in recorders.items():
            if recorder.frame_count == len(earlier):  # not recorded above
                if seen is None:
                    recorder.add_unreadable(frame.time, frame.message)
                else:
                    recorder.add_absent(frame.time, _absent_message(identity))
        earlier.append((frame.time, "" if seen is not None else frame.message))
        if progress is not None:
            progress(len(earlier), frames.expected_frames)

    with ThreadPoolExecutor(1, "video-people") as pool, torch_threads(1):
        interrupted = each_frame_ahead(frames, pool, locator.locate, finish)
    unreadable = [i for i, (_, why) in enumerate(earlier) if why]
    return RecoveredPeople({i: recorder.take() for i, recorder in sorted(recorders.items())}, boxes, len(earlier),
                           unreadable, interrupted, stages, locator.searched_frames, bodies,
                           clock.perf_counter() - start)


def _recorder_from(frames: FrameSource, earlier: list[tuple[float, str]], identity: int) -> TakeRecorder:
    """A recorder for person `identity`, first seen now, with the frames before: unreadable ones, the others
    without this person."""
    recorder = TakeRecorder(frames.label, frames.fps, identity)
    for time, unreadable in earlier:
        if unreadable:
            recorder.add_unreadable(time, unreadable)
        else:
            recorder.add_absent(time, _absent_message(identity))
    return recorder


def _absent_message(identity: int) -> str:
    return f"person p{identity} is not seen in this frame"


def _widened(box: Box, width: int, height: int) -> Box:
    """`box` (x, y, w, h pixels) grown by FOLLOW_MARGIN on each side, clipped to the (width, height) frame."""
    x, y, w, h = box
    x0, y0 = max(0.0, x - FOLLOW_MARGIN * w), max(0.0, y - FOLLOW_MARGIN * h)
    x1, y1 = min(float(width), x + w + FOLLOW_MARGIN * w), min(float(height), y + h + FOLLOW_MARGIN * h)
    return x0, y0, x1 - x0, y1 - y0
