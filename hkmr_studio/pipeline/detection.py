"""Finding the person: MediaPipe Pose (offline, model complexity 1) gives 33 landmarks, world landmarks and a mask.

All outputs are in pixels of the original image (x right, y down, origin top-left), whatever was downscaled or
cropped for MediaPipe. MediaPipe tracks one person: for group photos pass a box around the one wanted.
MediaPipe also places landmarks it cannot see (below the image border, behind the body) with low visibility; they are
kept, and code downstream uses `Keypoints2D.visible()` (threshold `keypoints.VISIBILITY_THRESHOLD`).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar, Self

import cv2
import numpy as np
import torch

from hkmr_studio.geometry.crops import CROP_MARGIN, crop_boxes_from_points
from hkmr_studio.llvm_load_order import load_triton_before_opengl
from hkmr_studio.pipeline.keypoints import NUM_LANDMARKS, Keypoints2D

#: Images (or box crops) whose longest side exceeds this are downscaled for MediaPipe; results are mapped back.
MAX_DETECTION_SIDE = 1280
#: A user's box is widened by this fraction of its width and height on each side: MediaPipe needs some context.
BOX_PADDING = 0.1
#: Mask values above this count as the person when deriving the person box.
MASK_THRESHOLD = 0.5
NO_PERSON_MESSAGE = (
    "No person found in the image. Try a photo where the whole person is visible, or draw a box around them."
)

#: (x, y, width, height) in original-image pixels.
Box = tuple[float, float, float, float]


@dataclass(eq=False)
class Detection:
    """What detection found in one image.

    found: whether a person was found; message: for the user, empty when found.
    keypoints: 33 landmarks (source "mediapipe", with world landmarks). mask: (H, W) float32 in [0, 1] at the
    original size, the person's segmentation. box: the person's extent from visible landmarks and mask.
    """

    found: bool
    message: str = ""
    keypoints: Keypoints2D | None = None
    mask: np.ndarray | None = None
    box: Box | None = None


class PoseDetector:
    """MediaPipe Pose loaded once and reused; use as a context manager or call close().

    Thread safety: calls are serialised by a lock, so one detector may be shared; for parallel detection create one
    detector per thread.
    """

    #: MediaPipe Pose options: each photo on its own (the person detector runs every time), with the person's mask.
    _MODE: ClassVar[dict[str, bool]] = {"static_image_mode": True, "enable_segmentation": True}

    def __init__(self) -> None:
        load_triton_before_opengl()  # MediaPipe's GPU-less graph still loads Mesa's LLVM under a display
        import mediapipe  # imported here: heavy (jax, matplotlib), and only the detector needs it

        # Complexity 0 and 2 download their models at run time; 1 ships inside the mediapipe 0.10.21 wheel.
        self._pose = mediapipe.solutions.pose.Pose(model_complexity=1, **self._MODE)
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release MediaPipe's graph; detect() raises afterwards. Safe to call twice."""
        with self._lock:
            if not self._closed:
                self._pose.close()
                self._closed = True

    def detect(self, image: np.ndarray, box: Box | None = None) -> Detection:
        """Find one person in an (H, W, 3) uint8 RGB image, inside `box` (x, y, w, h pixels) if given.

        RGB matters: BGR (OpenCV's order) doubles MediaPipe's error and swaps left and right.
        "No person found" is a Detection with found=False and a message, not an exception.
        """
        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
            shape, dtype = getattr(image, "shape", None), getattr(image, "dtype", type(image).__name__)
            raise ValueError(
                f"detect: expected an (H, W, 3) uint8 RGB image, got shape {shape} dtype {dtype}; "
                "convert it with pipeline.images.image_from_array"
            )
        height, width = image.shape[:2]
        x0, y0, x1, y1 = _search_region(box, width, height)
        seen = _downscaled(image[y0:y1, x0:x1])
        with self._lock:
            if self._closed:
                raise RuntimeError("detect: this PoseDetector is closed; create a new one")
            result = self._pose.process(seen)
        if result.pose_landmarks is None:
            return Detection(found=False, message=NO_PERSON_MESSAGE)

        crop_size = np.array([x1 - x0, y1 - y0], dtype=np.float64)
        normalised = np.array([[lm.x, lm.y] for lm in result.pose_landmarks.landmark])
        keypoints = Keypoints2D(
            xy=normalised * crop_size + [x0, y0],
            visibility=np.clip([lm.visibility for lm in result.pose_landmarks.landmark], 0.0, 1.0),
            present=np.ones(NUM_LANDMARKS, dtype=bool),
            source="mediapipe",
            world=np.array([[lm.x, lm.y, lm.z] for lm in result.pose_world_landmarks.landmark]),
        )
        mask = None
        if result.segmentation_mask is not None:
            mask = np.zeros((height, width), dtype=np.float32)
            crop_mask = cv2.resize(result.segmentation_mask, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
            mask[y0:y1, x0:x1] = np.clip(crop_mask, 0.0, 1.0)
        return Detection(found=True, keypoints=keypoints, mask=mask, box=_person_box(keypoints, mask, width, height))


class VideoPoseDetector(PoseDetector):
    """MediaPipe Pose in its video (tracking) mode, for the frames of ONE video in order: the person detector runs on
    the first frame and again only when tracking is lost; in between, each frame's landmarks place the next frame's
    region. No mask (nothing in a take needs it, and it costs time) and none of MediaPipe's own landmark smoothing
    (takes are smoothed by `video.smoothing`). Start a new detector for another video or camera."""

    _MODE: ClassVar[dict[str, bool]] = {"static_image_mode": False, "enable_segmentation": False, "smooth_landmarks": False}


def person_crop_box(
    keypoints: Keypoints2D, image_size: tuple[int, int], margin: float = CROP_MARGIN
) -> tuple[float, float, float]:
    """Square crop (centre x, centre y, side) in pixels around the person, for the regressor's [-1, 1] coordinates.

    The rule is `geometry.crops.crop_boxes_from_points` (shared with synthetic training data) applied to the visible
    keypoints (all present ones if fewer than two are visible), with points outside the (width, height) image moved
    onto its border. The square may reach past the image. Normalise with geometry.cameras.pixels_to_normalised.
    """
    used = keypoints.visible()
    if used.sum() < 2:
        used = keypoints.present
    if used.sum() < 2:
        raise ValueError("person_crop_box needs at least two keypoints")
    xy = np.clip(keypoints.xy, 0.0, np.asarray(image_size, dtype=np.float64))
    box = crop_boxes_from_points(torch.from_numpy(xy)[None], torch.from_numpy(used)[None], margin)[0]
    return float(box[0]), float(box[1]), float(box[2])


def _search_region(box: Box | None, width: int, height: int) -> tuple[int, int, int, int]:
    """The (x0, y0, x1, y1) integer pixel region MediaPipe sees: the whole image, or the padded box clipped to it."""
    if box is None:
        return 0, 0, width, height
    x, y, w, h = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise ValueError(f"box: expected finite (x, y, width, height) with positive size, got {tuple(box)}")
    pad_x, pad_y = BOX_PADDING * w, BOX_PADDING * h
    x0, y0 = max(0, math.floor(x - pad_x)), max(0, math.floor(y - pad_y))
    x1, y1 = min(width, math.ceil(x + w + pad_x)), min(height, math.ceil(y + h + pad_y))
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ValueError(f"box {tuple(box)} lies outside the {width} x {height} image; draw it over the person")
    return x0, y0, x1, y1


def _downscaled(image: np.ndarray) -> np.ndarray:
    """A C-contiguous copy with the longest side at most MAX_DETECTION_SIDE (area-averaged)."""
    height, width = image.shape[:2]
    scale = MAX_DETECTION_SIDE / max(height, width)
    if scale >= 1.0:
        return np.ascontiguousarray(image)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _person_box(keypoints: Keypoints2D, mask: np.ndarray | None, width: int, height: int) -> Box:
    """Union of the visible landmarks' bounding box (clipped to the image) and the mask's, as (x, y, w, h)."""
    used = keypoints.visible()
    xy = np.clip(keypoints.xy[used if used.any() else keypoints.present], 0.0, [width, height])
    low, high = xy.min(axis=0), xy.max(axis=0)
    if mask is not None:
        person = mask > MASK_THRESHOLD
        rows, cols = np.flatnonzero(person.any(axis=1)), np.flatnonzero(person.any(axis=0))
        if rows.size:
            low = np.minimum(low, [cols[0], rows[0]])
            high = np.maximum(high, [cols[-1] + 1, rows[-1] + 1])
    return float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1])
