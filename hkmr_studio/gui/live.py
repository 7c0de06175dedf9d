"""Live mode: frames from a camera or video file, analysed as fast as the pipeline allows, frozen on request."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal
from superqt.utils import GeneratorWorker

from hkmr_studio.gui.capture import CaptureError, FrameMailbox, VideoSource, read_frames
from hkmr_studio.gui.inference import InferenceController, settled_status
from hkmr_studio.gui.state import Document, Level, Status, StudioState
from hkmr_studio.gui.workers import SerialWorkers, WorkerError, reporting

log = logging.getLogger(__name__)


class LiveController(QObject):
    """Starts and stops the frame reader and feeds its newest frame to the inference controller."""

    stats_changed = Signal(str)
    stopped = Signal()

    def __init__(self, state: StudioState, inference: InferenceController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._inference = inference
        self._workers = SerialWorkers(self)
        self._worker: GeneratorWorker | None = None
        self._stop = threading.Event()
        self._mailbox = FrameMailbox()
        self._source: VideoSource | None = None
        self._frozen: Document | None = None
        self._closed = False
        self._freezes = 0
        self.frames_analysed = 0
        inference.analysed.connect(self._on_analysed)

    @property
    def running(self) -> bool:
        return self._worker is not None

    @property
    def frames_read(self) -> int:
        return self._mailbox.frames_read

    def start(self, source: VideoSource) -> None:
        if self._worker is not None:
            return
        self._source, self._frozen, self.frames_analysed = source, None, 0
        self._stop = threading.Event()
        self._mailbox = FrameMailbox()
        worker = GeneratorWorker(reporting(read_frames), source, self._mailbox, self._stop)
        worker.yielded.connect(self._on_frame)
        worker.returned.connect(self._on_ended)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self._workers.start(worker)
        self.stats_changed.emit(f"Live: opening {source.label}…")

    def stop(self) -> None:
        """Ask the reader to stop; `stopped` follows once it has."""
        if self._worker is not None:
            self._stop.set()
            self._worker.quit()

    def freeze(self) -> None:
        """Keep the frame on screen, with its body, as an open document, and stop."""
        live = self._state.live_document
        if live is None:
            return
        self._freezes += 1
        name = f"Frozen frame {self._freezes} ({self._source.label if self._source else 'live video'})"
        self._frozen = Document(name=name, image=live.shown_image, analysis=live.analysis,
                                status=settled_status(live), message=live.message)
        self.stop()

    def shutdown(self) -> None:
        self._closed = True
        self.stop()
        self._workers.wait()

    def _on_frame(self, _: None) -> None:
        taken = self._mailbox.take()
        if taken is None or self._stop.is_set():
            return
        _, frame = taken
        document = self._state.live_document
        if document is None:
            document = Document(name="Live", image=frame)
            self._state.start_live(document)
        if document.analysis is None:
            self._state.update(document, image=frame)
        else:
            document.image = frame
        self._inference.analyse(document, image=frame, stop_running=False)
        self._report()

    def _on_analysed(self, document: Document) -> None:
        if document is self._state.live_document:
            self.frames_analysed += 1
            self._report()

    def _report(self) -> None:
        read, analysed = self._mailbox.frames_read, self.frames_analysed
        self.stats_changed.emit(f"Live: {read} frames, {analysed} analysed, {max(0, read - analysed)} skipped")

    def _on_ended(self, count: int) -> None:
        if not self._stop.is_set() and not self._closed:
            self._state.notify(Level.INFO, f"The video ended after {count} frames.")

    def _on_errored(self, exc: Exception) -> None:
        if self._closed:
            return
        exc = exc.error if isinstance(exc, WorkerError) else exc
        if isinstance(exc, CaptureError):
            self._state.notify(Level.ERROR, str(exc))
        else:
            log.error("live video failed", exc_info=exc)
            self._state.notify(Level.ERROR, f"Live video stopped: {type(exc).__name__}: {exc}")

    def _on_finished(self) -> None:
        self._worker = None
        if self._closed:
            return
        self._state.end_live()
        if self._frozen is not None:
            self._state.add_documents([self._frozen])
            if self._frozen.status is Status.NEW:
                self._inference.analyse(self._frozen)
        self.stats_changed.emit("")
        self.stopped.emit()
