"""Motion clips: per-frame 3D joint positions as the readers return them (`JointClip`), and SMPL joint targets as the
fit takes them (`ClipTargets`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: A skeleton repair: joint name -> (3,) offset from its parent in the file's units -> replacement offsets.
OffsetRepair = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


@dataclass(frozen=True)
class JointClip:
    """names (J,) and parents (J,) (-1 for the root) of the skeleton's joints; positions (F, J, 3) in metres, in the
    file's own frame; times (F,) in seconds from the first frame."""

    names: tuple[str, ...]
    parents: tuple[int, ...]
    positions: np.ndarray
    times: np.ndarray

    def bone_lengths(self) -> np.ndarray:
        """(F, J - 1) distance of every non-root joint from its parent, metres (constant over frames for a rigid
        skeleton)."""
        children = [j for j, p in enumerate(self.parents) if p >= 0]
        parents = [self.parents[j] for j in children]
        return np.linalg.norm(self.positions[:, children] - self.positions[:, parents], axis=-1)

    def frames(self, index: np.ndarray) -> JointClip:
        """The clip restricted to the frames at `index` (times kept as they were)."""
        return JointClip(self.names, self.parents, self.positions[index], self.times[index])


@dataclass(frozen=True)
class ClipTargets:
    """One clip ready to fit: the kept frames' indices into the file's frames (F,), SMPL targets (F, 24, 3) in the
    body frame, weights (24,); its category (`categories.category`); and how many frames of the library's clock
    the glitch filter and the thinning before the fit dropped (training/mocap/filters.py)."""

    source: str
    name: str
    raw_frames: int
    fps: float
    frames: np.ndarray
    targets: np.ndarray
    weights: np.ndarray
    category: str
    glitches: int = 0
    near_duplicates: int = 0

    @property
    def resampled(self) -> int:
        """Frames on the library's clock, before the filters."""
        return len(self.frames) + self.glitches + self.near_duplicates
