"""Live mode: frames from a camera or video file, analysed as fast as the pipeline allows, frozen or recorded on
request. When a video ends, its last frame stays on screen with its body (as an open document); a recording becomes
a take document (`take_document`), smoothed, that the timeline scrubs."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal
from superqt.utils import GeneratorWorker

from hkmr_studio.gui.capture import CaptureError, FrameMailbox, VideoSource, read_frames
from hkmr_studio.gui.inference import InferenceController, settled_status
from hkmr_studio.gui.state import Document, Level, Status, StudioState
from hkmr_studio.gui.take_document import PARAMETERS, ImageTags, TakeDocument, TakeSession, encode_frame
from hkmr_studio.gui.workers import SerialWorkers, WorkerError, reporting
from hkmr_studio.video.frames import FALLBACK_FPS
from hkmr_studio.video.recover import TakeRecorder
from hkmr_studio.video.smoothing import SmoothingSettings, smooth_take

log = logging.getLogger(__name__)


class LiveController(QObject):
    """Starts and stops the frame reader, feeds its newest frame to the inference controller and, while recording,
    adds every analysed frame to a take."""

    stats_changed = Signal(str)
    stopped = Signal()
    recording_changed = Signal(bool)

    def __init__(self, state: StudioState, inference: InferenceController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._inference = inference
        self._workers = SerialWorkers(self)
        self._worker: GeneratorWorker | None = None
        self._stop = threading.Event()
        self._mailbox = FrameMailbox()
        self._source: VideoSource | None = None
        self._kept: Document | None = None  # the frozen or last frame, opened when live video has ended
        self._ended = False  # the video came to its end (not stopped)
        self._finishing = False  # the reader is done; the last frame's run is still going
        self._closed = False
        self._freezes = 0
        self._takes = 0
        self._videos = 0
        self._frame_times: ImageTags[float] = ImageTags()  # each frame's seconds from the source's first frame
        self._recorder: TakeRecorder | None = None
        self._recorded: list[bytes] = []  # JPEG of each recorded frame
        self._recording_start = 0.0  # the first recorded frame's time from the source's first frame (s)
        self.smoothing = SmoothingSettings()
        self.frames_analysed = 0
        inference.analysed.connect(self._on_analysed)

    @property
    def running(self) -> bool:
        return self._worker is not None or self._finishing

    @property
    def recording(self) -> bool:
        return self._recorder is not None

    @property
    def frames_read(self) -> int:
        return self._mailbox.frames_read

    def start(self, source: VideoSource, record: bool = False) -> None:
        if self.running:
            return
        self._source, self._kept, self._ended, self.frames_analysed = source, None, False, 0
        self._videos += 1  # MediaPipe follows this video's frames with a tracker of its own
        self._stop = threading.Event()
        self._mailbox = FrameMailbox()
        self._frame_times = ImageTags()
        worker = GeneratorWorker(reporting(read_frames), source, self._mailbox, self._stop)
        worker.yielded.connect(self._on_frame)
        worker.returned.connect(self._on_ended)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self._workers.start(worker)
        self.stats_changed.emit(f"Live: opening {source.label}…")
        if record:
            self.start_recording()

    def start_recording(self) -> None:
        """Record every frame analysed from now on into a take, opened when live video stops or the video ends."""
        if self._worker is None or self._recorder is not None:
            return
        self._recorder = TakeRecorder(self._source.file.name if self._source.file else self._source.label,
                                      FALLBACK_FPS)  # the source's own rate is set when the take is made
        self._recorded = []
        self.recording_changed.emit(True)

    def stop(self) -> None:
        """Ask the reader to stop; `stopped` follows once it has (and the last frame's run has ended)."""
        if self._worker is not None:
            self._stop.set()
            self._worker.quit()

    def freeze(self) -> None:
        """Keep the frame on screen, with its body, as an open document, and stop."""
        if self._state.live_document is None:
            return
        self._freezes += 1
        self._kept = self._kept_frame(f"Frozen frame {self._freezes} ({self._source_label()})")
        self.stop()

    def shutdown(self) -> None:
        self._closed = True
        self.stop()
        self._workers.wait()

    def _source_label(self) -> str:
        return self._source.label if self._source else "live video"

    def _kept_frame(self, name: str) -> Document:
        """The live document's frame as shown, with its body, as a document of its own."""
        live = self._state.live_document
        return Document(name=name, image=live.shown_image, analysis=live.analysis, status=settled_status(live),
                        message=live.message)

    def _on_frame(self, _: None) -> None:
        taken = self._mailbox.take_timed()
        if taken is None or self._stop.is_set():
            return
        _, frame, time_s = taken
        self._frame_times.tag(frame, time_s)
        document = self._state.live_document
        if document is None:
            document = Document(name="Live", image=frame)
            self._state.start_live(document)
        if document.analysis is None:
            self._state.update(document, image=frame)
        else:
            document.image = frame
        self._inference.analyse(document, image=frame, stop_running=False, video=self._videos)
        self._report()

    def _on_analysed(self, document: Document) -> None:
        if document is not self._state.live_document:
            return
        self.frames_analysed += 1
        self._report()
        time_s = self._frame_times.get(document.analysis.image)
        if self._recorder is not None and time_s is not None:
            self._record(document, time_s)

    def _record(self, document: Document, time_s: float) -> None:
        """Add the analysed frame at `time_s` to the take (times from the first recorded frame)."""
        if self._recorder.frame_count == 0:
            self._recording_start = time_s
        self._recorder.add(time_s - self._recording_start, document.analysis.result)
        self._recorded.append(encode_frame(document.analysis.image))

    def _report(self) -> None:
        read, analysed = self._mailbox.frames_read, self.frames_analysed
        text = f"Live: {read} frames, {analysed} analysed, {max(0, read - analysed)} skipped"
        if self._recorder is not None:
            text += f" · recording: {self._recorder.frame_count} frames"
        self.stats_changed.emit(text)

    def _on_ended(self, count: int) -> None:
        if not self._stop.is_set() and not self._closed:
            self._ended = True
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
        if self._inference.busy and self._state.live_document is not None:
            self._finishing = True  # the last frame's run: its body is the one kept or recorded
            self._inference.idle.connect(self._finish)
            return
        self._finish()

    def _finish(self) -> None:
        """Live video is over: open what it leaves (a take, a frozen or the last frame), or go back to the photo."""
        if self._finishing:
            self._inference.idle.disconnect(self._finish)
            self._finishing = False
        if self._closed:
            return
        take = self._take_document() if self._recorder is not None else None
        if take is None and self._kept is None and self._ended and self._state.live_document is not None:
            self._kept = self._kept_frame(f"Last frame of {self._source_label()}")
        self._state.end_live()
        self._state.add_documents([d for d in (take, self._kept) if d is not None])  # the take shown first
        kept = self._kept
        if kept is not None and kept.status is Status.NEW:
            self._inference.analyse(kept)
        elif kept is not None and kept.analysis is not None and kept.analysis.result.found:
            self._draw_overlay(kept)
        self.stats_changed.emit("")
        self.stopped.emit()

    def _draw_overlay(self, document: Document) -> None:
        """Give a kept live frame the mesh overlay live frames go without: its body posed again, drawn."""
        result = document.analysis.result
        pose = {name: getattr(result.best, name) for name in PARAMETERS}
        self._inference.analyse(document, image=result.image, pose=pose, keypoints=result.keypoints)

    def _take_document(self) -> TakeDocument | None:
        """The recording as a smoothed take document showing its last frame; None (with a message) when no frame
        was recorded."""
        recorder, frames = self._recorder, self._recorded
        self._recorder, self._recorded = None, []
        self.recording_changed.emit(False)
        if recorder.frame_count == 0:
            self._state.notify(Level.WARNING, f"Nothing was recorded from {self._source_label()}: no frame was "
                                              "analysed. Record for longer, or check the camera or video.")
            return None
        recorder.fps = self._mailbox.fps
        take = smooth_take(recorder.take(), self.smoothing)
        self._takes += 1
        session = TakeSession(take, frames, self.smoothing, index=take.frame_count - 1)
        live = self._state.live_document  # shows the last recorded frame, with its body, until the take's is posed
        return TakeDocument(name=f"Take {self._takes} ({self._source_label()}, {take.frame_count} frames)",
                            image=live.shown_image, analysis=live.analysis, status=settled_status(live),
                            focal_length=take.focal_length, focal_source="given", session=session)
