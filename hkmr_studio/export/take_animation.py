"""A take's track as an animated rig, keyed for export (see export/animation.py for the formats).

Frames without a body: with missing="hold" they show the last body before them (the first body for frames before
any), and a warning says how many were held; with missing="skip" they get no key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from hkmr_studio.body.model import BodyModel
from hkmr_studio.export.rig import Rig, make_rig
from hkmr_studio.video.take import Take

log = logging.getLogger(__name__)

MISSING_POLICIES = ("hold", "skip")


class TakeExportError(ValueError):
    """A take cannot be exported as asked; the message says what to change."""


@dataclass(frozen=True)
class TakeAnimation:
    """A take's track as an animated rig (Y-up view frame, metres).

    rig: local_rotmats (K, 24, 3, 3) and translation (K, 3) per key; times (K,) seconds of the keys (the take's
    frame times); frames (K,) the take frame each key shows; held: take frames without a body that hold another
    frame's body; fps: the take's nominal rate (frames/s).
    """

    rig: Rig
    times: np.ndarray
    frames: np.ndarray
    held: tuple[int, ...]
    fps: float

    @property
    def key_count(self) -> int:
        return len(self.times)

    def uniform_keys(self) -> np.ndarray:
        """(N,) key indices sampled at a constant 1/fps from the first key's time to the last one's, each the
        nearest key: what fixed-rate formats (BVH) store. A take read at a constant rate gives every key once."""
        if self.key_count == 1:
            return np.zeros(1, dtype=int)
        grid = self.times[0] + np.arange(round((self.times[-1] - self.times[0]) * self.fps) + 1) / self.fps
        right = np.clip(np.searchsorted(self.times, grid), 1, self.key_count - 1)
        left = right - 1
        return np.where(grid - self.times[left] <= self.times[right] - grid, left, right)


def frames_with_body(take: Take) -> np.ndarray:
    """(T,) bool: frames whose status is ok and whose shown parameters are all finite."""
    track = take.track
    finite = np.isfinite(np.concatenate([track.global_orient, track.body_pose, track.transl], axis=1)).all(axis=1)
    return take.found & finite


def take_animation(take: Take, body: BodyModel, missing: str = "hold") -> TakeAnimation:
    """The take's track as a rig of one shape, keyed per `missing` (see the module docstring)."""
    if missing not in MISSING_POLICIES:
        raise TakeExportError(f"missing={missing!r}: use one of {', '.join(MISSING_POLICIES)}")
    if not (np.isfinite(take.fps) and take.fps > 0):
        raise TakeExportError(f"the take's frame rate is {take.fps}: an animation needs a positive frame rate")
    with_body = frames_with_body(take)
    found = np.flatnonzero(with_body)
    if len(found) == 0:
        raise TakeExportError(f"{take.source}: no frame of the take has a body, so there is nothing to animate")
    if missing == "skip":
        keyed, frames, held = found, found, ()
    else:
        keyed = np.arange(take.frame_count)
        # Each frame shows the last frame with a body at or before it; frames before the first body show the first.
        last = np.maximum.accumulate(np.where(with_body, np.arange(take.frame_count), -1))
        frames = np.where(last >= 0, last, found[0])
        held = tuple(int(i) for i in np.flatnonzero(~with_body))
        if held:
            log.warning("%s: %d of %d frames have no body and hold the last body before them (frames %s)",
                        take.source, len(held), take.frame_count, _frame_list(held))
    track = take.track
    rig = make_rig(body, track.global_orient[frames], track.body_pose[frames], take.shape, track.transl[frames])
    return TakeAnimation(rig, take.times[keyed], frames, held, float(take.fps))


def _frame_list(frames: tuple[int, ...], shown: int = 8) -> str:
    text = ", ".join(str(i) for i in frames[:shown])
    return text + (f" and {len(frames) - shown} more" if len(frames) > shown else "")
