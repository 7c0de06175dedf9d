"""SMPLify refit time and 2D error on synthetic keypoints (`hkmr-studio bench fitting`).

Two scenarios on one body (~450 px tall in a 640 x 480 frame): a refit from a regressor-like start (the true pose
perturbed by 0.15 rad per joint, 10 cm off in depth), and a drag refit (the left hand's keypoints moved 40 px, from
the true pose, with the drag settings). Medians over repeated runs; target <= 100 ms per refit on 2 CPU cores.
"""

from __future__ import annotations

import math
import statistics
import time

import torch

from hkmr_studio.body import kinematics
from hkmr_studio.body.model import load_body_model
from hkmr_studio.fitting.smplify import PINNED_WEIGHT, SMPLify, SMPLifyConfig, drag_refit_config

FOCAL = 1000.0
PRINCIPAL = torch.tensor([[320.0, 240.0]])
LEFT_HAND = [15, 17, 19, 21]
TARGET_MS = 100.0


def _truth() -> dict[str, torch.Tensor]:
    body_pose = torch.zeros(1, 69)
    body_pose[0, 3 * (kinematics.JOINT_INDEX["left_elbow"] - 1) + 1] = -1.0
    body_pose[0, 3 * (kinematics.JOINT_INDEX["left_knee"] - 1)] = 0.8
    return {"global_orient": torch.tensor([[math.pi, 0.2, 0.0]]), "body_pose": body_pose,
            "betas": torch.zeros(1, 10), "transl": torch.tensor([[0.0, 0.1, 4.0]])}


def _time(fitter: SMPLify, keypoints: torch.Tensor, weights: torch.Tensor, init: dict[str, torch.Tensor],
          rounds: int) -> tuple[float, object]:
    fitter.fit(keypoints, weights, init, FOCAL, PRINCIPAL)  # warm-up
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fitter.fit(keypoints, weights, init, FOCAL, PRINCIPAL)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), result


def run(rounds: int = 10) -> str:
    body = load_body_model()
    truth = _truth()
    generator = torch.Generator().manual_seed(0)
    refit = SMPLify(body, SMPLifyConfig(pose_prior="init"))
    with torch.no_grad():
        keypoints = refit._project(truth, FOCAL, PRINCIPAL)
    start = {
        "global_orient": truth["global_orient"] + 0.1 * torch.randn(1, 3, generator=generator),
        "body_pose": truth["body_pose"] + 0.15 * torch.randn(1, 69, generator=generator),
        "betas": torch.zeros(1, 10),
        "transl": truth["transl"] + torch.tensor([[0.03, 0.03, 0.1]]),
    }
    lines = [f"SMPLify on MediaPipe-33 keypoints, median of {rounds} runs, {torch.get_num_threads()} torch threads"]
    ms, result = _time(refit, keypoints, torch.ones(1, 33), start, rounds)
    lines.append(f"  refit from a regressor-like start: {ms:6.1f} ms, {result.iterations} iterations, mean 2D error "
                 f"{result.error2d_before.nanmean():.1f} px -> {result.error2d_after.nanmean():.1f} px")
    dragged = keypoints.clone()
    dragged[0, LEFT_HAND] += torch.tensor([40.0, -40.0])
    weights = torch.ones(1, 33)
    weights[0, LEFT_HAND[0]] = PINNED_WEIGHT
    ms_drag, drag = _time(SMPLify(body, drag_refit_config(pose_prior="init")), dragged, weights, truth, rounds)
    lines.append(f"  drag refit (left hand moved 40 px):  {ms_drag:6.1f} ms, {drag.iterations} iterations, wrist error "
                 f"{drag.error2d_before[0, 15]:.1f} px -> {drag.error2d_after[0, 15]:.1f} px, left arm moved "
                 f"{drag.chain_change_mm['left_arm'].item():.0f} mm")
    worst = max(ms, ms_drag)
    lines.append(f"  target <= {TARGET_MS:.0f} ms per refit: {'met' if worst <= TARGET_MS else 'NOT met'} "
                 f"(slowest {worst:.0f} ms, {worst / TARGET_MS:.2f}x the target)")
    return "\n".join(lines)
