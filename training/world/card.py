"""The world landmarks' data card (training/data/WORLD_LANDMARKS.md): what MediaPipe's world landmarks get wrong on the
rendered set, the model fitted to it, and how well the model reproduces the held-out samples' errors beside the
independent per-axis noise the generator used before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from hkmr_studio.atomic import atomic_write_text
from training.poses.families import FAMILIES
from training.samples.detector_model import DetectorStatistics
from training.samples.world_model import FIT_COMMAND, LIMB_KINDS, WorldErrorModel
from training.world.fit import GROSS_DEG, HOLDOUT_EVERY, WorldPairs, rotation_spreads
from training.world.statistics import WorldErrorStatistics, world_error_statistics

CARD_PATH = Path(__file__).resolve().parents[1] / "data" / "WORLD_LANDMARKS.md"
#: Landmark groups of the per-landmark table (MediaPipe indices).
GROUPS = {"face (0-10)": range(11), "shoulders, elbows": (11, 12, 13, 14), "wrists, hands": range(15, 23),
          "hips": (23, 24), "knees": (25, 26), "ankles, feet": range(27, 33)}  # fmt: skip
#: Pose family groups of the per-family rows.
FAMILY_GROUPS = {
    "upright families": ("standing", "walking", "running", "lunging", "jumping", "kicking", "dancing", "reaching_up",
                         "reaching_forward", "arms_overhead", "arms_crossed", "hands_on_hips", "hand_to_face"),
    "sitting, kneeling, squatting, bending": ("sitting_chair", "sitting_cross_legged", "sitting_legs_out",
                                              "kneeling_one_knee", "kneeling_both_knees", "squatting",
                                              "bending_forward", "reaching_down"),
    "lying": ("lying_back", "lying_front", "lying_side"),
}  # fmt: skip
SIMULATION_SEED = 0


def _independent_noise(truth: torch.Tensor, seed: int) -> torch.Tensor:
    """The generator's former world landmarks: the truth plus independent Gaussian noise per axis."""
    noise = torch.tensor(DetectorStatistics.load().world_noise, dtype=torch.float64)
    return truth + torch.randn(truth.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * noise


def _table(columns: dict[str, WorldErrorStatistics]) -> list[str]:
    names = list(columns)
    lines = ["| statistic | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    summaries = [c.summary() for c in columns.values()]
    for key in summaries[0]:
        digits = 0 if key == "samples" else 3 if "flipped" in key or "swapped" in key or "above" in key else 2
        lines.append(f"| {key} | " + " | ".join(f"{s[key]:.{digits}f}" for s in summaries) + " |")
    for group, members in GROUPS.items():
        values = [c.landmark_rms_cm[list(members)].mean(axis=0) for c in columns.values()]
        lines.append(f"| RMS x, y, z (cm): {group} | "
                     + " | ".join(", ".join(f"{v:.1f}" for v in value) for value in values) + " |")
    for label in next(iter(columns.values())).by_pitch:
        cells = [f"{c.by_pitch[label][1]:.1f} deg, {c.by_pitch[label][2]:.1f} cm" for c in columns.values()]
        count = next(iter(columns.values())).by_pitch[label][0]
        lines.append(f"| {label} ({count}): median rotation, mean error | " + " | ".join(cells) + " |")
    return lines


def _by_family(pairs: WorldPairs) -> list[str]:
    lines = ["| poses | samples | median rotation (deg) | rotation above 90 deg | mean error (cm) | PA error (cm) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    groups = {"library poses": pairs.family < 0}
    for name, members in FAMILY_GROUPS.items():
        groups[name] = np.isin(pairs.family, [list(FAMILIES).index(m) for m in members])
    for name, chosen in groups.items():
        if chosen.any():
            stats = world_error_statistics(*(t[torch.from_numpy(chosen)] for t in (pairs.predicted, pairs.truth)))
            lines.append(f"| {name} | {stats.samples} | {stats.rotation_deg[0]:.1f} | {stats.gross_share:.3f} | "
                         f"{stats.mean_error_cm:.1f} | {stats.pa_error_cm:.1f} |")
    return lines


def write(path: Path, model: WorldErrorModel, held_out: WorldPairs, source: dict[str, object]) -> Path:
    """The card for `model`, fitted on the rest of the training split described by `source` (path, samples, seed),
    checked on `held_out`."""
    pitch = torch.rad2deg(held_out.pitch)
    simulated = model.apply(held_out.truth.float(), held_out.pitch.float(), held_out.hips.float(),
                            torch.Generator().manual_seed(SIMULATION_SEED)).double()
    columns = {
        "MediaPipe (held out)": world_error_statistics(held_out.predicted, held_out.truth, pitch_deg=pitch),
        "fitted model": world_error_statistics(simulated, held_out.truth, pitch_deg=pitch),
        "independent noise (before)": world_error_statistics(_independent_noise(held_out.truth, SIMULATION_SEED),
                                                             held_out.truth, pitch_deg=pitch),
    }
    seen = columns["MediaPipe (held out)"]
    body_spread, optical_spread = rotation_spreads(model, held_out, held_out.predicted)
    ray = np.quantile(np.degrees(np.arccos((held_out.hips[:, 2] / held_out.hips.norm(dim=1)).numpy())), (0.5, 0.9))
    flips = ", ".join(f"{k} {r:.1%}" for k, r in zip(LIMB_KINDS, model.limb_flip_rates))
    covariances = [np.degrees(np.sqrt(np.diag(c))) for c in model.rotation_covariances]
    mixture = "; ".join(f"{w:.0%} with standard deviations {', '.join(f'{v:.1f}' for v in c)} deg"
                        for w, c in zip(model.rotation_weights, covariances))
    lines = [
        "# MediaPipe's world landmarks: their errors and the model the generator draws them from", "",
        (f"Written by `{FIT_COMMAND}` from the rendered set's training split ({source['path']}: {source['samples']} "
        f"samples, seed {source['seed']}, MediaPipe found {source['found']}); every {HOLDOUT_EVERY}th chunk of 16 is "
        f"held out ({len(held_out)} samples) and the model fitted on the rest ({model.fitted_on['samples']}). The test "
        "split is never read. The model (training/data/world_error_model.json, training/samples/world_model.py) "
        "replaces the generator's independent per-axis noise (SampleConfig.fitted_world_errors)."), "",
        ("Truth: the render's landmarks, hip-centred, in the camera's axes (x right, y down, z away). Rotation and scale: "
        "the similarity about the hips that maps the truth onto MediaPipe's landmarks; PA error: after aligning "
        "MediaPipe's onto the truth, as PA-MPJPE does. `training.world.statistics.world_error_statistics(predicted, "
        "truth, valid, pitch_deg)` computes every number below from (N, 33, 3) pairs, e.g. on the real benchmark "
        "(truth: triangulated landmarks in each camera's frame, hip-centred)."), "",
        "## What MediaPipe's world landmarks get wrong", "",
        (f"- Frame: camera-aligned, but turned towards the person: the landmarks turn by {model.ray_share:.0%} of the "
        "angle between the optical axis and the ray to the hips (MediaPipe sees its crop as if its camera looked "
        f"straight at the person); that angle is {ray[0]:.0f} deg for half the held-out samples and above "
        f"{ray[1]:.0f} deg for a tenth (off-centre people in wide photos)."),
        (f"- Looking down: MediaPipe reports {-model.pitch_slope[0]:.0%} less of the camera's pitch than there is "
        f"(about the camera's x axis; {-model.pitch_slope[0] * 40:.1f} deg at 40 deg from above): it leans towards "
        "upright people, but does not ignore the view."),
        (f"- Rotation error (held out): median {seen.rotation_deg[0]:.1f} deg, 90 % {seen.rotation_deg[2]:.1f}, 99 % "
        f"{seen.rotation_deg[4]:.1f}; {seen.gross_share:.1%} above 90 deg (facing the wrong way or upside down). Its "
        f"spread (median absolute deviation, the rest): {np.degrees(body_spread[1]):.1f} deg about the body's up "
        f"(the heading), {np.degrees(body_spread[0]):.1f} about its left-right axis, "
        f"{np.degrees(body_spread[2]):.1f} about its forward axis, and {np.degrees(optical_spread):.1f} about the "
        "optical axis (the 2D landmarks pin the turn within the photo)."),
        (f"- Scale: median {seen.scale[2]:.2f} (5-95 %: {seen.scale[0]:.2f}-{seen.scale[4]:.2f}); bigger bodies come "
        f"out relatively smaller (log-scale slope {model.scale_size_slope:.2f} against log size)."),
        f"- Depth compression: the aligned depth is {seen.depth_slope:.2f} x the true one.",
        (f"- Per axis (cm, no alignment): RMS {', '.join(f'{v:.1f}' for v in seen.axis_rms_cm)}; mean error "
        f"{seen.mean_error_cm:.1f} cm; after alignment (PA) {seen.pa_error_cm:.1f} cm, RMS "
        f"{', '.join(f'{v:.1f}' for v in seen.pa_axis_rms_cm)}."),
        (f"- Foreshortened limbs turned the other way in depth: {', '.join(f'{k} {v:.1%}' for k, v in zip(LIMB_KINDS, seen.limb_flips))}"
        f"; left and right swapped: arms {seen.swaps[1]:.1%}, legs {seen.swaps[2]:.1%}."),
        "",
        "Per pose (held out):", "", *_by_family(held_out), "",
        "## The model", "",
        (f"Per sample: limb depth flips ({flips}); depth times {model.depth_scale:.3f}; residuals with a mean offset per "
        f"landmark (mean size {np.linalg.norm(np.array(model.offset), axis=1).mean() * 100:.1f} cm) and a covariance "
        f"of rank {len(model.factors[0])} + diagonal, scaled per sample by a log-normal level (spread "
        f"{model.residual_level_spread:.2f}); a turn by {model.ray_share:.0%} of the ray's angle and an error "
        f"rotation: mean {model.pitch_slope[0]:.2f} x pitch about x, a two-component mixture in the body's "
        f"axes (left, up, forward): {mixture}, its part about the optical axis times {model.optical_axis_share:.2f}; "
        f"at {model.gross_rate:.1%} (above {GROSS_DEG:g} deg) one of {len(model.gross_rotations)} gross rotations seen "
        f"on the fitted samples; a scale (log-slope {model.scale_size_slope:.2f} against size, quantiles fitted); "
        f"world-only left/right swaps (arms {model.swap_rates[1]:.1%}, legs {model.swap_rates[2]:.1%}). Rotation "
        f"spread, scale, residual level, flips and depth are calibrated by {model.fitted_on['calibration_rounds']} "
        "rounds of simulation on the fitted samples."), "",
        "## How well it reproduces the held-out samples", "",
        ("The same statistics of MediaPipe on the held-out samples, of the model drawn once on their truth (seed "
        f"{SIMULATION_SEED}), and of the independent noise the generator added before "
        f"({', '.join(f'{100 * v:.1f}' for v in DetectorStatistics.load().world_noise)} cm per axis):"), "",
        *_table(columns),
    ]  # fmt: skip
    return atomic_write_text(path, "\n".join(lines) + "\n")
