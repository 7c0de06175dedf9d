"""The probabilistic model's speed (`hkmr-studio bench flow`): the mode plus 100 samples at batch 1, and a
flow-prior refit after a drag.

One body (the fitting benchmark's, ~450 px tall in a 640 x 480 frame) gives MediaPipe-33 keypoints; the network
reads them as the app does (crop from the keypoints, no world landmarks). Then: (1) the network's features, point
estimate and the flow's context, the mode and 100 samples; (2) the flow-prior refit (hkmr_studio.fitting.flow_prior)
to the keypoints with the left hand moved 40 px, starting from the best of the mode and those samples. Medians over
repeated runs on one thread, as the app's refits run; targets <= 30 ms and <= 150 ms on 2 CPU cores.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from hkmr_studio.bench.fitting import FOCAL, LEFT_HAND, PRINCIPAL, _truth
from hkmr_studio.body.landmarks import BodyLandmarks
from hkmr_studio.body.model import load_body_model
from hkmr_studio.checkpoints import PROBABILISTIC_MODEL, load_checkpoint
from hkmr_studio.fitting.flow_prior import FlowPriorFit
from hkmr_studio.fitting.smplify import PINNED_WEIGHT, single_thread_for_one_body, warm_up_lbfgs
from hkmr_studio.geometry.cameras import perspective_project, pixels_to_normalised
from hkmr_studio.geometry.crops import crop_boxes_from_points
from hkmr_studio.nets.probabilistic import predict_with_flow, require_flow

SAMPLES = 100
TARGET_SAMPLING_MS = 30.0
TARGET_REFIT_MS = 150.0


def _median_ms(call: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    call()  # warm-up
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), result


def run(model: str = PROBABILISTIC_MODEL, rounds: int = 20) -> str:
    loaded = load_checkpoint(model)
    net, flow = loaded.net, require_flow(loaded.net)
    body = load_body_model()
    truth = _truth()
    with torch.no_grad():
        points = BodyLandmarks(body)(truth["global_orient"], truth["body_pose"], truth["betas"]).landmarks
        keypoints = perspective_project(points + truth["transl"][:, None], FOCAL, PRINCIPAL)  # (1, 33, 2) px
    box = crop_boxes_from_points(keypoints, torch.ones(1, 33, dtype=torch.bool))
    landmarks = pixels_to_normalised(keypoints, box[:, :2], box[:, 2])
    ones = torch.ones(1, 33)
    generator = torch.Generator()

    def sample() -> tuple[Any, torch.Tensor, torch.Tensor]:
        with torch.inference_mode():
            prediction = predict_with_flow(net, landmarks, ones, ones, None)
            flow.mode(prediction.context)
            return prediction, *flow.sample(SAMPLES, prediction.context, generator.manual_seed(0))

    lines = [f"{loaded.name} ({loaded.path}): median of {rounds} runs, one thread"]
    with single_thread_for_one_body(keypoints):
        ms_sample, (prediction, _, latents) = _median_ms(sample, rounds)
    lines.append(f"  network + mode + {SAMPLES} samples, batch 1: {ms_sample:6.1f} ms "
                 f"({ms_sample / TARGET_SAMPLING_MS:.2f}x the {TARGET_SAMPLING_MS:.0f} ms target)")

    dragged = keypoints.clone()
    dragged[0, LEFT_HAND] += torch.tensor([40.0, -40.0])
    weights = torch.ones(1, 33)
    weights[0, LEFT_HAND[0]] = PINNED_WEIGHT
    context = prediction.context
    fitter = FlowPriorFit(body, flow)
    warm_up_lbfgs()
    ms_fit, fit = _median_ms(lambda: fitter.fit(dragged, weights, context, truth["betas"], truth["transl"], FOCAL,
                                                PRINCIPAL, latents), rounds)
    lines.append(f"  flow-prior refit (left hand moved 40 px, start: best of mode + {SAMPLES} samples): "
                 f"{ms_fit:6.1f} ms, {fit.fit.iterations} iterations, wrist error "
                 f"{fit.fit.error2d_before[0, 15]:.1f} px -> {fit.fit.error2d_after[0, 15]:.1f} px, mean 2D error "
                 f"{fit.fit.error2d_before.nanmean():.1f} -> {fit.fit.error2d_after.nanmean():.1f} px "
                 f"({ms_fit / TARGET_REFIT_MS:.2f}x the {TARGET_REFIT_MS:.0f} ms target)")
    return "\n".join(lines)
