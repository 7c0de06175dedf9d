"""2D keypoints: MediaPipe's 33 landmarks as the one in-memory convention, COCO-17 and MediaPipe-33 JSON files.

Pixel coordinates in the original (upright) image: origin at the top-left corner, x right, y down. "Left" and "right"
are the person's own sides. Landmarks a source does not give (the 16 that COCO-17 lacks, COCO's v = 0) are kept with
present = False, xy = 0 and visibility = 0.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hkmr_studio import strict_json
from hkmr_studio.atomic import atomic_write_text
from hkmr_studio.body.keypoint_sets import (
    COCO17_FROM_MEDIAPIPE33,
    COCO17_NAMES,
    MEDIAPIPE_LANDMARK_NAMES,
    NUM_LANDMARKS,
)

#: A landmark counts as seen when present and visibility >= this. MediaPipe invents landmarks outside the image or
#: hidden behind the body with low visibility; COCO's "labelled but occluded" (v = 1) maps to 0.5 and so counts.
VISIBILITY_THRESHOLD = 0.5

SOURCES = ("mediapipe", "coco-json", "mediapipe-json", "user")
#: Largest keypoint coordinate read from a file, in pixels from the image's corner either way: far beyond any photo
#: (images have at most 150 MP), small enough for the pipeline's arithmetic to stay finite.
MAX_PIXEL_COORDINATE = 1_000_000
#: Largest world-landmark coordinate read from a file, in metres from the hips.
MAX_WORLD_METRES = 1000
_LARGEST_INTEGER = int(np.finfo(np.float64).max)  # larger JSON integers have no float value
_COCO_VISIBILITY = {0: 0.0, 1: 0.5, 2: 1.0}


class KeypointFileError(ValueError):
    """A keypoint file could not be used; the message names the file and the problem."""


@dataclass(eq=False)  # arrays have no single truth value; compare fields with numpy
class Keypoints2D:
    """One person's 33 landmarks in MediaPipe order.

    xy: (33, 2) float64 pixels in the original image (x right, y down). visibility: (33,) in [0, 1].
    present: (33,) bool, False where the source gives no landmark. source: one of SOURCES.
    world: optional (33, 3) metres, MediaPipe's world landmarks: origin between the hips, axes as the image's
    (x right, y down) and z away from the camera.
    """

    xy: np.ndarray
    visibility: np.ndarray
    present: np.ndarray
    source: str
    world: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.xy = _checked_array(self.xy, (NUM_LANDMARKS, 2), np.float64, "xy")
        self.visibility = _checked_array(self.visibility, (NUM_LANDMARKS,), np.float64, "visibility")
        self.present = _checked_array(self.present, (NUM_LANDMARKS,), np.bool_, "present")
        if self.world is not None:
            self.world = _checked_array(self.world, (NUM_LANDMARKS, 3), np.float64, "world")
        if self.source not in SOURCES:
            raise ValueError(f"source: expected one of {SOURCES}, got {self.source!r}")
        if not np.isfinite(self.xy).all() or not np.isfinite(self.visibility).all():
            raise ValueError("xy and visibility must be finite")
        if (self.visibility < 0).any() or (self.visibility > 1).any():
            raise ValueError("visibility must lie in [0, 1]")

    def visible(self, threshold: float = VISIBILITY_THRESHOLD) -> np.ndarray:
        """(33,) bool: present and visibility >= threshold."""
        return self.present & (self.visibility >= threshold)


def load_keypoints_json(
    path: str | Path, *, image_size: tuple[int, int] | None = None, index: int | None = None
) -> Keypoints2D:
    """Read one person's keypoints from a COCO-17 or MediaPipe-33 JSON file (the form is recognised from the content).

    COCO: a bare list of 51 numbers [x, y, v] * 17; an annotation {"keypoints": [...]}; or an annotations file
    {"annotations": [...]}, from which the annotation at `index`, else the one with the most labelled keypoints
    (v > 0), is taken. v: 0 absent, 1 labelled but occluded (visibility 0.5), 2 visible.
    MediaPipe-33: a list of 33 {"x", "y", "visibility"} in pixels (null for an absent landmark), or
    {"landmarks": [...], "normalized": bool, "image_size": [w, h], "world_landmarks": [...]}; normalised [0, 1]
    coordinates need "image_size" in the file or the `image_size` (width, height) argument.
    """
    path = Path(path)
    try:
        return _parse(_read_json(path), image_size, index)
    except KeypointFileError as exc:
        raise KeypointFileError(f"'{path.name}': {exc}") from None


def save_keypoints_json(path: str | Path, keypoints: Keypoints2D, image_size: tuple[int, int] | None = None) -> Path:
    """Write MediaPipe-33 JSON in pixels (absent landmarks as null; world landmarks when all finite) atomically;
    `load_keypoints_json` reads it back."""
    landmarks = [
        {"name": name, "x": float(x), "y": float(y), "visibility": float(v)} if present else None
        for name, (x, y), v, present in zip(
            MEDIAPIPE_LANDMARK_NAMES, keypoints.xy, keypoints.visibility, keypoints.present, strict=True
        )
    ]
    document: dict[str, Any] = {"format": "mediapipe-33", "source": keypoints.source, "normalized": False}
    if image_size is not None:
        document["image_size"] = [int(image_size[0]), int(image_size[1])]
    document["landmarks"] = landmarks
    if keypoints.world is not None and np.isfinite(keypoints.world).all():  # else left out: the file stays loadable
        document["world_landmarks"] = [{"x": float(x), "y": float(y), "z": float(z)} for x, y, z in keypoints.world]
    return atomic_write_text(path, strict_json.dumps(document, indent=1) + "\n")


def _checked_array(value: Any, shape: tuple[int, ...], dtype: type, name: str) -> np.ndarray:
    array = np.array(value, dtype=dtype)
    if array.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {array.shape}")
    return array


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise KeypointFileError("file not found. Check the path, or pick the file again.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise KeypointFileError("not a UTF-8 text file, so not a JSON keypoint file.") from None
    if not text.strip():
        raise KeypointFileError("the file is empty. Export the keypoints again.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise KeypointFileError(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}. Fix the file or export it again."
        ) from None
    except RecursionError:
        raise KeypointFileError("the JSON is nested too deeply to be a keypoint file (they are a few levels deep): "
                                "export the keypoints again.") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise KeypointFileError(f"not usable JSON: {exc}. Fix the file or export it again.") from None


def _parse(data: Any, image_size: tuple[int, int] | None, index: int | None) -> Keypoints2D:
    if isinstance(data, list):
        if not data:
            raise KeypointFileError("the list of keypoints is empty")
        if all(isinstance(item, dict) or item is None for item in data):
            return _from_mediapipe(data, normalized=False, image_size=None, world=None)
        return _from_coco(data)
    if isinstance(data, dict):
        if "annotations" in data:
            return _from_coco_annotations(data["annotations"], index)
        if "keypoints" in data:
            return _from_coco(data["keypoints"])
        if "landmarks" in data:
            normalized = data.get("normalized", False)
            if not isinstance(normalized, bool):
                raise KeypointFileError(f'"normalized" must be true or false, found {normalized!r}')
            size = _image_size(data["image_size"]) if "image_size" in data else image_size
            return _from_mediapipe(data["landmarks"], normalized, size, data.get("world_landmarks"))
        keys = ", ".join(sorted(map(str, data))[:8]) or "none"
        raise KeypointFileError(
            f'found keys ({keys}) but no "keypoints" (COCO annotation), "annotations" (COCO file) or '
            '"landmarks" (MediaPipe-33)'
        )
    raise KeypointFileError(f"expected a JSON list or object of keypoints, found {type(data).__name__}")


def _from_coco_annotations(annotations: Any, index: int | None) -> Keypoints2D:
    if not isinstance(annotations, list):
        raise KeypointFileError('"annotations" must be a list')
    if index is not None:
        if not 0 <= index < len(annotations):
            raise KeypointFileError(f"annotation {index} requested, but the file has {len(annotations)}")
        return _coco_annotation(annotations, index)
    candidates = [
        _coco_annotation(annotations, i) for i, a in enumerate(annotations) if isinstance(a, dict) and "keypoints" in a
    ]
    if not candidates:
        raise KeypointFileError('no annotation has "keypoints" (a COCO person keypoint file has them)')
    return max(candidates, key=lambda k: int(k.present.sum()))  # the first of equals


def _coco_annotation(annotations: list[Any], i: int) -> Keypoints2D:
    annotation = annotations[i]
    if not isinstance(annotation, dict) or "keypoints" not in annotation:
        raise KeypointFileError(f'annotation {i} has no "keypoints"')
    try:
        return _from_coco(annotation["keypoints"])
    except KeypointFileError as exc:
        raise KeypointFileError(f"annotation {i}: {exc}") from None


def _from_coco(values: Any) -> Keypoints2D:
    if not isinstance(values, list):
        raise KeypointFileError(f'COCO "keypoints" must be a list of numbers, found {type(values).__name__}')
    if len(values) != 3 * len(COCO17_NAMES):
        raise KeypointFileError(f"expected 51 numbers (17 COCO keypoints as x, y, v), found {len(values)}")
    xy = np.zeros((NUM_LANDMARKS, 2))
    visibility = np.zeros(NUM_LANDMARKS)
    present = np.zeros(NUM_LANDMARKS, dtype=bool)
    for k, (name, landmark) in enumerate(zip(COCO17_NAMES, COCO17_FROM_MEDIAPIPE33, strict=True)):
        where = f"keypoint {k} ({name})"
        x, y, v = (_number(values[3 * k + i], f"{where}: {axis}") for i, axis in enumerate("xyv"))
        for axis, value in zip("xy", (x, y)):
            _check_within(value, 1.0, MAX_PIXEL_COORDINATE, f"{where}: {axis} = {value:g}")
        if v not in _COCO_VISIBILITY:
            raise KeypointFileError(f"{where}: v is {v:g}; COCO v must be 0 (absent), 1 (occluded) or 2 (visible)")
        if v > 0:
            xy[landmark] = x, y
            visibility[landmark] = _COCO_VISIBILITY[int(v)]
            present[landmark] = True
    if not present.any():
        raise KeypointFileError("all 17 keypoints have v = 0, so none is given")
    return Keypoints2D(xy=xy, visibility=visibility, present=present, source="coco-json")


def _from_mediapipe(landmarks: Any, normalized: bool, image_size: tuple[int, int] | None, world: Any) -> Keypoints2D:
    entries = _landmark_list(landmarks, "landmarks")
    if normalized and image_size is None:
        raise KeypointFileError(
            'coordinates are normalised to [0, 1], so the image size is needed: add "image_size": [width, height] '
            "to the file, or load the photo first"
        )
    scale = np.asarray(image_size, dtype=np.float64) if normalized else np.ones(2)
    xy = np.zeros((NUM_LANDMARKS, 2))
    visibility = np.zeros(NUM_LANDMARKS)
    present = np.zeros(NUM_LANDMARKS, dtype=bool)
    for i, (name, entry) in enumerate(zip(MEDIAPIPE_LANDMARK_NAMES, entries, strict=True)):
        if entry is None:
            continue
        where = f"landmark {i} ({name})"
        if not isinstance(entry, dict):
            raise KeypointFileError(f"{where}: expected an object with x, y, visibility, found {entry!r}")
        if entry.get("name", name) != name:
            raise KeypointFileError(f"{where} is named {entry['name']!r}: landmarks must be in MediaPipe's order")
        xy[i] = [_number(_field(entry, axis, where), f"{where}: {axis}") for axis in "xy"]
        for axis, value, factor in zip("xy", xy[i], scale):
            shown = f"{value:g} (normalised)" if normalized else f"{value:g}"
            _check_within(value, factor, MAX_PIXEL_COORDINATE, f"{where}: {axis} = {shown}")
        v = _number(entry.get("visibility", 1.0), f"{where}: visibility")
        if v < 0:
            raise KeypointFileError(f"{where}: visibility {v:g} is negative; it must be between 0 and 1")
        if v > 1:
            raise KeypointFileError(f"{where}: visibility {v:g} is above 1; it must be between 0 and 1")
        visibility[i], present[i] = v, True
    if not present.any():
        raise KeypointFileError("all 33 landmarks are null, so none is given")
    world_xyz = None
    if world is not None:
        world_entries = _landmark_list(world, "world_landmarks")
        world_xyz = np.array(
            [
                [_number(_field(e, axis, f"world landmark {i}"), f"world landmark {i}: {axis}") for axis in "xyz"]
                for i, e in enumerate(world_entries)
            ]
        )
        for (i, axis), value in np.ndenumerate(world_xyz):
            _check_within(value, 1.0, MAX_WORLD_METRES, f"world landmark {i}: {'xyz'[axis]} = {value:g} metres",
                          "from the hips", "metres")
    return Keypoints2D(xy=xy * scale, visibility=visibility, present=present, source="mediapipe-json", world=world_xyz)


def _landmark_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise KeypointFileError(f'"{what}" must be a list, found {type(value).__name__}')
    if not value:
        raise KeypointFileError(f'"{what}" is empty')
    if len(value) != NUM_LANDMARKS:
        raise KeypointFileError(f"expected {NUM_LANDMARKS} {what} in MediaPipe's order, found {len(value)}")
    return value


def _field(entry: Any, key: str, where: str) -> Any:
    if not isinstance(entry, dict):
        raise KeypointFileError(f"{where}: expected an object, found {entry!r}")
    if key not in entry:
        raise KeypointFileError(f"{where}: missing {key!r}")
    return entry[key]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise KeypointFileError(f"{where} is {value!r}, not a number")
    if isinstance(value, int) and abs(value) > _LARGEST_INTEGER:
        raise KeypointFileError(f"{where} is an integer of {len(str(abs(value)))} digits, not a usable number")
    if not math.isfinite(value):
        raise KeypointFileError(f"{where} is {value}, not a finite number")
    return float(value)


def _check_within(value: float, factor: float, limit: float, what: str, origin: str = "from the image's corner",
                  unit: str = "pixels") -> None:
    """Refuse `value` when `value * factor` (pixels or metres; factor > 0) lies further than `limit` from `origin`."""
    if abs(value) > limit / factor:
        raise KeypointFileError(f"{what} lies too far out: coordinates are at most {limit:.0f} {unit} {origin}. "
                                "Fix the file or export it again.")


def _image_size(value: Any) -> tuple[float, float]:
    if not (isinstance(value, Sequence) and len(value) == 2):
        raise KeypointFileError(f'"image_size" must be [width, height], found {value!r}')
    width, height = (_number(v, "image_size") for v in value)
    if width <= 0 or height <= 0:
        raise KeypointFileError(f'"image_size" must be positive, found {value!r}')
    if max(width, height) > MAX_PIXEL_COORDINATE:
        raise KeypointFileError(f'"image_size" {max(width, height):g} is larger than {MAX_PIXEL_COORDINATE} pixels: '
                                "give the photo's width and height in pixels")
    return width, height
