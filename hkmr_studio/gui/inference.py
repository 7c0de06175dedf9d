"""Runs the pipeline for the window off the GUI thread: one run at a time, the newest request waiting behind it.

A new request replaces a waiting one (live frames are dropped, never queued) and, unless it asks otherwise, stops
the running one at its next stage. Results, errors and progress come back as state changes and messages.
A fresh analysis of a photo finds everyone in it (`people.PeopleEngine`); refits, flips and refinements act on the
selected person.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal
from superqt.utils import FunctionWorker, GeneratorWorker

from hkmr_studio.fitting.smplify import warm_up_lbfgs
from hkmr_studio.gui.analysis import Analysis, Engine, Request, explain_error, is_bug
from hkmr_studio.gui.keypoint_edits import KeypointState
from hkmr_studio.gui.people import (
    PeopleAnalysis,
    PeopleEngine,
    PeopleRequest,
    found_already,
    from_left,
    person_label,
    to_select,
)
from hkmr_studio.gui.state import Document, Level, Status, StudioState
from hkmr_studio.gui.workers import SerialWorkers, WorkerError, reporting
from hkmr_studio.pipeline.core import BodyEstimate, PipelineResult
from hkmr_studio.pipeline.detection import Box
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.pipeline.keypoints import Keypoints2D

log = logging.getLogger(__name__)


def settled_status(document: Document) -> Status:
    """The status a document has when nothing runs for it: what its latest analysis found."""
    if document.analysis is None:
        return Status.NEW
    return _status(document.analysis.result)


def _status(result: PipelineResult) -> Status:
    """What a finished run found: a body, a person without a body the app can trust, or no person."""
    if result.found:
        return Status.DONE
    return Status.NOT_RECOVERED if result.refused else Status.NO_PERSON


class InferenceController(QObject):
    """Turns the user's requests into pipeline runs on one worker thread and stores what they produce."""

    analysed = Signal(object)  # the Document whose new analysis was just stored
    idle = Signal()  # nothing runs and nothing waits

    def __init__(self, state: StudioState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._engine = Engine()
        self._people = PeopleEngine(self._engine)
        self._workers = SerialWorkers(self)
        self._running: tuple[Document, GeneratorWorker] | None = None
        self._waiting: tuple[Document, Request | PeopleRequest] | None = None
        self._dropped: GeneratorWorker | None = None  # running, but its result is no longer wanted
        self._running_people = False  # what runs finds people (it is not a refit, flip or refinement of one)
        self._fitting_warmed = False
        self._closed = False
        state.current_changed.connect(self._on_current_changed)
        state.choices.events.connect(self._on_choices_changed)

    @property
    def busy(self) -> bool:
        return self._running is not None

    def analyse(self, document: Document, *, image: LoadedImage | None = None, refine: bool = False,
                stop_running: bool = True, pose: dict[str, np.ndarray] | None = None, video: int = 0,
                keypoints: Keypoints2D | None = None) -> None:
        """Run the pipeline on `image` (default: the document's) for `document`, with its camera's focal length and
        the keypoints the user gave it when there are (else detected ones); refine reuses its analysis's keypoints.
        `pose`: show these camera-frame parameters with `keypoints` instead (a take's or a live frame's body);
        `video`: the image is a frame of live video number `video` (`Request.video`). Otherwise, unless refining,
        everyone in the photo is found and gets a body (the person given by keypoints, when there are)."""
        choices = self._state.choices
        keypoints = keypoints or document.given_keypoints
        if refine and document.analysis is not None:
            keypoints = document.analysis.result.keypoints
        request = Request(image or document.image, choices.model, choices.device, choices.body_path, refine,
                          keypoints, focal_length=document.focal_length, focal_source=document.focal_source,
                          pose=pose, video=video)
        people = pose is None and not video and not refine and document is not self._state.live_document
        self._submit(document, PeopleRequest(request) if people else request, stop_running)

    def add_person(self, document: Document, box: Box) -> None:
        """Find the person in `box` (x, y, w, h pixels of the document's photo), whom detection missed, and add them
        to the document's people, selected."""
        request = Request(document.shown_image, self._state.choices.model, self._state.choices.device,
                          self._state.choices.body_path, focal_length=document.focal_length,
                          focal_source=document.focal_source)
        self._submit(document, PeopleRequest(request, (box,), add=True), stop_running=False)

    def select_person(self, document: Document, index: int) -> None:
        """Show person `index` of `document`; a refit, flip or refinement of the person shown before is dropped
        (their body stays as it was before it), a search for people goes on."""
        if index == document.person or not 0 <= index < len(document.people):
            return
        self._drop(document, keep_people=True)
        self._state.select_person(document, index)
        if not (self._running_people and self._running is not None and self._running[0] is document):
            self._state.update(document, status=_status(document.analysis.result))

    def refit(self, document: Document, base: Analysis, edit: KeypointState, *, changing: bool = False,
              warm_start: BodyEstimate | None = None) -> None:
        """Refit `base`'s body to the edited keypoints in the background, from `warm_start` (a fit of the same
        edits) when given. The latest edit wins: a running job is stopped at its next stage and this refit starts
        when it ends, replacing any refit still waiting. `changing`: a short refit while a keypoint is dragged,
        shown when it ends (no `analysed`, no messages); it lets a running one finish, so the fit follows the
        cursor, and waits in its place for the newest position only."""
        request = replace(base.request, image=base.image, refine=False, keypoints=edit.keypoints, refit_from=base,
                          flip_from=None, pinned=edit.pinned, changing=changing, warm_start=warm_start)
        self._submit(document, request, stop_running=not changing)

    def show_pose(self, document: Document, base: Analysis, pose: dict[str, np.ndarray]) -> None:
        """Show camera-frame parameters `pose` (a hypothesis of the Hypotheses dock) as the body of `base`'s photo,
        with base's keypoints and camera."""
        request = replace(base.request, image=base.image, refine=False, keypoints=base.result.keypoints,
                          refit_from=None, flip_from=None, pose=pose, focal_length=base.result.focal_length)
        self._submit(document, request, stop_running=True)

    def restore(self, document: Document, analysis: Analysis) -> None:
        """Show `analysis` again (made earlier: the unedited body after undo or reset). What runs or waits for
        `document` is dropped, so a refit of an older edit cannot replace it."""
        self._drop(document)
        self._state.update(document, analysis=analysis, status=Status.DONE)

    def _drop(self, document: Document, keep_people: bool = False) -> None:
        """Forget what waits for `document` and stop what runs for it, its result unwanted; `keep_people`: except
        runs that find people."""
        if (self._waiting is not None and self._waiting[0] is document
                and not (keep_people and isinstance(self._waiting[1], PeopleRequest))):
            self._waiting = None
        if self._running is not None and self._running[0] is document and not (keep_people and self._running_people):
            self._dropped = self._running[1]
            self._dropped.quit()

    def _submit(self, document: Document, request: Request | PeopleRequest, stop_running: bool) -> None:
        if self._closed:
            return
        if self._running is None:
            self._start(document, request)
            return
        self._waiting = (document, request)
        if stop_running:
            self._running[1].quit()

    def flip_current(self) -> None:
        """Show the current document's body the other way round (`Pipeline.flip`); again to turn it back."""
        document = self._state.current
        if document is None or document.analysis is None or not document.analysis.result.found:
            self._state.notify(Level.INFO, "Open a photo with a recovered body first; Flip turns that body round.")
            return
        base = document.analysis
        self._submit(document, replace(base.request, image=base.image, refine=False, refit_from=None, flip_from=base),
                     stop_running=True)

    def refine_current(self) -> None:
        document = self._state.current
        if document is None or document.analysis is None or not document.analysis.result.found:
            self._state.notify(Level.INFO, "Open a photo with a recovered body first; refinement starts from it.")
            return
        self.analyse(document, image=document.analysis.image, refine=True)

    def shutdown(self) -> None:
        """Stop the running job, drop the waiting one, release MediaPipe and VTK on their thread, and wait."""
        self._closed = True
        self._waiting = None
        if self._running is not None:
            self._running[1].quit()
        closing = FunctionWorker(self._engine.close)
        closing.errored.connect(lambda exc: log.error("releasing MediaPipe and VTK failed", exc_info=exc))
        self._workers.start(closing)
        self._workers.wait()
        self._state.set_busy(False)

    def _start(self, document: Document, request: Request | PeopleRequest) -> None:
        people = isinstance(request, PeopleRequest)
        worker = GeneratorWorker(reporting(self._people.analyse if people else self._engine.analyse), request)
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(partial(self._on_people if people else self._on_returned, document))
        worker.errored.connect(partial(self._on_errored, document, request.request if people else request))
        worker.finished.connect(partial(self._on_finished, document))
        self._running, self._running_people = (document, worker), people
        self._state.update(document, status=Status.RUNNING)
        self._state.set_busy(True)
        self._workers.start(worker)

    def _is_open(self, document: Document) -> bool:
        return document in self._state.documents or document is self._state.live_document

    def _on_progress(self, text: str) -> None:
        if not self._closed:
            self._state.progress.emit(text)

    def _on_returned(self, document: Document, analysis: Analysis) -> None:
        if self._closed or not self._is_open(document) or self._running[1] is self._dropped:
            return
        result = analysis.result
        if analysis.request.changing:  # a drag's intermediate fit: shown, but not an analysis of its own
            self._state.update(document, analysis=analysis, status=_status(result))
            return
        for text in result.messages:
            self._state.notify(Level.WARNING, text, document.name)
        if not result.found:
            self._state.notify(Level.ERROR if result.refused else Level.WARNING, result.message, document.name)
        self._state.update(document, analysis=analysis, status=_status(result),
                           message="" if result.found else result.message)
        self.analysed.emit(document)

    def _on_people(self, document: Document, found: PeopleAnalysis) -> None:
        """Store the people of a finished people run: all of them (the one where the person shown was, else the
        largest, selected), or, for a box the user drew, the person in it added to those there were (and selected;
        someone found already is selected instead)."""
        if self._closed or not self._is_open(document) or self._running[1] is self._dropped:
            return
        if found.message:
            self._state.notify(Level.WARNING, found.message, document.name)
        if found.nobody is not None:
            self._state.set_people(document, [], 0)
            self._on_returned(document, found.nobody)
            return
        if not found.people:  # nobody in the user's box: the people shown stay
            return
        if found.request.add and (known := found_already(found.people[0], document.people)) is not None:
            self._state.notify(Level.INFO, f"That box holds {person_label(known)}, who was found already.",
                               document.name)
            self.select_person(document, known)
            return
        people = from_left(document.people + found.people) if found.request.add else found.people
        selected = (people.index(found.people[0]) if found.request.add
                    else to_select(people, document.selected_person))
        for text in dict.fromkeys(m for p in found.people for m in p.analysis.result.messages):  # each note once
            self._state.notify(Level.WARNING, text, document.name)
        self._state.set_people(document, people, selected)
        result = document.analysis.result
        if not result.found:
            self._state.notify(Level.ERROR if result.refused else Level.WARNING, result.message, document.name)
        self._state.update(document, status=_status(result), message="" if result.found else result.message)
        self.analysed.emit(document)

    def _on_errored(self, document: Document, request: Request, exc: Exception) -> None:
        if self._closed:
            return
        exc = exc.error if isinstance(exc, WorkerError) else exc
        text = explain_error(exc)
        if is_bug(exc):
            log.error("analysis failed", exc_info=exc)
        else:
            log.warning("analysis failed: %s", text)
        if isinstance(exc, torch.cuda.OutOfMemoryError) and request.device != "cpu":
            self._state.notify(Level.WARNING, text, document.name)
            self._state.update(document, status=settled_status(document))
            self._state.choices.device = "cpu"  # re-runs the current document on the CPU
            return
        self._state.notify(Level.ERROR, text, document.name)
        self._state.update(document, status=Status.FAILED, message=text)

    def _on_finished(self, document: Document) -> None:
        self._running = self._dropped = None
        if self._closed:
            return
        if document.status is Status.RUNNING:  # stopped, or its result came too late to be wanted
            self._state.update(document, status=settled_status(document))
        if self._waiting is not None:
            document, request = self._waiting
            self._waiting = None
            if self._is_open(document):
                self._start(document, request)
                return
        self._state.set_busy(False)
        if not self._fitting_warmed and document.analysis is not None and document.analysis.result.found:
            self._fitting_warmed = True  # the first drag's refit then starts without torch's lazy imports
            warming = FunctionWorker(warm_up_lbfgs)
            warming.errored.connect(lambda exc: log.warning("warming up L-BFGS failed", exc_info=exc))
            self._workers.start(warming)
        self.idle.emit()

    def _on_current_changed(self, document: Document | None) -> None:
        if document is not None and document.status is Status.NEW and document is not self._state.live_document:
            self.analyse(document)

    def _on_choices_changed(self) -> None:
        """Analyses made with other choices are out of date: redo the current one, the others when shown."""
        for document in self._state.documents:
            if document is not self._state.current and document.status is not Status.RUNNING:
                self._state.update(document, status=Status.NEW)
        if self._state.current is not None and self._state.current is not self._state.live_document:
            self.analyse(self._state.current)
