"""`python -m training train-priors`: fit the pose VAE and the Gaussian mixture to the pose library and write them,
with their card, to models/priors/ (pose_vae.pt, pose_gmm.npz, README.md)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from hkmr_studio.atomic import atomic_write_bytes, atomic_write_text
from hkmr_studio.fitting.priors import GaussianMixturePrior, VAEPosePrior
from training.priors.data import LIBRARY_PATH, PoseSplit, load_split
from training.priors.gmm import UNOBSERVED_VARIANCE, VARIANCE_FLOOR, fit_mixture, save_mixture
from training.priors.scores import RANDOM_ANGLE_LIMIT, Separation, random_poses, separation
from training.priors.vae import VAETrainingConfig, state_dict_bytes, train_vae


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train-priors", help=__doc__.splitlines()[0].split(": ", 1)[1])
    parser.add_argument("--library", type=Path, default=LIBRARY_PATH, help="pose library npz (prepare-poses)")
    parser.add_argument("--out", type=Path, default=Path("models/priors"), help="output folder")
    parser.add_argument("--vae-steps", type=int, default=VAETrainingConfig.steps, help="VAE optimiser steps")
    parser.add_argument("--components", type=int, default=8, help="mixture components (SMPLify uses 8)")
    parser.set_defaults(run=run)


def _card(split: PoseSplit, components: int, steps: int, seconds: float, gmm: Separation, vae: Separation) -> str:
    def row(name: str, s: Separation) -> str:
        return f"| {name} | {s.real_median:.1f} | {s.random_median:.1f} | {s.ranking:.4f} |"

    unobserved = int(split.unobserved.sum())
    return "\n".join([
        "# Pose priors",
        "",
        "Trained on the project's pose library (training/data/POSE_LIBRARY.md: CMU subject 01 and DeepMimic clips,",
        "fitted to the open body), not on the licence-restricted SMPLify mixture or any SMPL-derived data.",
        "",
        "- `pose_vae.pt`: HKMR's pose VAE (hkmr_studio/nets/vae.py; 69 -> 512 -> 32-d latent), the paper's L_KL prior",
        f"  and SMPLify's `vae` prior; {steps} Adam steps of batch 256 on the negative ELBO.",
        f"- `pose_gmm.npz`: a {components}-component full-covariance Gaussian mixture (EM), SMPLify's `gmm` prior;",
        f"  variances floored at ({VARIANCE_FLOOR ** 0.5:.2f} rad)^2.",
        f"- {unobserved} of the 69 pose dimensions never move in the library (feet, head, hands, the wrists' twist):",
        f"  the mixture gives them an independent ({UNOBSERVED_VARIANCE ** 0.5:.1f} rad)^2 Gaussian and the VAE is",
        "  trained to ignore them (random angles in, no reconstruction error), so neither prior forbids moving them.",
        f"- Data: {len(split.train)} training poses; {len(split.held_out)} held-out poses (the last 10% of every",
        "  clip's frames).",
        f"- Rebuild: `python -m training train-priors` ({seconds / 60:.1f} min on 2 CPU cores).",
        "",
        f"Penalties (lower = likelier) of held-out library poses against random poses (each body-joint angle uniform",
        f"in [-{RANDOM_ANGLE_LIMIT:g}, {RANDOM_ANGLE_LIMIT:g}] rad); ranking = the share of (held-out, random) pairs",
        "the prior orders correctly:",
        "",
        "| prior | held-out median | random median | ranking |",
        "|---|---|---|---|",
        row("mixture (negative log-likelihood of the best component)", gmm),
        row("VAE (KL of the encoder's posterior from N(0, I))", vae),
        "",
        "Limits: the library holds playground play and DeepMimic skills; sitting, kneeling and lying are rare, so",
        "both priors score such poses as unlikely.",
        "",
        "Licence: derived from the pose library; CMU mocap (free for any use) and DeepMimic motions (zlib via the",
        "pybullet wheel, MIT upstream), see training/data/POSE_LIBRARY.md.",
        "",
    ])


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    split = load_split(args.library)
    print(f"{len(split.train)} training poses, {len(split.held_out)} held out, "
          f"{int(split.unobserved.sum())} unobserved dimensions")
    mixture = fit_mixture(split.train.astype(np.float64), split.unobserved, components=args.components)
    vae = train_vae(split.train, split.unobserved, VAETrainingConfig(steps=args.vae_steps))
    seconds = time.perf_counter() - start
    negatives = random_poses(len(split.held_out))
    gmm_scores = separation(GaussianMixturePrior(mixture.means, mixture.covariances, mixture.weights),
                            split.held_out, negatives)
    vae_scores = separation(VAEPosePrior(vae), split.held_out, negatives)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out / "pose_gmm.npz", save_mixture(mixture))
    atomic_write_bytes(args.out / "pose_vae.pt", state_dict_bytes(vae))
    atomic_write_text(args.out / "README.md",
                      _card(split, args.components, args.vae_steps, seconds, gmm_scores, vae_scores))
    for name, s in (("mixture", gmm_scores), ("VAE", vae_scores)):
        print(f"{name}: held-out median {s.real_median:.1f}, random median {s.random_median:.1f}, "
              f"ranking {s.ranking:.4f}")
    print(f"wrote {args.out}")
    return 0
