"""The body in every frame of a video: the pipeline run frame by frame into a `Take` (Qt-free).

`TakeRecorder` builds a take one frame at a time from pipeline results (the CLI and the window's Live recording
both use it); `recover_take` runs a whole `FrameSource` through the pipeline with MediaPipe in tracking mode
(`VideoPoseDetector`: the person detector only when tracking is lost). Ctrl-C stops it between frames and what
finished is still a complete take.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import torch

from hkmr_studio.pipeline.core import Pipeline, PipelineResult
from hkmr_studio.pipeline.detection import Detection, VideoPoseDetector
from hkmr_studio.pipeline.keypoints import NUM_LANDMARKS
from hkmr_studio.video.frames import FrameSource, VideoFrame
from hkmr_studio.video.take import Take, TakeTrack

#: Called after each frame with (frames done, frames expected or 0 when unknown).
Progress = Callable[[int, int], None]
T = TypeVar("T")


class TakeRecorder:
    """Collects frames in time order into a Take of one person.

    source: what is recorded ("clip.mp4", "camera 0"); fps: its nominal rate (frames/s); person_id: whose take it
    is in a video of several people. The image size and focal length are those of the first frame given a result; a
    later frame of another size is recorded as unreadable.
    """

    def __init__(self, source: str, fps: float, person_id: int = 0) -> None:
        self.source, self.fps, self.person_id = source, float(fps), person_id
        self.image_size: tuple[int, int] | None = None
        self.focal_length = 0.0
        self._frames: list[_RecordedFrame] = []

    @property
    def frame_count(self) -> int:
        return len(self._frames)

    def add(self, time: float, result: PipelineResult) -> str:
        """Record the frame at `time` (seconds from the first frame) with its pipeline result; returns its status
        (ok, no_person, refused, or unreadable for a frame whose size differs from the take's)."""
        size = result.image.original_size
        if self.image_size is None:
            self.image_size, self.focal_length = size, result.focal_length
        elif size != self.image_size:
            return self.add_unreadable(time, f"the frame is {size[0]} x {size[1]} pixels, the take's frames "
                                             f"{self.image_size[0]} x {self.image_size[1]}; it was left out")
        body = result.best
        if not result.found or body is None:
            return self._append(time, "refused" if result.refused else "no_person", result.message)
        keypoints = result.keypoints
        params = {name: np.asarray(getattr(body, name), dtype=np.float64)
                  for name in ("global_orient", "body_pose", "betas", "transl")}
        return self._append(time, "ok", "", keypoints.xy, keypoints.visibility, params)

    def add_unreadable(self, time: float, message: str) -> str:
        """Record a frame that could not be decoded (no body), with `message` for the user."""
        return self._append(time, "unreadable", message)

    def add_absent(self, time: float, message: str) -> str:
        """Record a frame in which this take's person was not seen (no_person), with `message` for the user: in a
        take of one of several people, a frame where the others were."""
        return self._append(time, "no_person", message)

    def _append(self, time: float, status: str, message: str, keypoints: np.ndarray | None = None,
                visibility: np.ndarray | None = None, params: dict[str, np.ndarray] | None = None) -> str:
        if self._frames and not time > self._frames[-1].time:
            raise ValueError(f"TakeRecorder: frame time {time} s is not after the previous frame's "
                             f"{self._frames[-1].time} s")
        self._frames.append(_RecordedFrame(
            float(time), status, message, np.full((NUM_LANDMARKS, 2), np.nan) if keypoints is None else keypoints,
            np.full(NUM_LANDMARKS, np.nan) if visibility is None else visibility, params))
        return status

    def take(self) -> Take:
        """The take of the frames recorded so far (raw: not smoothed)."""
        frames = self._frames
        raw = TakeTrack.empty(len(frames))
        for index, frame in enumerate(frames):
            for name, value in (frame.params or {}).items():
                getattr(raw, name)[index] = value  # filled in place: with_frame would copy the track every frame
        return Take(source=self.source, image_size=self.image_size or (0, 0), focal_length=self.focal_length,
                    fps=self.fps, times=np.array([f.time for f in frames], dtype=np.float64),
                    status=tuple(f.status for f in frames), messages=tuple(f.message for f in frames),
                    keypoints=np.array([f.keypoints for f in frames], dtype=np.float64).reshape(-1, NUM_LANDMARKS, 2),
                    visibility=np.array([f.visibility for f in frames], dtype=np.float64).reshape(-1, NUM_LANDMARKS),
                    raw=raw, person_id=self.person_id)


@dataclass(frozen=True)
class _RecordedFrame:
    """One frame as recorded: time (s), status, message, keypoints (33, 2) px and visibility (33,) (NaN without a
    body), and the body's parameters (None without one)."""

    time: float
    status: str
    message: str
    keypoints: np.ndarray
    visibility: np.ndarray
    params: dict[str, np.ndarray] | None


@dataclass
class RecoveredTake:
    """What `recover_take` made: the take (raw), whether Ctrl-C stopped it early, and seconds spent per pipeline
    stage (detect, regress, mesh) and in all (`seconds`, reading frames included)."""

    take: Take
    interrupted: bool = False
    stage_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def recover_take(frames: FrameSource, pipeline: Pipeline, focal_length: float | None = None,
                 progress: Progress | None = None) -> RecoveredTake:
    """Run every frame of `frames` through `pipeline` with one `VideoPoseDetector` (tracking across frames), no
    facing check or flip and no mesh per frame (a take holds parameters; joints alone pose in 0.4 ms, the mesh in 13). `focal_length` in pixels (None: the frame diagonal). Ctrl-C (KeyboardInterrupt)
    ends the loop between frames: the frames done form the take and `interrupted` is set.

    Speed on 2 cores: MediaPipe finds the person in the next frame (a worker thread) while the network and the body
    model work on this one, and torch runs on one thread meanwhile (two torch threads beside MediaPipe's made
    regression 25-50 times slower on a busy 2-core machine)."""
    recorder = TakeRecorder(frames.label, frames.fps)
    stages: dict[str, float] = {}
    start = clock.perf_counter()
    with VideoPoseDetector() as detector, ThreadPoolExecutor(1, "video-detect") as pool, torch_threads(1):
        def finish(frame: VideoFrame, detected: Future[_Timed] | None) -> None:
            if detected is None:
                recorder.add_unreadable(frame.time, frame.message)
            else:
                timed = detected.result()
                result = pipeline.run(frame.image, focal_length=focal_length, detector=timed, facing=False,
                                      mesh=False)
                recorder.add(frame.time, result)
                add_timings(stages, {**result.timings, "detect": timed.seconds})
            if progress is not None:
                progress(recorder.frame_count, frames.expected_frames)

        interrupted = each_frame_ahead(frames, pool, lambda frame: _Timed.measure(detector, frame.image.rgb), finish)
    return RecoveredTake(recorder.take(), interrupted, stages, clock.perf_counter() - start)


def add_timings(stages: dict[str, float], timings: Mapping[str, float]) -> None:
    """Add a result's seconds per stage to the totals in `stages`."""
    for stage, seconds in timings.items():
        stages[stage] = stages.get(stage, 0.0) + seconds


def each_frame_ahead(frames: FrameSource, pool: ThreadPoolExecutor, ahead: Callable[[VideoFrame], T],
                     finish: Callable[[VideoFrame, Future[T] | None], None]) -> bool:
    """Run `ahead` on each decoded frame in `pool` (one worker: in order) while `finish` takes the frame before with
    its future (None for a frame that could not be decoded), so that finding people and recovering bodies overlap.
    Returns whether Ctrl-C (KeyboardInterrupt) ended it between frames."""
    pending: tuple[VideoFrame, Future[T] | None] | None = None
    try:
        for frame in frames:
            submitted = None if frame.image is None else pool.submit(ahead, frame)
            if pending is not None:
                finish(*pending)
            pending = (frame, submitted)
        if pending is not None:
            finish(*pending)
    except KeyboardInterrupt:
        return True
    return False


@dataclass(frozen=True)
class _Timed:
    """A detection made ahead, with the seconds it took; stands in for the detector in `Pipeline.run`."""

    detection: Detection
    seconds: float

    @classmethod
    def measure(cls, detector: VideoPoseDetector, rgb: np.ndarray) -> _Timed:
        start = clock.perf_counter()
        detection = detector.detect(rgb)
        return cls(detection, clock.perf_counter() - start)

    def detect(self, rgb: np.ndarray, box: object = None) -> Detection:
        """The detection made ahead (`rgb` is the frame it was made on)."""
        return self.detection


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """torch's intra-op threads set to `count` inside the block."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
