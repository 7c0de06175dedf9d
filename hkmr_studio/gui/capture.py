"""Frames from a camera or a video file (Qt-free). Video files are read by `video.frames.VideoFileFrames`, the reader
takes use too (rotation metadata applied, the frames' own timestamps); cameras through an OpenCV VideoCapture.

The reader runs in its own thread and keeps only the newest frame in a `FrameMailbox`: when the window is slower
than the source, older frames are dropped there, never queued. Video files play at their own frame rate, like a
camera would deliver them.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2

from hkmr_studio.pipeline.images import LoadedImage, image_from_array
from hkmr_studio.video.frames import FALLBACK_FPS, FrameSource, FrameSourceError, VideoFileFrames, VideoFrame


class CaptureError(RuntimeError):
    """The camera or video could not be opened; the message says what to try."""


@dataclass(frozen=True)
class VideoSource:
    """A camera (its index) or a video file."""

    camera: int | None = None
    file: Path | None = None

    @property
    def label(self) -> str:
        return f"camera {self.camera}" if self.file is None else f"'{self.file.name}'"


def available_cameras() -> list[int]:
    """Camera indices worth offering: the /dev/video* devices on Linux, camera 0 elsewhere."""
    if sys.platform.startswith("linux"):
        return sorted(int(p.name[5:]) for p in Path("/dev").glob("video*") if p.name[5:].isdigit())
    return [0]


class FrameMailbox:
    """Holds the newest frame only. put() from the reader thread, take() from the GUI thread; counts drops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: tuple[int, LoadedImage, float] | None = None
        self.frames_read = 0
        self.frames_dropped = 0
        self.fps = FALLBACK_FPS  # the source's nominal rate (frames/s), set by the reader once it is open

    def put(self, index: int, frame: LoadedImage, time_s: float = 0.0) -> bool:
        """Store frame `index` read at `time_s` seconds from the source's first frame, dropping an untaken older one;
        True when the mailbox was empty (the reader should notify)."""
        with self._lock:
            self.frames_read += 1
            was_empty = self._frame is None
            self.frames_dropped += 0 if was_empty else 1
            self._frame = (index, frame, time_s)
            return was_empty

    def take_timed(self) -> tuple[int, LoadedImage, float] | None:
        """The newest (frame number, frame, time in seconds), or None when nothing arrived since the last take."""
        with self._lock:
            frame, self._frame = self._frame, None
            return frame

    def take(self) -> tuple[int, LoadedImage] | None:
        """The newest (frame number, frame), or None when nothing arrived since the last take."""
        taken = self.take_timed()
        return None if taken is None else taken[:2]


class CameraFrames(FrameSource):
    """Frames of a camera, timed by the clock from the first frame on (a camera has no timestamps of its own)."""

    def __init__(self, camera: int) -> None:
        self.label, self.fps, self.expected_frames = f"camera {camera}", FALLBACK_FPS, 0
        self._capture = cv2.VideoCapture(camera)
        if not self._capture.isOpened():
            self._capture.release()
            raise CaptureError(f"Could not open camera {camera}: check that it is connected and not in use by "
                               "another program, or pick another camera.")

    def close(self) -> None:
        self._capture.release()

    def __iter__(self) -> Iterator[VideoFrame]:
        start = None
        index = 0
        while True:
            ok, bgr = self._capture.read()
            if not ok:
                return
            now = time.perf_counter()
            start = now if start is None else start
            yield VideoFrame(index, now - start, image_from_array(bgr, bgr=True))
            index += 1


def open_source(source: VideoSource) -> FrameSource:
    """The frames of `source`; CaptureError (saying what to check) when it cannot be opened."""
    if source.file is None:
        return CameraFrames(source.camera or 0)
    try:
        return VideoFileFrames(source.file)
    except FrameSourceError as exc:
        raise CaptureError(f"Could not open {source.label}: {exc}") from None


def read_frames(source: VideoSource, mailbox: FrameMailbox, stop: threading.Event) -> Generator[None, None, int]:
    """Read frames into `mailbox` until `stop` is set or the video ends; yield when a frame awaits the reader's
    owner; return the number of frames read. A frame of a file that cannot be decoded is skipped. Raises
    CaptureError when the source cannot be opened."""
    with open_source(source) as frames:
        mailbox.fps = frames.fps
        period = 1.0 / frames.fps if source.file is not None else 0.0
        next_due = time.perf_counter()
        count = 0
        for frame in frames:
            if stop.is_set():
                break
            if frame.image is None:
                continue
            count += 1
            if mailbox.put(count, frame.image, frame.time):
                yield
            next_due += period
            stop.wait(max(0.0, next_due - time.perf_counter()))
        return count
