"""Everyone in a photo, for the window (Qt-free): find the people (`pipeline.people.PeopleFinder`), or take the
user's box, and recover each one's body as an `Analysis` of its own.

A fresh analysis of a photo finds everyone; a box the user drew adds the person in it to those found. Each person's
body is the single-person run with that person's keypoints (`Engine.analyse`), so a photo of one person keeps
today's body, and refits, flips and refinements of the selected person stay single-person runs. People are numbered
from the left (p0, p1, ...) in pixels of the photo, as `hkmr-studio infer` numbers them.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, replace

import numpy as np

from hkmr_studio.gui.analysis import Analysis, Engine, Request
from hkmr_studio.gui.keypoint_edits import KeypointEdits
from hkmr_studio.llvm_load_order import load_triton_before_opengl
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.detection import NO_PERSON_MESSAGE, Box
from hkmr_studio.pipeline.people import SAME_PERSON_IOU, FoundPerson, PeopleFinder, box_iou, people_from_keypoints

#: What the window says when it finds nobody: the box tool is how to show it where someone is.
NO_PERSON_IN_WINDOW = ("No person found in the image. Draw a box around them (Body ▸ Draw Person Box, or press B), "
                       "or try a photo where the whole person is visible.")
#: Smallest box side, in photo pixels, the box tool accepts as a person.
MIN_BOX_PX = 16


@dataclass(eq=False)
class Person:
    """One person of a photo: `found` (box (x, y, w, h) pixels, source, score, keypoints, mask) and the analysis of
    their body; `keypoint_edits`: the user's edits of this person's keypoints, kept while another person is selected."""

    found: FoundPerson
    analysis: Analysis
    keypoint_edits: KeypointEdits | None = None

    @property
    def box(self) -> Box:
        return self.found.box


@dataclass(frozen=True)
class PeopleRequest:
    """Find everyone in `request.image` (or, with `boxes`, the person in each box) and recover their bodies.
    `add`: the people found join those the document has (a box the user drew), instead of replacing them."""

    request: Request
    boxes: tuple[Box, ...] = ()
    add: bool = False


@dataclass(eq=False)
class PeopleAnalysis:
    """A finished people run: the people found (numbered from the left among themselves) and a message for the user
    ('' when all went well: it names boxes without a person). `nobody`: the analysis that says nobody was found
    (the single-person run's, its message pointing to the box tool), None when someone was."""

    request: PeopleRequest
    people: list[Person]
    message: str = ""
    nobody: Analysis | None = None


def person_label(index: int) -> str:
    """The name of the person at `index` (from the left): p0, p1, ..."""
    return f"p{index}"


def from_left(people: list[Person]) -> list[Person]:
    """`people` ordered by their box's centre from left to right (the photo's numbering)."""
    return sorted(people, key=lambda p: p.box[0] + p.box[2] / 2)


def found_already(person: Person, people: list[Person]) -> int | None:
    """The index of the one of `people` whose box overlaps `person`'s by more than SAME_PERSON_IOU, if any."""
    overlap = [box_iou(p.box, person.box) for p in people]
    return int(np.argmax(overlap)) if overlap and max(overlap) > SAME_PERSON_IOU else None


def to_select(people: list[Person], before: Person | None) -> int:
    """The index of the person to show after a new search: the one where `before` (the person shown until then) is,
    when a box overlaps theirs by more than SAME_PERSON_IOU, else the one with the largest box."""
    if before is not None and (index := found_already(before, people)) is not None:
        return index
    return max(range(len(people)), key=lambda i: people[i].box[2] * people[i].box[3])


class PeopleEngine:
    """Runs `PeopleRequest`s on `engine`'s pipeline and renderer; call it from the Engine's thread only."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._finder: tuple[Pipeline, PeopleFinder] | None = None  # the finder of the pipeline it was made for

    def finder_for(self, pipeline: Pipeline) -> PeopleFinder:
        if self._finder is None or self._finder[0] is not pipeline:
            self._finder = (pipeline, PeopleFinder(pipeline.detector))
        return self._finder[1]

    def analyse(self, people_request: PeopleRequest) -> Generator[str, None, PeopleAnalysis]:
        """Find the people, yielding a status line before each stage, and return their analyses."""
        request = people_request.request
        yield "Loading the models…"
        load_triton_before_opengl()  # MediaPipe creates an OpenGL context when a display exists (see llvm_load_order)
        pipeline = self.engine.pipeline_for(request)
        yield "Finding people…"
        start = time.perf_counter()
        if request.keypoints is not None:  # keypoints from a file: that person, without detection
            found, missed = people_from_keypoints([request.keypoints], request.image.original_size), []
        else:
            found, missed = self.finder_for(pipeline).find(request.image.rgb, list(people_request.boxes) or None)
        found_s, message = time.perf_counter() - start, "; ".join(missed)
        if not found and not people_request.add:  # the single-person run says why, with its message and status
            nobody = yield from self.engine.analyse(request)
            if nobody.result.message == NO_PERSON_MESSAGE:
                nobody.result = nobody.result.replaced(message=NO_PERSON_IN_WINDOW)
            return PeopleAnalysis(people_request, [], message, nobody)
        people = []
        for index, person in enumerate(found):
            steps = self.engine.analyse(replace(request, keypoints=person.keypoints))
            analysis = yield from _prefixed(steps, f"{person_label(index)}: " if len(found) > 1 else "")
            analysis.result = analysis.result.replaced(mask=person.mask)  # that of the detection the keypoints came from
            analysis.timings = {"detect": found_s, **analysis.timings}  # finding everyone: detector and MediaPipe
            people.append(Person(person, analysis))
        return PeopleAnalysis(people_request, people, message)


def _prefixed(steps: Generator[str, None, Analysis], prefix: str) -> Generator[str, None, Analysis]:
    """`steps` with `prefix` before each status line they yield."""
    try:
        while True:
            yield prefix + next(steps)
    except StopIteration as stop:
        return stop.value
