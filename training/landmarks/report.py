"""training/data/LANDMARKS.md: what `calibrate-landmarks` did and measured."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hkmr_studio.atomic import atomic_write_text
from hkmr_studio.body.landmarks import LandmarkDefinition
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES
from training.landmarks.fit import FitSettings, residuals, swapped_landmarks, usable
from training.landmarks.initial import MAX_CANDIDATE_VERTICES
from training.landmarks.observe import Observations, RenderSettings
from training.samples.detector_model import DISPLACEMENT_LEVELS, DetectorStatistics
from training.samples.self_occlusion import DEPTH_MARGIN_M, SPLAT_RADIUS_M, SURFACE_SPACING_M

_VIEWS = (("front (yaw within 45 deg)", 0, 45), ("side (45-135 deg)", 45, 135), ("back (beyond 135 deg)", 135, 181))


@dataclass
class ReportInputs:
    obs: Observations
    start: LandmarkDefinition
    definition: LandmarkDefinition
    held_out: np.ndarray
    swaps: np.ndarray
    hidden: np.ndarray
    statistics: DetectorStatistics
    poses: str
    seed: int
    render: RenderSettings
    fit: FitSettings
    elapsed_s: float
    output: Path
    statistics_path: Path


def _stats(values: np.ndarray) -> str:
    values = values[np.isfinite(values)]
    return f"{values.mean():.1f} | {np.median(values):.1f}" if len(values) else "- | -"


def _views(obs: Observations) -> list[tuple[str, np.ndarray]]:
    yaw = np.abs(np.degrees(obs.yaw))
    return [(name, (yaw >= low) & (yaw < high)) for name, low, high in _VIEWS]


def write(path: Path, r: ReportInputs) -> Path:
    obs = r.obs
    count = len(obs.found)
    evaluate = r.held_out[:, None] & ~swapped_landmarks(r.swaps)
    before = np.where(evaluate, residuals(obs, r.start), np.nan)  # (N, 33)
    after = np.where(evaluate, residuals(obs, r.definition), np.nan)
    s = r.statistics
    lines = [
        "# MediaPipe landmarks on the open body: calibration report",
        "",
        (
            f"Written by `python -m training calibrate-landmarks --renders {count} --seed {r.seed}` "
            f"({r.elapsed_s / 60:.1f} min on this machine). Definition: `{r.output.name}`; detector statistics: "
            f"`{r.statistics_path.name}` (read by the sample generator, training/samples)."
        ),
        "",
        "## Settings",
        "",
        (
            f"- Renders: {count}, {r.render.image_size} x {r.render.image_size} px, body's longer projected side "
            f"{r.render.body_height_px:.0f} px +- {100 * r.render.height_jitter:.0f} %, centre within "
            f"+-{r.render.offset_px:.0f} px of the image centre; pinhole focal length uniform in "
            f"{r.render.focal_range_px[0]:.0f}-{r.render.focal_range_px[1]:.0f} px."
        ),
        (
            f"- Poses: {r.poses}, uniform. Shapes: betas ~ N(0, {r.render.betas_std:g}) clipped at "
            f"+-{r.render.betas_clip:g}. Views: yaw uniform over 360 degrees, camera pitch ~ N(0, "
            f"{r.render.pitch_std_deg:g} deg), roll ~ N(0, {r.render.roll_std_deg:g} deg)."
        ),
        (
            "- Look: shaded mesh (MeshRenderer) with a random skin tone, hair, shirt (long or short sleeves), "
            "trousers or shorts and shoes, over a procedural room (light wall, floor, furniture-like blocks, "
            "shading, sensor noise). MediaPipe Pose, model complexity 1, static images, RGB."
        ),
        (
            "- Every render is detected twice: as drawn, and with one synthetic occluder of the paper's protocol (bar, "
            "circle or rectangle, degree 1-5 for a crop 1.2 x the body's size, flat or textured fill) centred on a "
            "random joint."
        ),
        (
            f"- Fit: renders with i % 4 != 0 (held out: the other {int(r.held_out.sum())}), landmarks MediaPipe "
            "calls visible (>= 0.5), not in a group MediaPipe swapped left and right. Per left landmark (its right "
            "mirror image shares the weights) non-negative least squares over up to "
            f"{MAX_CANDIDATE_VERTICES} candidate vertices within a few centimetres of the anatomical start plus the "
            "nearest joint; weights sum to 1; ridge "
            f"{r.fit.ridge:g} px^2 towards the start; Huber reweighting at {r.fit.huber_px:g} px, "
            f"{r.fit.iterations} rounds."
        ),
        (
            "- Before: the anatomical start (SMPL joints for shoulders, elbows, wrists, hips, knees, ankles; smplx's "
            "face, heel and toe vertices; hand landmarks halfway between the hand joint and a finger tip)."
        ),
        "",
        "## Detection",
        "",
        (
            f"MediaPipe found the body in **{int(obs.found.sum())}/{count}** renders "
            f"({100 * obs.found.mean():.1f} %); with an occluder drawn over the render in "
            f"{int(obs.occluded_found.sum())}/{count}. Left and right swapped (the mirrored detections fit the start "
            f"clearly better): face in {int(r.swaps[:, 0].sum())}, arms in {int(r.swaps[:, 1].sum())}, legs in "
            f"{int(r.swaps[:, 2].sum())} renders; those landmarks are left out of the fit and the residuals."
        ),
        "",
        "| view | renders | found | a group swapped | residual before (mean / median px) | after (mean / median px) |",
        "|---|---|---|---|---|---|",
    ]
    for name, view in _views(obs):
        lines.append(
            f"| {name} | {int(view.sum())} | {int(obs.found[view].sum())} | {int(r.swaps[view].any(axis=1).sum())} | "
            f"{_stats(before[view]).replace(' | ', ' / ')} | {_stats(after[view]).replace(' | ', ' / ')} |"
        )
    lines += [
        "",
        "## Residual per landmark (held-out renders)",
        "",
        (
            "Distance in pixels between MediaPipe's landmark and the definition's projection, body about "
            f"{r.render.body_height_px:.0f} px tall, over held-out renders where MediaPipe calls the landmark visible. "
            "`seen`: how many such detections. `vertices`/`joint weight`: the calibrated definition. Means include "
            f"MediaPipe's gross errors ({100 * s.outlier_rate:.1f} % of its visible landmarks lie more than 0.1 "
            "person sizes from the calibrated ones, mostly in acrobatic poses and back views); medians show the "
            "typical offset."
        ),
        "",
        "| landmark | seen | before mean | before median | after mean | after median | vertices | joint weight |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, name in enumerate(MEDIAPIPE_LANDMARK_NAMES):
        lm = r.definition.landmarks[i]
        lines.append(
            f"| {name} | {int(np.isfinite(after[:, i]).sum())} | {_stats(before[:, i])} | {_stats(after[:, i])} | "
            f"{len(lm.vertex_ids)} | {sum(lm.joint_weights):.2f} |"
        )
    lines += [
        f"| **all** | {int(np.isfinite(after).sum())} | {_stats(before)} | {_stats(after)} | | |",
        "",
        "## How MediaPipe errs around the calibrated landmarks (all renders)",
        "",
        (
            "Lengths as fractions of the person's size (longer side of the 33 landmarks' box; ~0.9 x the body height "
            "for a standing person). These numbers drive the corruption of synthetic samples."
        ),
        "",
        (
            f"- Noise (robust standard deviation per axis): median over landmarks {np.median(s.noise):.4f}, "
            f"from {min(s.noise):.4f} ({MEDIAPIPE_LANDMARK_NAMES[int(np.argmin(s.noise))]}) to {max(s.noise):.4f} "
            f"({MEDIAPIPE_LANDMARK_NAMES[int(np.argmax(s.noise))]}). Outliers (> 0.1): {100 * s.outlier_rate:.1f} % "
            f"of seen landmarks, median distance {s.outlier_scale:.3f}. Left/right swaps per found body: face "
            f"{100 * s.swap_rates[0]:.1f} %, arms {100 * s.swap_rates[1]:.1f} %, legs {100 * s.swap_rates[2]:.1f} %."
        ),
        f"- Under an occluder MediaPipe still finds the body in {100 * s.occluded_detection_rate:.0f} % of renders; "
        "a covered landmark moves by (quantiles "
        + ", ".join(
            f"{q:g}: {v:.3f}" for q, v in zip(DISPLACEMENT_LEVELS, s.covered_displacement) if q in (0.1, 0.5, 0.9)
        )
        + ").",
        (
            f"- World landmarks vs the hip-centred calibrated landmarks: standard deviation per axis (x, y, z) "
            f"{', '.join(f'{100 * v:.1f}' for v in s.world_noise)} cm."
        ),
        (
            f"- Self-occlusion test (point splats: {SURFACE_SPACING_M * 100:.0f} cm surface grid, "
            f"{SPLAT_RADIUS_M * 100:.0f} cm splats, {DEPTH_MARGIN_M * 100:.0f} cm depth margin) flags "
            f"{100 * r.hidden[obs.found].mean():.0f} % of landmarks as hidden by the body. MediaPipe's mean visibility:"
        ),
        "",
        "| landmarks | seen by the test | hidden by the test | covered by an occluder |",
        "|---|---|---|---|",
    ]
    groups = {"face (0-10)": range(11), "shoulders, hips": (11, 12, 23, 24), "elbows, knees": (13, 14, 25, 26),
              "wrists, hands": range(15, 23), "ankles, heels, toes": (27, 28, 29, 30, 31, 32)}  # fmt: skip
    for name, members in groups.items():
        members = list(members)
        lines.append(
            f"| {name} | {np.mean(s.array('visibility_seen_mean')[members]):.2f} | "
            f"{np.mean(s.array('visibility_hidden_mean')[members]):.2f} | "
            f"{np.mean(s.array('visibility_covered_mean')[members]):.2f} |"
        )
    seen = usable(obs)
    lines += [
        "",
        f"{100 * seen[obs.found].mean():.0f} % of the landmarks of found bodies are reported visible (>= 0.5).",
        "",
    ]
    return atomic_write_text(path, "\n".join(lines))
