"""Scores of a `probabilistic` model's pose flow (ProHMR's protocol): the mode against the regressor's own answer,
min-of-n errors, the likelihood of the truth, and the spread of the samples under occlusion.

For each test row the flow draws n poses (seeded); every pose gets the regressor's betas, and min-of-n is the
smallest error among the first n of them (ProHMR, Table 2: with many samples, one lies close to the truth).
Errors are MPJPE / PA-MPJPE in mm on the 24 SMPL joints (pelvis-aligned / Procrustes-aligned), or on the real
benchmark the 12 body landmarks without the hips, as its scoring does. The regressor runs once, unmirrored: the
flow is conditioned on that run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from hkmr_studio.body.landmarks import BodyLandmarks
from hkmr_studio.body.model import BodyModel, load_body_model
from hkmr_studio.checkpoints import LoadedModel
from hkmr_studio.geometry.cameras import normalised_to_pixels
from hkmr_studio.geometry.rotations import axis_angle_to_rot6d, rot6d_to_matrix
from hkmr_studio.nets.probabilistic import pose6d_to_smpl, require_flow
from hkmr_studio.occlusion import DEGREES, OCCLUDER_KINDS
from training.evaluation.flow_refit import compare_refits, joint_scorer, landmark_scorer
from training.evaluation.flow_refit_inputs import RealInputs
from training.evaluation.flow_runs import FlowRun, run_flow, smpl_joint_errors
from training.evaluation.testset import TestSet
from training.repo_paths import shown_path
from training.trainer.data import Batch

MIN_OF_N: tuple[int, ...] = (1, 10, 100, 1000)
FAMILY_MIN_OF_N: tuple[int, ...] = (1, 10, 100)
#: Rows per chunk of samples drawn at once (rows x n poses go through the flow and the body together).
_CHUNK_POSES = 16_384
_REAL_CHUNK_POSES = 1_000  # whole meshes there (for the landmarks)
#: Test rows scored per occlusion cell, and samples drawn per row for the spread there.
OCCLUSION_ROWS = 192
SPREAD_SAMPLES = 50

#: (pred (N, J, 3), true (N, J, 3)) -> (N,) pelvis-aligned and Procrustes-aligned errors, mm.
ErrorFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def pose_joints(body: BodyModel, pose6d: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    """(N, 24, 6), (N, 10) -> (N, 24, 3) SMPL joints."""
    return body.joints_from_rotmats(rot6d_to_matrix(pose6d), betas)


def sample_errors(model: LoadedModel, run: FlowRun, truth: torch.Tensor, n: int, errors: ErrorFn,
                  points: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], seed: int = 0,
                  chunk_poses: int = _CHUNK_POSES) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n samples per row: their errors (B, n) MPJPE and PA-MPJPE, and the spread (B, J): per point, the standard
    deviation of its position over the samples (root-free: points are centred on their mean), mm.
    points: (pose6d (N, 24, 6), betas (N, 10)) -> (N, J, 3) the points scored; truth (B, J, 3)."""
    flow = require_flow(model.net)
    generator = torch.Generator().manual_seed(seed)
    rows_per_chunk = max(1, chunk_poses // n)
    mpjpe, pa, spread = [], [], []
    with torch.inference_mode():
        for start in range(0, len(run.betas), rows_per_chunk):
            rows = slice(start, start + rows_per_chunk)
            context = run.context.select(rows)
            drawn, _ = flow.sample(n, context, generator)  # (b, n, 24, 6)
            b = len(context)
            pred = points(drawn.flatten(0, 1), run.betas[rows].repeat_interleave(n, 0))
            pred = pred - pred.mean(1, keepdim=True)
            true = truth[rows].repeat_interleave(n, 0)
            e, p = errors(pred, true)
            mpjpe.append(e.reshape(b, n))
            pa.append(p.reshape(b, n))
            spread.append(pred.reshape(b, n, *pred.shape[1:]).std(1).norm(dim=-1) * 1000.0)
    return torch.cat(mpjpe), torch.cat(pa), torch.cat(spread)


def min_of_n(errors: torch.Tensor, ns: Sequence[int]) -> dict[str, float]:
    """(B, N) errors of N samples -> {n: mean over rows of the smallest of the first n}, for each n <= N."""
    return {str(n): round(float(errors[:, :n].amin(1).mean()), 2) for n in ns if n <= errors.shape[1]}


def log_likelihoods(model: LoadedModel, run: FlowRun, batch: Batch, seed: int = 0) -> dict[str, float]:
    """Mean log p(pose | context) (nats, 144-D density) of the true pose, of another row's true pose (the rows
    shuffled) and of random joint angles (axis-angle ~ N(0, 0.5^2) per joint, the true global orientation)."""
    flow = require_flow(model.net)
    true_pose = torch.cat([batch["global_orient"], batch["body_pose"]], 1).reshape(-1, 24, 3)
    generator = torch.Generator().manual_seed(seed)
    shuffled = true_pose[torch.randperm(len(true_pose), generator=generator)]
    random = torch.cat([true_pose[:, :1], 0.5 * torch.randn(len(true_pose), 23, 3, generator=generator)], 1)
    with torch.inference_mode():
        return {name: round(float(flow.log_prob(axis_angle_to_rot6d(pose), run.context).mean()), 1)
                for name, pose in (("truth", true_pose), ("other_rows_truth", shuffled), ("random_angles", random))}


def score_batch(model: LoadedModel, batch: Batch, rows: int, ns: Sequence[int] = MIN_OF_N) -> dict[str, Any]:
    """Regressor and mode errors on all rows of a synthetic batch; min-of-n, the spread and the likelihoods on its
    first `rows` rows."""
    body = load_body_model()
    run = run_flow(model, batch)
    truth = batch["joints3d"]
    with torch.inference_mode():
        point = smpl_joint_errors(pose_joints(body, run.point, run.betas), truth)
        mode = smpl_joint_errors(pose_joints(body, require_flow(model.net).mode(run.context), run.betas), truth)
    head = {k: v[:rows] for k, v in batch.items()}
    head_run = FlowRun(run.context.select(slice(0, rows)), run.betas[:rows], run.point[:rows], run.camera[:rows])
    mpjpe, pa, spread = sample_errors(model, head_run, truth[:rows], max(ns), smpl_joint_errors,
                                      lambda pose, betas: pose_joints(body, pose, betas))
    return {
        "samples": len(truth),
        "regressor": _pair(point),
        "mode": _pair(mode),
        "min_of_n_rows": rows,
        "min_of_n_mpjpe_mm": min_of_n(mpjpe, ns),
        "min_of_n_pa_mpjpe_mm": min_of_n(pa, ns),
        "spread_mm": round(float(spread.mean()), 1),
        "log_likelihood": log_likelihoods(model, head_run, head),
    }


def occlusion_spread(model: LoadedModel, test_set: TestSet) -> dict[str, Any]:
    """Per pattern and degree (plus the unoccluded reference): the mode's MPJPE, and the samples' spread over all
    joints and at the occluded joint, on OCCLUSION_ROWS rows of the grid spread evenly over the occluded joints."""
    body = load_body_model()
    clean = len(test_set.clean["joints3d"])

    def cell(batch: Batch, occluded_joint: torch.Tensor | None) -> dict[str, float]:
        run = run_flow(model, batch)
        with torch.inference_mode():
            mode = smpl_joint_errors(pose_joints(body, require_flow(model.net).mode(run.context), run.betas),
                                     batch["joints3d"])[0]
        _, _, spread = sample_errors(model, run, batch["joints3d"], SPREAD_SAMPLES, smpl_joint_errors,
                                     lambda pose, betas: pose_joints(body, pose, betas))
        result = {"mode_mpjpe_mm": round(float(mode.mean()), 1), "spread_mm": round(float(spread.mean()), 1)}
        if occluded_joint is not None:
            at_joint = spread.gather(1, occluded_joint[:, None])
            result["spread_at_occluded_joint_mm"] = round(float(at_joint.mean()), 1)
        return result

    rows = _spread_rows(clean * 24, OCCLUSION_ROWS)
    reference = cell({k: v[rows % clean] for k, v in test_set.clean.items()}, rows // clean)
    grid = {kind: {str(d): cell({k: v[rows] for k, v in test_set.occluded[(kind, d)].items()}, rows // clean)
                   for d in DEGREES} for kind in OCCLUDER_KINDS}
    return {"rows": len(rows), "samples_per_row": SPREAD_SAMPLES, "unoccluded": reference, "occluded": grid}


def score_real(model: LoadedModel, batch: Batch, truth: torch.Tensor, ns: Sequence[int] = (1, 10, 100)) -> dict[str, Any]:
    """The real benchmark: batch as training.real.scoring.network_batch makes it, truth (N, 33, 3) the triangulated
    landmarks in each view's camera axes; errors on the body landmarks without the hips (as its scoring's main
    column), for the regressor (unmirrored), the mode and min-of-n."""
    from training.real.scoring import per_sample_errors

    def errors(pred: torch.Tensor, true: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scored = per_sample_errors(pred, true.numpy())
        return torch.from_numpy(scored["mpjpe_no_hips_mm"]), torch.from_numpy(scored["pa_mpjpe_no_hips_mm"])

    landmarks = BodyLandmarks(load_body_model())

    def points(pose6d: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
        global_orient, body_pose = pose6d_to_smpl(pose6d)
        return landmarks(global_orient, body_pose, betas).landmarks

    run = run_flow(model, batch)
    with torch.inference_mode():
        point = errors(points(run.point, run.betas), truth)
        mode = errors(points(require_flow(model.net).mode(run.context), run.betas), truth)
    mpjpe, pa, spread = sample_errors(model, run, truth, max(ns), errors, points, chunk_poses=_REAL_CHUNK_POSES)
    return {
        "samples": len(truth),
        "scored": "body landmarks without the hips",
        "regressor": _pair(point),
        "mode": _pair(mode),
        "min_of_n_mpjpe_mm": min_of_n(mpjpe, ns),
        "min_of_n_pa_mpjpe_mm": min_of_n(pa, ns),
        "spread_mm": round(float(spread.mean()), 1),
    }


def _spread_rows(count: int, wanted: int) -> torch.Tensor:
    """min(count, wanted) row indices spread evenly over `count` rows."""
    return torch.linspace(0, count - 1, min(count, wanted)).long()


def _pair(errors: tuple[torch.Tensor, torch.Tensor]) -> dict[str, float]:
    return {"mpjpe_mm": round(float(errors[0].mean()), 2), "pa_mpjpe_mm": round(float(errors[1].mean()), 2)}


def evaluate_flow(model: LoadedModel, test_set: TestSet, rows: int, real: RealInputs | None, refit_views: int = 0,
                  log: Callable[[str], None] = print) -> dict[str, Any]:
    """Everything above for one model: the standard set (min-of-n for n in MIN_OF_N on its first `rows` rows), each
    pose family (min-of-n up to 100 on all its rows), the rendered test split if loaded, the occlusion grid and the
    real benchmark if given; with refit_views, the flow-prior refit against SMPLify on that many views (spread
    evenly) of the rendered test split and of the real benchmark (training.evaluation.flow_refit)."""

    started = time.perf_counter()
    result: dict[str, Any] = {"name": model.name, "path": shown_path(model.path)}
    log("flow: standard set")
    result["standard"] = score_batch(model, test_set.standard, min(rows, len(test_set.standard["joints3d"])))
    log("flow: pose families")
    result["per_family"] = {name: score_batch(model, batch, len(batch["joints3d"]), FAMILY_MIN_OF_N)
                            for name, batch in test_set.families.items()}
    if test_set.rendered is not None:
        log("flow: rendered test split")
        result["rendered"] = score_batch(model, test_set.rendered, min(rows, len(test_set.rendered["joints3d"])))
    log("flow: occlusion grid")
    result["occlusion"] = occlusion_spread(model, test_set)
    if real is not None:
        log("flow: real benchmark")
        result["real"] = score_real(model, real.batch, real.truth)
    body = load_body_model()
    refits: dict[str, Any] = {}
    if refit_views and test_set.rendered is not None:
        log(f"flow: refits on {refit_views} rendered views")
        batch = test_set.rendered
        picked = _spread_rows(len(batch["joints3d"]), refit_views)
        box = batch["box"]
        refits["rendered"] = compare_refits(
            model, batch, normalised_to_pixels(batch["keypoints"], box[:, :2], box[:, 2]),
            batch["visibility"] * batch["mask"], box, batch["focal_length"], batch["principal_point"],
            joint_scorer(body, batch["joints3d"][picked]), picked)
    if refit_views and real is not None:
        log(f"flow: refits on {refit_views} real views")
        picked = _spread_rows(len(real.truth), refit_views)
        refits["real"] = compare_refits(model, real.batch, real.keypoints_px, real.weights, real.crops, real.focal,
                                        real.principal, landmark_scorer(body, real.truth[picked]), picked)
    if refits:
        result["refit"] = refits
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def table(result: dict[str, Any]) -> str:
    """A plain-text summary of evaluate_flow's result."""
    lines = [f"{result['name']} ({result['path']}): MPJPE / PA-MPJPE, mm"]

    def row(label: str, scores: dict[str, Any]) -> str:
        mins = " ".join(f"{n}: {scores['min_of_n_mpjpe_mm'][n]:.1f}/{scores['min_of_n_pa_mpjpe_mm'][n]:.1f}"
                        for n in scores["min_of_n_mpjpe_mm"])
        ll = scores.get("log_likelihood")
        likelihood = f" | log p truth {ll['truth']:.1f}, other rows {ll['other_rows_truth']:.1f}, random " \
                     f"{ll['random_angles']:.1f}" if ll else ""
        return (f"{label:<24} regressor {scores['regressor']['mpjpe_mm']:.1f}/{scores['regressor']['pa_mpjpe_mm']:.1f}"
                f" | mode {scores['mode']['mpjpe_mm']:.1f}/{scores['mode']['pa_mpjpe_mm']:.1f} | min-of-n {mins}"
                f" | spread {scores['spread_mm']:.1f}{likelihood}")

    lines.append(row("synthetic", result["standard"]))
    if "rendered" in result:
        lines.append(row("rendered test split", result["rendered"]))
    if "real" in result:
        lines.append(row("real (no hips)", result["real"]))
    lines += [row(f"  {name}", scores) for name, scores in result["per_family"].items()]
    occlusion = result["occlusion"]
    lines.append(f"occlusion: spread at the occluded joint (all joints), mm; unoccluded "
                 f"{occlusion['unoccluded']['spread_at_occluded_joint_mm']:.1f} "
                 f"({occlusion['unoccluded']['spread_mm']:.1f})")
    for kind, cells in occlusion["occluded"].items():
        lines.append(f"  {kind:<10} " + "  ".join(
            f"DoC {d}: {c['spread_at_occluded_joint_mm']:.1f} ({c['spread_mm']:.1f})" for d, c in cells.items()))
    for name, refit in result.get("refit", {}).items():
        lines.append(f"refit on {refit['views']} {name} views, MPJPE / PA-MPJPE mm (s per view): " + ", ".join(
            f"{method} {refit[method]['mpjpe_mm']:.1f}/{refit[method]['pa_mpjpe_mm']:.1f}"
            + (f" ({refit[method]['seconds_per_view']:.2f} s)" if "seconds_per_view" in refit[method] else "")
            for method in ("regressor", "smplify", "flow_prior"))
            + f"; flow prior better on {refit['flow_prior_better_pa_views']} views")
    return "\n".join(lines)
