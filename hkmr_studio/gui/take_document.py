"""A recorded take open in the window (Qt-free): the take, a JPEG copy of each of its frames, and how to show,
correct and smooth one frame.

The frames are kept as JPEG (quality JPEG_QUALITY, full resolution: the keypoints and bodies are in its pixels), about
40-80 kB for a 640x480 frame instead of 0.9 MB of pixels, so a minute of Live recording holds in tens of megabytes.
"""

from __future__ import annotations

import dataclasses
import weakref
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import cv2
import numpy as np

from hkmr_studio.gui.state import Document
from hkmr_studio.pipeline.core import BodyEstimate
from hkmr_studio.pipeline.images import LoadedImage, image_from_array
from hkmr_studio.pipeline.keypoints import Keypoints2D
from hkmr_studio.video.smoothing import SmoothingSettings, resmooth_around, smooth_take
from hkmr_studio.video.take import Take

T = TypeVar("T")
JPEG_QUALITY = 90
PARAMETERS = ("global_orient", "body_pose", "betas", "transl")


def encode_frame(image: LoadedImage) -> bytes:
    """The frame's (H, W, 3) RGB pixels as JPEG bytes."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image.rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY,
                                                                                  JPEG_QUALITY])
    if not ok:
        raise ValueError("the frame could not be encoded as JPEG")
    return data.tobytes()


def decode_frame(data: bytes) -> LoadedImage:
    """JPEG bytes from `encode_frame` -> the frame (RGB)."""
    return image_from_array(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), bgr=True)


class ImageTags(Generic[T]):
    """A value attached to each of some images (frames) for as long as the image lives: LoadedImage compares by
    value, so it cannot be a dict key, and frames dropped on the way to a run must not hold on to their values."""

    def __init__(self) -> None:
        self._tags: dict[int, tuple[weakref.ref, T]] = {}

    def tag(self, image: LoadedImage, value: T) -> None:
        self._tags = {key: kept for key, kept in self._tags.items() if kept[0]() is not None}
        self._tags[id(image)] = (weakref.ref(image), value)

    def __len__(self) -> int:
        """How many values are held (those of frames gone are let go at the next `tag`)."""
        return len(self._tags)

    def get(self, image: LoadedImage) -> T | None:
        kept = self._tags.get(id(image))
        return kept[1] if kept is not None and kept[0]() is image else None


@dataclass(eq=False)
class TakeSession:
    """A take and its frames' JPEGs (one per take frame), smoothed with `settings`; `index` is the frame shown,
    `edited` the frames the user corrected."""

    take: Take
    frames: list[bytes]
    settings: SmoothingSettings
    index: int = 0
    edited: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        if len(self.frames) != self.take.frame_count:
            raise ValueError(f"TakeSession: {len(self.frames)} frames for a take of {self.take.frame_count}")

    @property
    def frame_count(self) -> int:
        return self.take.frame_count

    def image(self, index: int) -> LoadedImage:
        return decode_frame(self.frames[index])

    def pose(self, index: int) -> dict[str, np.ndarray] | None:
        """Frame `index`'s body as shown (the smoothed track's when smoothed): camera-frame parameters, or None."""
        if not self.take.found[index]:
            return None
        track = self.take.track
        return {name: getattr(track, name)[index] for name in PARAMETERS}

    def keypoints(self, index: int) -> Keypoints2D | None:
        """Frame `index`'s detected (or corrected) keypoints, pixels of its frame; None without a body."""
        if not self.take.found[index]:
            return None
        xy, visibility = self.take.keypoints[index], self.take.visibility[index]
        present = np.isfinite(xy).all(axis=1)
        return Keypoints2D(np.nan_to_num(xy), np.nan_to_num(visibility) * present, present, "user")

    def correct(self, index: int, body: BodyEstimate, keypoints: Keypoints2D) -> None:
        """Frame `index` becomes `body` fitted to the user's `keypoints`, and the smoothing is redone around it."""
        take = self.take
        raw = take.raw.with_frame(index, **{name: np.asarray(getattr(body, name), np.float64) for name in PARAMETERS})
        key_xy, visibility = take.keypoints.copy(), take.visibility.copy()
        key_xy[index] = np.where(keypoints.present[:, None], keypoints.xy, np.nan)
        visibility[index] = keypoints.visibility
        status = tuple("ok" if i == index else s for i, s in enumerate(take.status))
        messages = tuple("" if i == index else m for i, m in enumerate(take.messages))
        edited = dataclasses.replace(take, raw=raw, keypoints=key_xy, visibility=visibility, status=status,
                                     messages=messages)
        self.take = resmooth_around(edited, index, self.settings)
        self.edited.add(index)

    def resmooth(self, settings: SmoothingSettings) -> None:
        """Smooth the whole take again with `settings` (a new strength)."""
        self.settings = settings
        self.take = smooth_take(self.take, settings)


@dataclass(eq=False)
class TakeDocument(Document):
    """A document showing one frame of a take at a time; `session` holds the take."""

    session: TakeSession | None = None
