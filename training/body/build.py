"""`python -m training build-body`: the licence-free SMPL-format neutral body from anny's CC0 MakeHuman assets.

Samples adults from anny, T-poses them in SMPL's frame (metres, Y up, front +Z, left +X, pelvis at the origin),
fits a 10-component shape space and a sparse joint regressor, maps anny's skin weights onto SMPL's 24 joints,
renumbers the vertices so smplx's extra keypoints land on the right anatomy, and writes the pickle atomically.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse

from hkmr_studio.body import kinematics
from hkmr_studio.resources import embedded_body_path
from training.body import anny_source, keypoints, shape_space, skeleton, smpl_file

_REPO_ROOT = Path(__file__).resolve().parents[2]
LICENCE = (
    "CC0-1.0. Derived from the MakeHuman assets (CC0-1.0) shipped in the anny package "
    "(code Apache-2.0, Copyright (C) 2025 NAVER Corp.); see models/body/README.md"
)


@dataclass(frozen=True)
class BodyModelParts:
    """The open body in its final vertex order. v_template (V, 3), shapedirs (V, 3, 10), j_regressor (24, V),
    weights (V, 24), faces (F, 3), vertex_ids: smplx keypoint name -> vertex index."""

    v_template: np.ndarray
    shapedirs: np.ndarray
    j_regressor: scipy.sparse.csc_matrix
    weights: np.ndarray
    faces: np.ndarray
    vertex_ids: dict[str, int]


def add_parser(subparsers: Any) -> None:
    """Register the `build-body` sub-command."""
    parser = subparsers.add_parser(
        "build-body", help="build models/body/SMPL_OPEN_NEUTRAL.pkl from anny", description=__doc__
    )
    parser.add_argument(
        "--output", type=Path, default=embedded_body_path(), help="pickle to write (default: %(default)s)"
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("ANNY_CACHE_DIR", _REPO_ROOT / ".cache" / "anny")),
        help="anny's data cache, ~790 MB, built on first use (default: $ANNY_CACHE_DIR or %(default)s)",
    )
    parser.add_argument("--samples", type=int, default=600, help="adults sampled in all (default: %(default)s)")
    parser.add_argument("--held-out", type=int, default=100, help="of which kept for evaluation (default: %(default)s)")
    parser.add_argument(
        "--ridge", type=float, default=1e-4, help="joint regressor ridge, relative (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the phenotype sampling (default: %(default)s)")
    parser.set_defaults(run=run)


def _source_description(args: argparse.Namespace, train_count: int) -> str:
    import anny

    low, high = anny_source.ADULT_AGE_RANGE
    return (
        f"anny {anny.__version__} (rig 'anny', topology 'anny', plain LBS); mean and PCA of {train_count} adults from "
        f"anny.shape_distribution.SimpleShapeDistribution, seed {args.seed}: gender ~ U(0, 1) (male 0, female 1), "
        f"morphological age ~ U({low:g}, {high:g}) years, height/weight/muscle/proportions from anny's age- and "
        "gender-conditional laws, other phenotypes at anny's default 0.5; re-posed to a T-pose by anny's skinning; "
        "tongue and eyeballs dropped; built by `python -m training build-body`"
    )


def _renumber(
    space: shape_space.ShapeSpace,
    regressor: scipy.sparse.csc_matrix,
    weights: np.ndarray,
    faces: np.ndarray,
    chosen: dict[str, int],
) -> BodyModelParts:
    """Apply keypoints.keypoint_permutation to every per-vertex array (new index i holds old vertex order[i])."""
    order = keypoints.keypoint_permutation(chosen, len(space.mean))
    new_index = np.empty_like(order)
    new_index[order] = np.arange(len(order))
    return BodyModelParts(
        v_template=space.mean[order],
        shapedirs=space.components[order],
        j_regressor=scipy.sparse.csc_matrix(regressor[:, order]),
        weights=weights[order],
        faces=new_index[faces],
        vertex_ids={name: keypoints.SMPL_KEYPOINT_VERTEX_IDS[name] for name in chosen},
    )


def _symmetry_error(joints: np.ndarray) -> float:
    """Largest distance (m) between a joint and the mirror image (x -> -x) of its left/right counterpart."""
    mirrored = joints[list(kinematics.MIRROR_PERMUTATION)] * np.array([-1.0, 1.0, 1.0])
    return float(np.linalg.norm(joints - mirrored, axis=1).max())


def _print_report(
    parts: BodyModelParts,
    explained: float,
    errors: np.ndarray,
    reconstructed_errors: np.ndarray,
    mesh_mirror_error: float,
) -> None:
    """Fit errors and body figures, in mm / m / %."""
    first = parts.shapedirs[..., 0]
    heights = [shape_space.stature(parts.v_template + s * first) for s in (-2.0, 0.0, 2.0)]
    rest_joints = parts.j_regressor @ parts.v_template
    print(f"vertices {len(parts.v_template)}, faces {len(parts.faces)}, joints {rest_joints.shape[0]}")
    print(f"PCA: {parts.shapedirs.shape[-1]} components explain {100 * explained:.2f} % of the shape variance")
    print(f"joint regressor, held-out bodies: mean {1000 * errors.mean():.2f} mm, max {1000 * errors.max():.2f} mm")
    print(
        "joint regressor, held-out bodies as 10-component reconstructions: "
        f"mean {1000 * reconstructed_errors.mean():.2f} mm, max {1000 * reconstructed_errors.max():.2f} mm"
    )
    print(
        f"standing height: betas=0 {heights[1]:.3f} m; component 1 at -2 {heights[0]:.3f} m, at +2 {heights[2]:.3f} m"
    )
    print(f"left/right symmetry of rest joints: max {1000 * _symmetry_error(rest_joints):.4f} mm")
    print(f"mesh mirror symmetry: max {1000 * mesh_mirror_error:.3f} mm")


def run(args: argparse.Namespace) -> int:
    """Build the body file; print the fit errors and figures."""
    started = time.perf_counter()
    model = anny_source.load_anny(args.cache_dir)
    bodies = anny_source.pose_bodies(model, anny_source.sample_adult_phenotypes(model, args.samples, args.seed))
    labels = list(model.bone_labels)
    anny_skin = anny_source.skin(model)
    weights = (anny_skin.bone_weights @ skeleton.weight_transfer(labels))[anny_skin.kept]
    joints = skeleton.symmetrised(np.einsum("jb,nbc->njc", skeleton.joint_placement(labels), bodies.bone_heads))
    vertices = bodies.vertices[:, anny_skin.kept]
    train = slice(0, args.samples - args.held_out)
    held_out = slice(train.stop, args.samples)

    space = shape_space.fit_shape_space(vertices[train], kinematics.NUM_BETAS)
    regressor = shape_space.fit_joint_regressor(vertices[train], joints[train], weights, args.ridge)
    errors = shape_space.joint_errors(regressor, vertices[held_out], joints[held_out])
    reconstructed = space.reconstruct(space.project(vertices[held_out]))
    reconstructed_errors = shape_space.joint_errors(regressor, reconstructed, joints[held_out])

    chosen = keypoints.choose_keypoint_vertices(
        bodies.vertices[train].mean(0), anny_skin.bone_weights, labels, bodies.bone_heads[train].mean(0), anny_skin.kept
    )
    chosen = {name: anny_skin.kept_index(vertex) for name, vertex in chosen.items()}
    parts = _renumber(space, regressor, weights, anny_skin.faces, chosen)
    metadata = {
        "hkmr_licence": LICENCE,
        "hkmr_source": _source_description(args, train.stop),
        "hkmr_vertex_ids": parts.vertex_ids,
    }
    data = smpl_file.smpl_body_dict(
        parts.v_template, parts.shapedirs, parts.j_regressor, parts.weights, parts.faces, metadata
    )
    size = smpl_file.write_pickle_atomically(data, args.output)

    _print_report(parts, space.explained, errors, reconstructed_errors, keypoints.mirror_error(parts.v_template))
    print(f"wrote {args.output} ({size / 1e6:.2f} MB) in {time.perf_counter() - started:.0f} s")
    return 0
