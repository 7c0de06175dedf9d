"""The fixed synthetic test set and its occluded copies (the paper's occlusion protocol, Fig. 6).

Standard set: one batch of the sample generator under EVAL_SEED (a seed training refuses), with MediaPipe-like
detector noise and no random occluders. Occlusion grid: the first `occlusion_samples` of it, each seen 24 times per
(pattern, degree), once with the occluder centred on each SMPL joint's 2D position; the landmarks it covers are
displaced, lose visibility or vanish as the detector model says, and the crop is cut again from what stays visible,
as inference would. Sizes follow hkmr_studio.occlusion (degree d at a 224 px crop: bar width 10 d px, circle radius
10 d px, rectangle area 3,000 d px^2), scaled to each sample's crop; bar and rectangle angles (and rectangle aspects)
are drawn once per (sample, joint) and shared by every pattern and degree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hkmr_studio.body import kinematics
from hkmr_studio.geometry.cameras import normalised_to_pixels, pixels_to_normalised
from hkmr_studio.occlusion import DEGREES, OCCLUDER_KINDS, make_occluder
from hkmr_studio.pipeline.keypoints import VISIBILITY_THRESHOLD
from training.evaluation import DEFAULT_OCCLUSION_SAMPLES, DEFAULT_PER_FAMILY, DEFAULT_SAMPLES
from training.poses.families import FAMILIES
from training.rendered.dataset import RenderedSet
from training.rendered.source import RenderedBatches
from training.repo_paths import shown_path
from training.samples import corruption
from training.samples.cameras import person_crops
from training.samples.generator import SampleConfig, SampleGenerator
from training.trainer.config import EVAL_SEED
from training.trainer.data import Batch, true_landmark_pixels


@dataclass
class TestSet:
    """standard: the whole set; clean: its first M samples (the occlusion grid's unoccluded reference);
    occluded[(kind, degree)]: those M samples x 24 joints, joint-major (rows j * M to j * M + M - 1 occlude joint j);
    families[name]: samples of that pose family (training.poses) alone, made like the standard set;
    rendered: the rendered set's test split (MediaPipe's own landmarks on rendered bodies, training.rendered), its
    samples where MediaPipe found the person, with their pose family in "family" (-1: library poses).
    """

    config: SampleConfig
    standard: Batch
    clean: Batch
    occluded: dict[tuple[str, int], Batch] = field(default_factory=dict)
    families: dict[str, Batch] = field(default_factory=dict)
    rendered: Batch | None = None
    rendered_info: dict[str, Any] = field(default_factory=dict)


def _take(batch: Batch, rows: torch.Tensor | slice) -> Batch:
    return {k: v[rows] for k, v in batch.items()}


def _occlude(base: Batch, generator: SampleGenerator, kind: str, degree: int, angles: torch.Tensor,
             aspects: torch.Tensor, rng: torch.Generator) -> Batch:
    """`base` (M samples) x 24 joints with the occluder of (kind, degree) on each joint in turn."""
    config, stats = generator.config, generator.statistics
    count = len(base["keypoints"])
    box = base["box"]
    pixels = normalised_to_pixels(base["keypoints"], box[:, :2], box[:, 2])  # the detected landmarks, photo px
    joints = normalised_to_pixels(base["joints2d"], box[:, :2], box[:, 2])
    true_px = true_landmark_pixels(base, config.photo_px)
    person = (true_px.amax(dim=1) - true_px.amin(dim=1)).amax(dim=1)  # (M,) as the generator measures it
    present = base["mask"].bool()
    parts = []
    for j in range(kinematics.NUM_JOINTS):
        occluders = [
            make_occluder(kind, degree, tuple(joints[b, j].tolist()), float(angles[b, j]), float(box[b, 2]),
                          aspect=float(aspects[b, j]))
            for b in range(count)
        ]  # fmt: skip
        covered = corruption.covered_by(occluders, true_px) & present  # what the occluder really hides
        moved, visibility = corruption.occlude(pixels, base["visibility"], covered, person, stats, rng)
        hidden = covered & (torch.rand(covered.shape, generator=rng) < config.hide_fraction)
        kept = present & ~hidden
        crop = person_crops(moved, kept & (visibility >= VISIBILITY_THRESHOLD), kept, config.photo_px)
        mask = kept.float()
        part = dict(base)
        part["keypoints"] = pixels_to_normalised(moved, crop[:, :2], crop[:, 2]) * mask[..., None]
        part["visibility"], part["mask"], part["box"] = visibility * mask, mask, crop
        parts.append(part)
    return {k: torch.cat([p[k] for p in parts]) for k in base}


def build_family_sets(per_family: int, seed: int = EVAL_SEED) -> dict[str, Batch]:
    """`per_family` samples of each pose family, in the family's own poses and orientations, otherwise made like the
    standard set (detector noise, no random occluders); the same for a seed."""
    sets = {}
    for name in FAMILIES:
        config = SampleConfig(batch_size=per_family, seed=seed, occluder_fraction=0.0, family_fraction=1.0,
                              family_weights={name: 1.0})
        sets[name] = SampleGenerator(config).batch(0)
    return sets


def load_rendered_test(path: Path, generator: SampleGenerator) -> tuple[Batch, dict[str, Any]]:
    """The rendered set's test split at `path` as one batch of the samples where MediaPipe found the person (made by
    the standard set's `generator`: its body and landmarks), and what the JSON says about it (path, samples, found)."""
    rendered = RenderedSet.load(path, split="test")
    batch = RenderedBatches(rendered, generator, len(rendered)).everything()
    return batch, {"path": shown_path(path), "samples": len(rendered), "found": int(rendered.found.sum()),
                   "families": rendered.family_names}


def build_test_set(
    samples: int = DEFAULT_SAMPLES, occlusion_samples: int = DEFAULT_OCCLUSION_SAMPLES, seed: int = EVAL_SEED,
    per_family: int = DEFAULT_PER_FAMILY, rendered: Path | None = None,
) -> TestSet:
    """The standard set of `samples`, the occlusion grid on its first `occlusion_samples`, `per_family` samples of
    each pose family (0: none) and the rendered test split at `rendered` (None: none); the same for a seed."""
    if not 1 <= occlusion_samples <= samples:
        raise ValueError(f"occlusion_samples must lie in [1, samples={samples}], got {occlusion_samples}")
    if per_family < 0:
        raise ValueError(f"per_family must be 0 (no family sets) or more, got {per_family}")
    config = SampleConfig(batch_size=samples, seed=seed, occluder_fraction=0.0)
    generator = SampleGenerator(config)
    standard = generator.batch(0)
    clean = _take(standard, slice(0, occlusion_samples))
    rng = torch.Generator().manual_seed(seed)
    shape = (occlusion_samples, kinematics.NUM_JOINTS)
    angles = torch.rand(shape, generator=rng) * math.pi
    aspects = torch.exp(1.4 * torch.rand(shape, generator=rng) - 0.7)  # as the training occluders draw them
    occluded = {
        (kind, degree): _occlude(clean, generator, kind, degree, angles, aspects, rng)
        for kind in OCCLUDER_KINDS
        for degree in DEGREES
    }
    families = build_family_sets(per_family, seed) if per_family else {}
    rendered_batch, rendered_info = load_rendered_test(rendered, generator) if rendered is not None else (None, {})
    return TestSet(config, standard, clean, occluded, families, rendered_batch, rendered_info)
