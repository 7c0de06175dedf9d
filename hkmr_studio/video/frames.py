"""Frames of a video in order, each with its time: a video file, a folder of frames or an image sequence (Qt-free).

Every frame comes out as a `VideoFrame`: its number (0..T-1 in reading order), its time in seconds from the first
frame and a `pipeline.images.LoadedImage` (RGB, upright), or, for a frame that could not be decoded, no image and a
message (status "unreadable"; the frames after it still come). Video files are read through OpenCV's FFmpeg backend
with the rotation metadata applied (a phone's portrait clip comes out portrait) and the frames' own timestamps
(variable frame rates keep their real times). Image sequences have no times of their own: frame i is at i / fps.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import cv2
import numpy as np

from hkmr_studio.pipeline.images import ImageLoadError, LoadedImage, image_from_array, load_image

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
#: Frame rate assumed for files that do not state one and for image sequences without --fps.
FALLBACK_FPS = 30.0
#: Reads failing in a row that end a video file: past its last frame OpenCV keeps answering "no frame".
MAX_FAILED_READS = 30
_PRINTF_NUMBER = re.compile(r"%0?(\d*)d")


class FrameSourceError(ValueError):
    """A video, folder or pattern that cannot be read as frames; the message names it and says what to do."""


@dataclass(frozen=True)
class VideoFrame:
    """Frame `index` at `time` seconds from the first frame; `image` None when the frame could not be decoded
    (`message` says why)."""

    index: int
    time: float
    image: LoadedImage | None
    message: str = ""

    @property
    def status(self) -> str:
        return "ok" if self.image is not None else "unreadable"


def is_video_file(path: str | Path) -> bool:
    """Whether `path` names a video file by its suffix (mp4, mov, avi, mkv, m4v, webm)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


class FrameSource:
    """Frames of one video; iterate once, then `close` (or use as a context manager).

    label: what to call the source in messages and the take ("clip.mp4"); fps: its nominal rate (frames/s);
    expected_frames: how many frames it says it has (0 when unknown), for progress bars; notes: what was done to
    the frames (rotation applied), for the user.
    """

    label: str
    fps: float
    expected_frames: int
    notes: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[VideoFrame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the file; safe to call twice."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def open_video_capture(path: Path) -> cv2.VideoCapture:
    """An OpenCV capture of the video file at `path` with rotation metadata applied, or FrameSourceError. Shared by
    takes and the window's Live view."""
    if not path.is_file():
        raise FrameSourceError(f"Video not found: {path}. Check the path, or pick the file again.")
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        capture.release()
        raise FrameSourceError(f"'{path.name}' cannot be opened as a video: it is damaged or in a format OpenCV's "
                               "FFmpeg cannot decode. Convert it to MP4 (H.264) and try again.")
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return capture


def nominal_fps(capture: cv2.VideoCapture) -> float:
    """The capture's stated frame rate, or FALLBACK_FPS when it states none (or nonsense)."""
    fps = capture.get(cv2.CAP_PROP_FPS)
    return float(fps) if np.isfinite(fps) and 0.0 < fps <= 1000.0 else FALLBACK_FPS


class VideoFileFrames(FrameSource):
    """Frames of a video file, times from the frames' timestamps (CAP_PROP_POS_MSEC)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.label = self.path.name
        self._capture = open_video_capture(self.path)
        self.fps = nominal_fps(self._capture)
        self.expected_frames = max(0, int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        rotation = int(self._capture.get(cv2.CAP_PROP_ORIENTATION_META)) % 360
        self.notes = (f"turned {rotation} degrees, as the video's rotation metadata says",) if rotation else ()

    def close(self) -> None:
        self._capture.release()

    def __iter__(self) -> Iterator[VideoFrame]:
        """Frames in order. A frame that fails to decode is reported once a later frame decodes (failures at the
        end are the end of the file), at the time the nominal rate puts it; so is a frame without a timestamp."""
        index, time, failed, first_stamp = 0, -1.0 / self.fps, 0, None
        while failed < MAX_FAILED_READS:
            ok, bgr = self._capture.read()
            if not ok or bgr is None:
                failed += 1
                continue
            for _ in range(failed):
                time += 1.0 / self.fps
                yield VideoFrame(index, time, None, f"frame {index} of '{self.label}' could not be decoded (damaged "
                                                    "or dropped); the take goes on without it")
                index += 1
            failed = 0
            stamp = self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            first_stamp = stamp - index / self.fps if first_stamp is None else first_stamp
            stamped = stamp - first_stamp
            time = stamped if stamped > time else time + 1.0 / self.fps  # a frame without a timestamp of its own
            yield VideoFrame(index, time, image_from_array(bgr, bgr=True))
            index += 1


class ImageSequenceFrames(FrameSource):
    """Frames from image files in order, frame i at i / fps seconds."""

    def __init__(self, paths: list[Path], label: str, fps: float | None = None) -> None:
        if not paths:
            raise FrameSourceError(f"{label}: no frames found (readable: {', '.join(sorted(IMAGE_SUFFIXES))}). "
                                   "Check the folder or the pattern.")
        self.paths, self.label = paths, label
        self.fps = float(fps or FALLBACK_FPS)
        self.expected_frames = len(paths)

    def __iter__(self) -> Iterator[VideoFrame]:
        for index, path in enumerate(self.paths):
            try:
                image = load_image(path)
            except ImageLoadError as exc:
                yield VideoFrame(index, index / self.fps, None, str(exc))
                continue
            yield VideoFrame(index, index / self.fps, image)


def open_frames(source: str | Path, fps: float | None = None) -> FrameSource:
    """The frames of `source`: a video file (by suffix), a folder of image files (sorted by name, numbers in names
    compared as numbers), or a pattern: printf-style ('shots/frame_%04d.png', numbered from the first existing
    file) or a glob ('shots/*.png'). `fps` sets the rate of image sequences (default FALLBACK_FPS); a video file's
    own rate always wins. Raises FrameSourceError naming the source."""
    text = str(source)
    path = Path(text)
    if is_video_file(path):
        return VideoFileFrames(path)
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        return ImageSequenceFrames(sorted(files, key=_natural_key), path.name or text, fps)
    if _PRINTF_NUMBER.search(text):
        return ImageSequenceFrames(_printf_sequence(text), path.name, fps)
    if glob.has_magic(text):
        files = [Path(p) for p in glob.glob(text) if Path(p).suffix.lower() in IMAGE_SUFFIXES]
        return ImageSequenceFrames(sorted(files, key=_natural_key), path.name, fps)
    if path.exists():
        raise FrameSourceError(f"'{path.name}' is not a video (readable: {', '.join(sorted(VIDEO_SUFFIXES))}), a "
                               "folder of frames or a pattern such as 'frame_%04d.png' or 'frames/*.png'")
    raise FrameSourceError(f"Not found: {text}. Give a video file, a folder of frames or a pattern such as "
                           "'frame_%04d.png'.")


def _printf_sequence(pattern: str) -> list[Path]:
    """Files of a printf-style pattern with one number ('frame_%04d.png'): consecutive numbers from the first one
    that exists (0 or 1 and up to 1000 tried) to the first missing one."""
    def name(number: int) -> Path:
        return Path(_PRINTF_NUMBER.sub(lambda m: f"{number:0{m.group(1) or 0}d}", pattern, count=1))

    start = next((n for n in range(1001) if name(n).is_file()), None)
    if start is None:
        return []
    files, number = [], start
    while name(number).is_file():
        files.append(name(number))
        number += 1
    return files


def _natural_key(path: Path) -> list[object]:
    """Sort key that orders 'frame_2' before 'frame_10'."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]
