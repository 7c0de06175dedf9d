"""Exports from the window, written off the GUI thread (FBX goes through Blender and takes seconds). In a photo of
several people the body exported is the selected person's, or everyone's: one file per person and format, named
stem_p0, stem_p1, ... like `hkmr-studio infer`'s; parameter files list the photo's people (`params.people_section`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from superqt.utils import FunctionWorker

from hkmr_studio.body.model import BodyModel, load_body_model
from hkmr_studio.export.files import export_file_name, write_export
from hkmr_studio.export.params import people_section
from hkmr_studio.gui.analysis import explain_error, is_bug
from hkmr_studio.gui.people import person_label
from hkmr_studio.gui.state import Document, Level, StudioState
from hkmr_studio.gui.take_document import TakeDocument
from hkmr_studio.gui.take_export import write_take_file
from hkmr_studio.gui.workers import SerialWorkers
from hkmr_studio.pipeline.core import PipelineResult

log = logging.getLogger(__name__)


@dataclass
class ExportReport:
    """Files written, and a message per file that could not be."""

    written: list[Path] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def write_exports(targets: list[tuple[Path, str]], result: PipelineResult, body: BodyModel,
                  which: str = "best", people: dict[str, Any] | None = None) -> ExportReport:
    """Write each (path, format) of the `which` body ("regression", "fit" or "best"), parameter files listing
    `people` (`people_section`) when given; one failure does not stop the others."""
    return write_each(targets, lambda path, fmt: write_export(path, fmt, result, body, which, people))


def people_of(document: Document, index: int) -> dict[str, Any] | None:
    """The parameter files' `people_section` for person `index` of `document`; None for a document without people."""
    return people_section([p.found for p in document.people], index) if document.people else None


def write_each(targets: list[tuple[Path, str]], write: Callable[[Path, str], Path]) -> ExportReport:
    """write(path, format) for each target; one failure does not stop the others."""
    report = ExportReport()
    for path, fmt in targets:
        try:
            report.written.append(write(path, fmt))
        except Exception as exc:  # any failure is reported per file, and the rest still get written
            log.log(logging.ERROR if is_bug(exc) else logging.WARNING, "export of %s failed", path,
                    exc_info=exc if is_bug(exc) else None)
            report.failures.append(f"{path.name}: {explain_error(exc)}")
    return report


def _write_person(jobs: dict[Path, tuple[PipelineResult, dict[str, Any] | None]], body: BodyModel, path: Path,
                  fmt: str) -> Path:
    """Write the best body of the person whose file `path` is (`jobs`: path -> their result and people section)."""
    result, people = jobs[path]
    return write_export(path, fmt, result, body, "best", people)


class ExportController(QObject):
    """Writes the current body in the chosen formats and reports what happened as messages."""

    finished = Signal(object)  # ExportReport

    def __init__(self, state: StudioState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._workers = SerialWorkers(self)
        self._closed = False

    def export(self, document: Document | None, targets: list[tuple[Path, str]], which: str = "best") -> bool:
        """Start writing the `which` body ("regression", "fit" or "best"); False (with a message) when there is no
        body to export."""
        analysis = document.analysis if document is not None else None
        if analysis is None or not analysis.result.found:
            self._state.notify(Level.INFO, "There is no recovered body to export yet: open a photo of a person first.")
            return False
        body = load_body_model(analysis.request.body_path)  # cached: the one the analysis was made with
        people = people_of(document, document.person)
        self._start(FunctionWorker(write_exports, targets, analysis.result, body, which, people), targets)
        return True

    def export_people(self, document: Document | None, folder: Path, formats: list[str]) -> bool:
        """Start writing every person of `document` with a body in each of `formats` into `folder`, one file per
        person and format (stem_p0.obj, stem_p1.obj, ...); False (with a message) when nobody has a body."""
        people = [(i, p) for i, p in enumerate(document.people) if p.analysis.result.found] if document else []
        if not people:
            self._state.notify(Level.INFO, "There is no recovered body to export yet: open a photo of people first.")
            return False
        targets, jobs = [], {}
        for index, person in people:
            for fmt in formats:
                path = folder / export_file_name(f"{document.stem}_{person_label(index)}", fmt)
                targets.append((path, fmt))
                jobs[path] = (person.analysis.result, people_of(document, index))
        body = load_body_model(document.analysis.request.body_path)  # cached: the one the analyses were made with
        self._start(FunctionWorker(write_each, targets, partial(_write_person, jobs, body)), targets)
        return True

    def export_take(self, document: TakeDocument, targets: list[tuple[Path, str]]) -> None:
        """Start writing the take document's take as each (path, `take_export.TAKE_EXPORTS` kind)."""
        body = load_body_model(self._state.choices.body_path)  # cached: the one the take's bodies belong to
        self._start(FunctionWorker(write_each, targets, partial(write_take_file, document.session, body)), targets)

    def _start(self, worker: FunctionWorker, targets: list[tuple[Path, str]]) -> None:
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        self._workers.start(worker)
        self._state.progress.emit(f"Exporting {', '.join(p.name for p, _ in targets)}…")

    def shutdown(self) -> None:
        self._closed = True
        self._workers.wait()

    def _on_returned(self, report: ExportReport) -> None:
        if self._closed:
            return
        self._state.progress.emit("")
        if report.written:
            folder = report.written[0].parent
            self._state.notify(Level.INFO, f"Saved {', '.join(p.name for p in report.written)} in {folder}.")
        for text in report.failures:
            self._state.notify(Level.ERROR, text)
        self.finished.emit(report)

    def _on_errored(self, exc: Exception) -> None:
        if not self._closed:
            self._state.progress.emit("")
            log.error("export failed", exc_info=exc)
            self._state.notify(Level.ERROR, explain_error(exc))
            self.finished.emit(ExportReport(failures=[explain_error(exc)]))
