"""Frames from a camera or a video file through one OpenCV VideoCapture path (Qt-free).

The reader runs in its own thread and keeps only the newest frame in a `FrameMailbox`: when the window is slower
than the source, older frames are dropped there, never queued. Video files play at their own frame rate, like a
camera would deliver them.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import cv2

from hkmr_studio.pipeline.images import LoadedImage, image_from_array

#: Frame rate assumed for files that do not state one.
FALLBACK_FPS = 30.0


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
        self._frame: tuple[int, LoadedImage] | None = None
        self.frames_read = 0
        self.frames_dropped = 0

    def put(self, index: int, frame: LoadedImage) -> bool:
        """Store a frame, dropping an untaken older one; True when the mailbox was empty (the reader should notify)."""
        with self._lock:
            self.frames_read += 1
            was_empty = self._frame is None
            self.frames_dropped += 0 if was_empty else 1
            self._frame = (index, frame)
            return was_empty

    def take(self) -> tuple[int, LoadedImage] | None:
        """The newest (frame number, frame), or None when nothing arrived since the last take."""
        with self._lock:
            frame, self._frame = self._frame, None
            return frame


def read_frames(source: VideoSource, mailbox: FrameMailbox, stop: threading.Event) -> Generator[None, None, int]:
    """Read frames into `mailbox` until `stop` is set or the video ends; yield when a frame awaits the reader's
    owner; return the number of frames read. Raises CaptureError when the source cannot be opened."""
    capture = cv2.VideoCapture(str(source.file) if source.file is not None else source.camera)
    try:
        if not capture.isOpened():
            hint = ("check that the file exists and is a video OpenCV can decode (MP4, AVI, MKV)" if source.file
                    else "check that it is connected and not in use by another program, or pick another camera")
            raise CaptureError(f"Could not open {source.label}: {hint}.")
        period = 1.0 / (capture.get(cv2.CAP_PROP_FPS) or FALLBACK_FPS) if source.file is not None else 0.0
        next_due = time.perf_counter()
        count = 0
        while not stop.is_set():
            ok, bgr = capture.read()
            if not ok:
                break
            count += 1
            if mailbox.put(count, image_from_array(bgr, bgr=True)):
                yield
            next_due += period
            stop.wait(max(0.0, next_due - time.perf_counter()))
        return count
    finally:
        capture.release()
