"""SMPLify refit time and 2D error on synthetic keypoints (`hkmr-studio bench fitting`).

One body (~450 px tall in a 640 x 480 frame). A refit from a regressor-like start (the true pose perturbed by
0.15 rad per joint, 10 cm off in depth). A drag as the window refits it: the left hand's keypoints moved 40 px in
DRAG_MOVES steps, pinned, the chains of other keypoints held (`local_edits.held_joints`); a "changing" refit per move,
each warm-started from the one before, then the release's full refit of the final position from the start.
Medians over repeated runs; target <= 100 ms per drag refit on 2 CPU cores.
"""

from __future__ import annotations

import math
import statistics
import time

import torch

from hkmr_studio.body import kinematics
from hkmr_studio.body.model import load_body_model
from hkmr_studio.fitting.result import FitResult
from hkmr_studio.fitting.smplify import (
    PINNED_WEIGHT,
    SMPLify,
    SMPLifyConfig,
    changing_refit_config,
    drag_refit_config,
)
from hkmr_studio.pipeline.local_edits import held_joints

FOCAL = 1000.0
PRINCIPAL = torch.tensor([[320.0, 240.0]])
LEFT_HAND = [15, 17, 19, 21]  # MediaPipe: the left wrist and the hand it carries along
DRAG_PX = (40.0, -40.0)
DRAG_MOVES = 8
TARGET_MS = 100.0
_PARAMS = ("global_orient", "body_pose", "betas", "transl")


def _truth() -> dict[str, torch.Tensor]:
    body_pose = torch.zeros(1, 69)
    body_pose[0, 3 * (kinematics.JOINT_INDEX["left_elbow"] - 1) + 1] = -1.0
    body_pose[0, 3 * (kinematics.JOINT_INDEX["left_knee"] - 1)] = 0.8
    return {"global_orient": torch.tensor([[math.pi, 0.2, 0.0]]), "body_pose": body_pose,
            "betas": torch.zeros(1, 10), "transl": torch.tensor([[0.0, 0.1, 4.0]])}


def _params(fit: FitResult) -> dict[str, torch.Tensor]:
    return {name: getattr(fit, name) for name in _PARAMS}


def _timed(fit) -> tuple[float, FitResult]:
    """(milliseconds, result) of one call of `fit`."""
    start = time.perf_counter()
    result = fit()
    return (time.perf_counter() - start) * 1e3, result


def _median_ms(fit, rounds: int) -> tuple[float, FitResult]:
    fit()  # warm-up
    runs = [_timed(fit) for _ in range(rounds)]
    return statistics.median(ms for ms, _ in runs), runs[-1][1]


class _Drag:
    """The drag scenario: keypoints of the body `truth` with the left hand moved by a fraction of DRAG_PX."""

    def __init__(self, body, truth: dict[str, torch.Tensor], keypoints: torch.Tensor) -> None:
        self.truth, self.keypoints = truth, keypoints
        self.weights = torch.ones(1, 33)
        self.weights[0, LEFT_HAND] = PINNED_WEIGHT  # the window pins what the user moved
        self.held = held_joints(LEFT_HAND)
        self.changing = SMPLify(body, changing_refit_config())
        self.release = SMPLify(body, drag_refit_config())

    def moved(self, fraction: float) -> torch.Tensor:
        moved = self.keypoints.clone()
        moved[0, LEFT_HAND] += fraction * torch.tensor(DRAG_PX)
        return moved

    def fit(self, fitter: SMPLify, fraction: float, warm: FitResult | None) -> FitResult:
        return fitter.fit(self.moved(fraction), self.weights, self.truth, FOCAL, PRINCIPAL, held_joints=self.held,
                          warm_start=None if warm is None else _params(warm))

    def moves(self) -> tuple[list[float], FitResult]:
        """Milliseconds of the changing refits, one per move, and the last one's result."""
        times, fit = [], None
        for step in range(1, DRAG_MOVES + 1):
            ms, fit = _timed(lambda s=step, f=fit: self.fit(self.changing, s / DRAG_MOVES, f))
            times.append(ms)
        return times, fit


def _error_line(fit: FitResult) -> str:
    return (f"wrist error {fit.error2d_before[0, LEFT_HAND[0]]:.1f} -> {fit.error2d_after[0, LEFT_HAND[0]]:.2f} px, "
            f"mean 2D error {fit.error2d_after.nanmean():.3f} px")


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
    lines = [f"SMPLify on MediaPipe-33 keypoints, median of {rounds} runs (a fit of one body runs on 1 torch thread)"]
    ms, result = _median_ms(lambda: refit.fit(keypoints, torch.ones(1, 33), start, FOCAL, PRINCIPAL), rounds)
    lines.append(f"  refit from a regressor-like start: {ms:6.1f} ms, {result.iterations} iterations, mean 2D error "
                 f"{result.error2d_before.nanmean():.1f} px -> {result.error2d_after.nanmean():.1f} px")

    drag = _Drag(body, truth, keypoints)
    drag.moves()  # warm-up
    changing_ms: list[float] = []
    for _ in range(rounds):
        times, last = drag.moves()
        changing_ms += times
    changing = statistics.median(changing_ms)
    release_ms, release = _median_ms(lambda: drag.fit(drag.release, 1.0, None), rounds)
    lines += [
        f"  drag of the left hand by {math.hypot(*DRAG_PX):.0f} px in {DRAG_MOVES} moves, the other chains held:",
        f"    changing refit (per move, warm-started): {changing:6.1f} ms, {last.iterations} iterations, at the last "
        + f"move {_error_line(last)}",
        f"    release refit (full, from the start):    {release_ms:6.1f} ms, {release.iterations} iterations, "
        + _error_line(release),
    ]
    worst = max(changing, release_ms)
    lines.append(f"  target <= {TARGET_MS:.0f} ms per drag refit: {'met' if worst <= TARGET_MS else 'NOT met'} "
                 f"(changing {changing / TARGET_MS:.2f}x, release {release_ms / TARGET_MS:.2f}x the target)")
    return "\n".join(lines)
