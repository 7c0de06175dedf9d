"""MPJPE and PA-MPJPE (mm) of body predictors on the test set: overall, per chain, per joint, and the occlusion grid.

A predictor maps a batch (testset.TestSet's) to SMPL parameters (global_orient (B, 3), body_pose (B, 69),
betas (B, 10)); its 3D joints are compared with the true camera-frame joints, both pelvis-aligned (MPJPE) or after
Procrustes alignment (PA-MPJPE).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from hkmr_studio.body import kinematics
from hkmr_studio.body.keypoint_sets import PARTIAL_INPUTS
from hkmr_studio.body.model import load_body_model
from hkmr_studio.checkpoints import LoadedModel, load_checkpoint
from hkmr_studio.geometry.metrics import per_joint_error, procrustes_align
from hkmr_studio.nets.mirror_average import mirror_averaged
from hkmr_studio.occlusion import DEGREES, OCCLUDER_KINDS
from training.evaluation.partial import partial_batch
from training.evaluation.testset import TestSet
from training.repo_paths import shown_path
from training.trainer.data import Batch, regress

Params = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
Predictor = Callable[[Batch], Params]
CHUNK = 1024


def model_predictor(model: LoadedModel, device: torch.device, mirror: bool = True) -> Predictor:
    """A model file's network as a predictor, fed world landmarks only if its meta says it reads them; with
    `mirror`, a keypoint network's answers are mirror-averaged as the app's are (hkmr_studio.nets.mirror_average)."""
    use_world = bool(model.meta.get("uses_world_landmarks", False))
    net = model.net.to(device).eval()

    @torch.inference_mode()
    def predict(batch: Batch) -> Params:
        batch = {k: v.to(device) for k, v in batch.items()}
        if not mirror or net.input_kind != "keypoints":
            out = regress(net, batch, use_world)
            return out.global_orient.cpu(), out.body_pose.cpu(), out.betas.cpu()
        with_world = batch["has_world"].bool() & use_world
        params = [torch.empty(len(with_world), n) for n in (3, 69, 10)]
        for rows, world in ((with_world, batch["world"]), (~with_world, None)):
            if rows.any():
                out = mirror_averaged(net, batch["keypoints"][rows], batch["visibility"][rows], batch["mask"][rows],
                                      None if world is None else world[rows])
                for target, value in zip(params, (out.global_orient, out.body_pose, out.betas), strict=True):
                    target[rows.cpu()] = value.cpu()
        return params[0], params[1], params[2]

    return predict


def joint_errors(predict: Predictor, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 24) errors in mm, pelvis-aligned and Procrustes-aligned, predicting in chunks of CHUNK samples."""
    body = load_body_model()
    aligned, procrustes = [], []
    for start in range(0, len(batch["joints3d"]), CHUNK):
        part = {k: v[start : start + CHUNK] for k, v in batch.items()}
        with torch.inference_mode():
            pred = body.joints_only(*predict(part))
        pred = pred - pred[:, :1]
        true = part["joints3d"] - part["joints3d"][:, :1]
        aligned.append(per_joint_error(pred, true))
        procrustes.append(per_joint_error(procrustes_align(pred, true), true))
    return torch.cat(aligned) * 1000.0, torch.cat(procrustes) * 1000.0


def _mm(value: torch.Tensor) -> float:
    return round(float(value.mean()), 2)


def evaluate_predictor(predict: Predictor, test_set: TestSet) -> dict[str, Any]:
    """The results of one predictor: overall, per chain and per joint on the standard set; the occlusion grid's mean
    MPJPE per pattern and degree, with its unoccluded reference on the same samples; MPJPE and PA-MPJPE per pose
    family."""
    aligned, procrustes = joint_errors(predict, test_set.standard)
    chains = {c.name: list(c.joints) for c in kinematics.CHAINS}
    per_family = {}
    for name, batch in test_set.families.items():
        family_aligned, family_procrustes = joint_errors(predict, batch)
        per_family[name] = {"mpjpe_mm": _mm(family_aligned), "pa_mpjpe_mm": _mm(family_procrustes)}
    return {
        "mpjpe_mm": _mm(aligned),
        "pa_mpjpe_mm": _mm(procrustes),
        "per_chain": {name: {"mpjpe_mm": _mm(aligned[:, j]), "pa_mpjpe_mm": _mm(procrustes[:, j])}
                      for name, j in chains.items()},
        "per_joint": {name: {"mpjpe_mm": _mm(aligned[:, j]), "pa_mpjpe_mm": _mm(procrustes[:, j])}
                      for j, name in enumerate(kinematics.JOINT_NAMES)},
        "occlusion_reference_mpjpe_mm": _mm(joint_errors(predict, test_set.clean)[0]),
        "occlusion": {kind: {str(d): _mm(joint_errors(predict, test_set.occluded[(kind, d)])[0]) for d in DEGREES}
                      for kind in OCCLUDER_KINDS},
        "per_family": per_family,
        "rendered": rendered_errors(predict, test_set) if test_set.rendered is not None else {},
    }  # fmt: skip


def rendered_errors(predict: Predictor, test_set: TestSet) -> dict[str, Any]:
    """MPJPE and PA-MPJPE on the rendered test split: all of it, its library poses, each pose family, and all of it
    given only the landmarks of each partial input (training.evaluation.partial)."""
    assert test_set.rendered is not None
    family = test_set.rendered["family"]
    everything = torch.ones_like(family, dtype=torch.bool)

    def summary(errors: tuple[torch.Tensor, torch.Tensor], rows: torch.Tensor) -> dict[str, Any]:
        return {"mpjpe_mm": _mm(errors[0][rows]), "pa_mpjpe_mm": _mm(errors[1][rows]), "samples": int(rows.sum())}

    full = joint_errors(predict, test_set.rendered)
    names = test_set.rendered_info["families"]
    return {
        "all": summary(full, everything),
        "library": summary(full, family < 0),
        "per_family": {name: summary(full, family == i) for i, name in enumerate(names) if bool((family == i).any())},
        "partial": {kind: summary(joint_errors(predict, partial_batch(test_set.rendered, kind,
                                                                      test_set.config.photo_px)), everything)
                    for kind in PARTIAL_INPUTS},
    }


def describe_test_set(test_set: TestSet) -> dict[str, Any]:
    """What the JSON says about the test set."""
    return {
        "seed": test_set.config.seed,
        "samples": len(test_set.standard["joints3d"]),
        "occlusion_samples": len(test_set.clean["joints3d"]),
        "occlusion": {"patterns": list(OCCLUDER_KINDS), "degrees": list(DEGREES),
                      "occluded_joints": list(kinematics.JOINT_NAMES)},
        "per_family": {name: len(batch["joints3d"]) for name, batch in test_set.families.items()},
        "generator": asdict(test_set.config),
        "rendered": test_set.rendered_info,
    }


def evaluate_models(paths: list[str | Path], test_set: TestSet, device: torch.device) -> dict[str, Any]:
    """Evaluate model files (paths or shipped names); results keyed by each file's meta name (made unique)."""
    started = time.perf_counter()
    models: dict[str, Any] = {}
    for path in paths:
        model = load_checkpoint(path)
        clock = time.perf_counter()
        result = evaluate_predictor(model_predictor(model, device), test_set)
        name, suffix = model.name, 2
        while name in models:
            name, suffix = f"{model.name} ({suffix})", suffix + 1
        models[name] = {"path": shown_path(model.path), "regressor": model.config.regressor, "encoder": model.config.encoder,
                        "trained": model.trained, **result, "seconds": round(time.perf_counter() - clock, 1)}
    return {"test_set": describe_test_set(test_set), "models": models,
            "seconds": round(time.perf_counter() - started, 1)}
