"""The rendered set on disk: what MediaPipe Pose reported on each render beside the exact truth of the render.

One .npz per split (numpy arrays only, read with allow_pickle=False), N samples:
  found (N,) bool              MediaPipe found a person
  pixels (N, 33, 2) float32    its 2D landmarks, photo px (x right, y down; zero where not found)
  visibility (N, 33) float32   its visibilities; world (N, 33, 3) float32 its world landmarks (metres, hip-centred)
  global_orient (N, 3), body_pose (N, 69), betas (N, 10): the rendered body (camera-frame axis-angle)
  transl (N, 3) metres, focal (N,) px, principal (N, 2) px: the pinhole camera of the `photo_px` square photo
  family (N,) int16            pose family index in training.poses.FAMILIES, -1 for library poses
  view (N, 3) float32          (yaw, pitch, roll) radians of the view (the body's heading, the camera's angle below the
                               horizon, its roll; training.samples.views)
  background (N,) int8         background kind index in training.rendered.backgrounds.KINDS
  info                         a JSON string: split, seed, photo_px, family and background names, how it was built
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hkmr_studio.atomic import atomic_write_bytes
from hkmr_studio.pipeline.keypoints import NUM_LANDMARKS

#: Where `python -m training render-set` writes the splits (git-ignored: rebuilt, not committed).
DEFAULT_DIR = Path(__file__).resolve().parents[1] / "data" / "rendered"
BUILD_COMMAND = "python -m training render-set"

_SHAPES: dict[str, tuple[tuple[int, ...], str]] = {
    "found": ((), "bool"),
    "pixels": ((NUM_LANDMARKS, 2), "float32"),
    "visibility": ((NUM_LANDMARKS,), "float32"),
    "world": ((NUM_LANDMARKS, 3), "float32"),
    "global_orient": ((3,), "float32"),
    "body_pose": ((69,), "float32"),
    "betas": ((10,), "float32"),
    "transl": ((3,), "float32"),
    "focal": ((), "float32"),
    "principal": ((2,), "float32"),
    "family": ((), "int16"),
    "view": ((3,), "float32"),
    "background": ((), "int8"),
}


class RenderedSetError(ValueError):
    """A rendered set file is missing, malformed or of the wrong split."""


@dataclass
class RenderedSet:
    """The arrays of the module docstring and `info` (split, seed, photo_px, families, backgrounds, build)."""

    found: np.ndarray
    pixels: np.ndarray
    visibility: np.ndarray
    world: np.ndarray
    global_orient: np.ndarray
    body_pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    focal: np.ndarray
    principal: np.ndarray
    family: np.ndarray
    view: np.ndarray
    background: np.ndarray
    info: dict[str, Any]

    def __len__(self) -> int:
        return len(self.found)

    @property
    def split(self) -> str:
        return str(self.info["split"])

    @property
    def photo_px(self) -> int:
        return int(self.info["photo_px"])

    @property
    def family_names(self) -> list[str]:
        return list(self.info["families"])

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in _SHAPES}

    def save(self, path: Path) -> Path:
        """Write atomically (a crash leaves the previous file)."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, info=np.array(json.dumps(self.info)), **self.arrays())
        return atomic_write_bytes(path, buffer.getvalue())

    @staticmethod
    def load(path: Path, split: str | None = None) -> RenderedSet:
        """Read and check a split (that `split`, if given); a missing, malformed or other split's file raises
        RenderedSetError saying what to do."""
        if not path.is_file():
            raise RenderedSetError(f"{path} is missing: build the rendered set with `{BUILD_COMMAND}` (about 40 min)")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            info = json.loads(str(arrays.pop("info")))
        except (OSError, ValueError, KeyError) as error:
            raise RenderedSetError(f"{path} is not a rendered set ({error}); rebuild it with `{BUILD_COMMAND}`") from error
        if set(arrays) != set(_SHAPES) or not {"split", "photo_px", "families"} <= set(info):
            raise RenderedSetError(f"{path}: unexpected contents; rebuild it with `{BUILD_COMMAND}`")
        count = len(arrays["found"])
        for name, (shape, dtype) in _SHAPES.items():
            if arrays[name].shape != (count, *shape) or arrays[name].dtype != np.dtype(dtype):
                raise RenderedSetError(
                    f"{path}: {name} has shape {arrays[name].shape} {arrays[name].dtype}, expected "
                    f"{(count, *shape)} {dtype}; rebuild it with `{BUILD_COMMAND}`"
                )
        if split is not None and info["split"] != split:
            raise RenderedSetError(f"{path} is the rendered set's {info['split']} split; use its {split} split")
        return RenderedSet(**arrays, info=info)


def empty_arrays(count: int) -> dict[str, np.ndarray]:
    """Zeroed arrays for `count` samples, in the stored shapes and types."""
    return {name: np.zeros((count, *shape), dtype=dtype) for name, (shape, dtype) in _SHAPES.items()}
