"""The occlusion lab's experiments on one photo (Qt-free): paint a synthetic occluder into the photo, run MediaPipe
and every compared model on it, and measure how far each model's joints moved from its unoccluded result.

Displacement: per joint, the distance in millimetres between the occluded and the unoccluded regressor joints after
aligning the roots (both skeletons translated so that their pelvis is at the origin; no rotation or scale), and the
angle by which the whole body's orientation turned, which moves every root-aligned joint with it. Runs
detect once per photo, with the first model's pipeline, and give every model the same keypoints, so differences
between models come from the models alone. Sweeps are generators that yield (done, total) after each run and return
their result; stop iterating to cancel. A probe holds MediaPipe: use it from one thread.

Coordinates: photo pixels (x right, y down), as in hkmr_studio.occlusion.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hkmr_studio.body import kinematics
from hkmr_studio.geometry.metrics import per_joint_error
from hkmr_studio.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from hkmr_studio.occlusion import DEGREES, OCCLUDER_KINDS, Occluder, OccluderKind, make_occluder
from hkmr_studio.pipeline.core import Pipeline, PipelineResult
from hkmr_studio.pipeline.images import LoadedImage

ALIGNMENT_NOTE = "mm, root-aligned (both skeletons moved so the pelvis is at the origin)"
OCCLUDER_COLOR = (128, 128, 128)
Progress = tuple[int, int]  # (runs done, runs in all)


@dataclass(frozen=True, eq=False)
class ProbeRun:
    """One photo through every model: `results` maps model name -> its PipelineResult (same keypoints for all)."""

    image: LoadedImage
    results: dict[str, PipelineResult]

    @property
    def found(self) -> bool:
        return all(result.found for result in self.results.values())

    @property
    def first(self) -> PipelineResult:
        """The result of the model that detected the keypoints."""
        return next(iter(self.results.values()))


@dataclass(frozen=True, eq=False)
class Displacement:
    """How far each model's joints moved. per_joint_mm: model name -> (24,) mm in SMPL joint order; turn_deg: model
    name -> the angle (degrees) by which the whole body's orientation (global_orient, camera frame) turned, which
    moves every root-aligned joint; both NaN when the occluded photo gave no body."""

    per_joint_mm: dict[str, np.ndarray]
    turn_deg: dict[str, float]

    def per_chain_mm(self, model: str) -> dict[str, float]:
        """Chain name -> mean displacement (mm) of its joints, in kinematics.CHAINS order."""
        joints = self.per_joint_mm[model]
        return {chain.name: float(joints[list(chain.joints)].mean()) for chain in kinematics.CHAINS}

    def mean_mm(self, model: str) -> float:
        """Mean over the 24 joints (NaN when no body was found)."""
        return float(self.per_joint_mm[model].mean())


def root_aligned_displacement_mm(reference: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """(24, 3) metres x 2 -> (24,) mm: per-joint distance after moving both pelvises to the origin."""
    ref = torch.as_tensor(reference - reference[:1], dtype=torch.float64)[None]
    new = torch.as_tensor(moved - moved[:1], dtype=torch.float64)[None]
    return per_joint_error(new, ref)[0].numpy() * 1000.0


def turn_deg(reference: np.ndarray, moved: np.ndarray) -> float:
    """(3,) axis-angle x 2 -> the angle of the rotation from one orientation to the other, degrees."""
    first, second = axis_angle_to_matrix(torch.as_tensor(np.stack([reference, moved]), dtype=torch.float64))
    return float(torch.rad2deg(matrix_to_axis_angle(first.T @ second).norm()))


def displacement(reference: ProbeRun, occluded: ProbeRun) -> Displacement:
    """Per model, the joints and orientation of `occluded` against those of `reference` (the regressor's bodies, not
    refits)."""
    joints, turns = {}, {}
    for model, result in reference.results.items():
        moved = occluded.results[model]
        if result.regression is None or moved.regression is None:
            joints[model], turns[model] = np.full(kinematics.NUM_JOINTS, np.nan), float("nan")
        else:
            joints[model] = root_aligned_displacement_mm(result.regression.joints3d, moved.regression.joints3d)
            turns[model] = turn_deg(result.regression.global_orient, moved.regression.global_orient)
    return Displacement(joints, turns)


def occluded_image(image: LoadedImage, occluder: Occluder, color: tuple[int, int, int] = OCCLUDER_COLOR
                   ) -> LoadedImage:
    """The photo with `occluder` painted over it in a flat colour."""
    return LoadedImage(occluder.draw(image.rgb, color), image.path, image.notes)


def joint_occluder(reference: ProbeRun, joint: int, kind: OccluderKind, degree: int, angle: float = 0.0
                   ) -> Occluder:
    """The paper's occluder of `kind` and `degree`, centred on SMPL joint `joint` as the first model projects it,
    sized for the person's crop."""
    result = reference.first
    if result.regression is None or result.crop is None:
        raise ValueError("no body was found in the unoccluded photo, so there is no joint to occlude")
    x, y = result.regression.joints2d[joint]
    return make_occluder(kind, degree, (float(x), float(y)), angle, crop_size=result.crop[2])


class OcclusionProbe:
    """Pipelines for the compared models (e.g. "hkmr" and "hmr"); the first one detects."""

    def __init__(self, models: Sequence[str | Path], body_path: str | Path | None = None, device: str = "auto"
                 ) -> None:
        if not models:
            raise ValueError("the occlusion probe needs at least one model to compare")
        self.pipelines = {str(model): Pipeline(model, body_path, device) for model in models}

    @property
    def models(self) -> list[str]:
        return list(self.pipelines)

    def run(self, image: LoadedImage) -> ProbeRun:
        """Detect on `image` once and run every model on those keypoints, posing the joints alone (the displacement
        reads joints and orientation only: no mesh, so no facing check either)."""
        results: dict[str, PipelineResult] = {}
        keypoints = None
        for model, pipeline in self.pipelines.items():
            if results and keypoints is None:  # nobody was detected: the other models get the same answer
                results[model] = next(iter(results.values()))
                continue
            results[model] = pipeline.run(image, keypoints=keypoints, mesh=False)
            keypoints = results[model].keypoints if results[model].found else None
        return ProbeRun(image, results)

    def occlude(self, reference: ProbeRun, occluder: Occluder) -> tuple[ProbeRun, Displacement]:
        """Run every model on the reference photo with `occluder` painted in, and measure the displacement."""
        run = self.run(occluded_image(reference.image, occluder))
        return run, displacement(reference, run)

    def close(self) -> None:
        for pipeline in self.pipelines.values():
            pipeline.close()


@dataclass(frozen=True, eq=False)
class Heatmap:
    """A grid sweep: occluder centres on a cells x cells grid over the person's crop square.

    origin: (x, y) pixel corner of the grid; cell_px: side of one cell; mean_mm: model -> (cells, cells) mean joint
    displacement with the occluder centred in that cell (row = y, column = x), NaN where no body was found.
    """

    origin: tuple[float, float]
    cell_px: float
    mean_mm: dict[str, np.ndarray]

    @property
    def cells(self) -> int:
        return next(iter(self.mean_mm.values())).shape[0]

    def centre(self, row: int, col: int) -> tuple[float, float]:
        return self.origin[0] + (col + 0.5) * self.cell_px, self.origin[1] + (row + 0.5) * self.cell_px


def grid_sweep(probe: OcclusionProbe, reference: ProbeRun, kind: OccluderKind, degree: int, cells: int,
               angle: float = 0.0) -> Generator[Progress, None, Heatmap]:
    """Slide the occluder over a cells x cells grid covering the person's crop; one probe run per cell."""
    if cells < 1:
        raise ValueError(f"the sweep grid needs at least 1 cell per side, got {cells}")
    crop = reference.first.crop
    if crop is None:
        raise ValueError("no body was found in the unoccluded photo, so there is nothing to sweep over")
    cx, cy, side = crop
    heatmap = Heatmap((cx - side / 2.0, cy - side / 2.0), side / cells,
                      {model: np.full((cells, cells), np.nan) for model in probe.models})
    for index in range(cells * cells):
        row, col = divmod(index, cells)
        occluder = make_occluder(kind, degree, heatmap.centre(row, col), angle, crop_size=side)
        _, moved = probe.occlude(reference, occluder)
        for model in probe.models:
            heatmap.mean_mm[model][row, col] = moved.mean_mm(model)
        yield index + 1, cells * cells
    return heatmap


@dataclass(frozen=True, eq=False)
class DegreeCurves:
    """A degree-of-occlusion sweep (the paper's Fig. 6 for one photo): mean_mm[model][kind] is a (len(degrees),)
    array, the mean joint displacement over the occluded joints at each degree (NaN where no body was found)."""

    degrees: tuple[int, ...]
    joints: tuple[int, ...]
    mean_mm: dict[str, dict[str, np.ndarray]]


def degree_sweep(probe: OcclusionProbe, reference: ProbeRun, kinds: Sequence[str] = OCCLUDER_KINDS,
                 degrees: Sequence[int] = DEGREES, joints: Sequence[int] | None = None, angle: float = math.pi / 4
                 ) -> Generator[Progress, None, DegreeCurves]:
    """Occlude each of `joints` (default: all 24) with every kind and degree; average each model's displacement over
    the joints (runs with no body found are left out of the mean)."""
    joints = tuple(range(kinematics.NUM_JOINTS)) if joints is None else tuple(joints)
    curves = DegreeCurves(tuple(degrees), joints,
                          {m: {k: np.full(len(degrees), np.nan) for k in kinds} for m in probe.models})
    total, done = len(kinds) * len(degrees) * len(joints), 0
    for kind in kinds:
        for d_index, degree in enumerate(degrees):
            samples = {model: [] for model in probe.models}
            for joint in joints:
                _, moved = probe.occlude(reference, joint_occluder(reference, joint, kind, degree, angle))
                for model in probe.models:
                    samples[model].append(moved.mean_mm(model))
                done += 1
                yield done, total
            for model, values in samples.items():
                found = [v for v in values if np.isfinite(v)]
                curves.mean_mm[model][kind][d_index] = float(np.mean(found)) if found else np.nan
    return curves
