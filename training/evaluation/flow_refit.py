"""Refit with the flow prior against SMPLify, both from the probabilistic model's regressor, on the rendered test
split and on the real benchmark (ProHMR, Table 3 and supplement: its fitting beat SMPLify).

For each scored view: the photo's keypoints (MediaPipe's, visibility as weights), the regressor's body placed in the
photo's camera (its crop camera turned into a translation), then (a) SMPLify with the app's Refine settings
(`fitting.smplify.refine_config`) and (b) the flow-prior refit (`fitting.flow_prior`) started from the best of the
mode and 100 samples. One view at a time, as the app fits. Errors as training.evaluation.flow_runs measures them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from hkmr_studio.body.landmarks import BodyLandmarks
from hkmr_studio.body.model import BodyModel, load_body_model
from hkmr_studio.checkpoints import LoadedModel
from hkmr_studio.fitting.flow_prior import FlowPriorFit
from hkmr_studio.fitting.smplify import SMPLify, refine_config
from hkmr_studio.geometry.cameras import crop_camera_to_image_translation
from hkmr_studio.nets.probabilistic import pose6d_to_smpl, require_flow
from training.evaluation.flow_runs import run_flow, smpl_joint_errors
from training.trainer.data import Batch

REFIT_SAMPLES = 100
#: (global_orient (N, 3), body_pose (N, 69), betas (N, 10)) -> (N,) MPJPE and PA-MPJPE, mm.
Scorer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def compare_refits(model: LoadedModel, batch: Batch, keypoints_px: torch.Tensor, weights: torch.Tensor,
                   crops: torch.Tensor, focal: torch.Tensor, principal: torch.Tensor, score: Scorer,
                   rows: torch.Tensor) -> dict[str, Any]:
    """batch: the network's inputs; keypoints_px (N, 33, 2) photo pixels, weights (N, 33), crops (N, 3) (centre x,
    centre y, side) px, focal (N,) px, principal (N, 2) px; score: the truth's errors of bodies; rows: the views
    fitted. Returns each method's mean MPJPE / PA-MPJPE over those rows, its seconds per view, and on how many
    views the flow-prior refit beat SMPLify (PA-MPJPE)."""
    body = load_body_model()
    flow = require_flow(model.net)
    run = run_flow(model, {k: v[rows] for k, v in batch.items()})
    smplify, flow_fit = SMPLify(body, refine_config()), FlowPriorFit(body, flow)
    generator = torch.Generator().manual_seed(0)
    params: dict[str, list[torch.Tensor]] = {"regressor": [], "smplify": [], "flow_prior": []}
    seconds = {"smplify": 0.0, "flow_prior": 0.0}
    for i, row in enumerate(rows.tolist()):
        crop = crops[row : row + 1]
        transl = crop_camera_to_image_translation(run.camera[i : i + 1], crop[:, :2], crop[:, 2], float(focal[row]),
                                                  principal[row : row + 1])
        global_orient, body_pose = pose6d_to_smpl(run.point[i : i + 1])
        betas = run.betas[i : i + 1]
        params["regressor"].append(torch.cat([global_orient, body_pose, betas], 1))
        init = {"global_orient": global_orient, "body_pose": body_pose, "betas": betas, "transl": transl}
        start = time.perf_counter()
        fit = smplify.fit(keypoints_px[row : row + 1], weights[row : row + 1], init, float(focal[row]),
                          principal[row : row + 1])
        seconds["smplify"] += time.perf_counter() - start
        params["smplify"].append(torch.cat([fit.global_orient, fit.body_pose, fit.betas], 1))
        context = run.context.select(slice(i, i + 1))
        start = time.perf_counter()
        with torch.no_grad():
            _, latents = flow.sample(REFIT_SAMPLES, context, generator)
        fitted = flow_fit.fit(keypoints_px[row : row + 1], weights[row : row + 1], context, betas, transl,
                              float(focal[row]), principal[row : row + 1], latents)
        seconds["flow_prior"] += time.perf_counter() - start
        params["flow_prior"].append(torch.cat([fitted.fit.global_orient, fitted.fit.body_pose, betas], 1))
    errors = {}
    with torch.inference_mode():
        for name, values in params.items():
            stacked = torch.cat(values)
            errors[name] = score(stacked[:, :3], stacked[:, 3:72], stacked[:, 72:])
    result: dict[str, Any] = {"views": len(rows)}
    for name, (mpjpe, pa) in errors.items():
        result[name] = {"mpjpe_mm": round(float(mpjpe.mean()), 1), "pa_mpjpe_mm": round(float(pa.mean()), 1)}
        if name in seconds:
            result[name]["seconds_per_view"] = round(seconds[name] / len(rows), 3)
    result["flow_prior_better_pa_views"] = int((errors["flow_prior"][1] < errors["smplify"][1]).sum())
    return result


def joint_scorer(body: BodyModel, joints3d: torch.Tensor) -> Scorer:
    """Scores against true SMPL joints (N, 24, 3) (rows already selected)."""

    return lambda go, bp, betas: smpl_joint_errors(body.joints_only(go, bp, betas), joints3d)


def landmark_scorer(body: BodyModel, truth: torch.Tensor) -> Scorer:
    """Scores against the real benchmark's landmarks (N, 33, 3), body landmarks without the hips."""
    from training.real.scoring import per_sample_errors

    landmarks = BodyLandmarks(body)

    def score(go: torch.Tensor, bp: torch.Tensor, betas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scored = per_sample_errors(landmarks(go, bp, betas).landmarks, truth.numpy())
        return torch.from_numpy(scored["mpjpe_no_hips_mm"]), torch.from_numpy(scored["pa_mpjpe_no_hips_mm"])

    return score
