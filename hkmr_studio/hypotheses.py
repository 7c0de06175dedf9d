"""Plausible bodies for one photo from the probabilistic model (ProHMR's flow): the mode, N samples and the flip
reading, each as camera-frame parameters with its joints in 3D and in the photo, and the samples' spread per joint;
and the flow-prior refit to the photo's (edited) keypoints. Qt-free: the Hypotheses dock draws what this computes.

Every hypothesis shares the probabilistic model's betas and camera translation for the photo (the flow models the
pose, the global orientation included), so they differ only where the pose is uncertain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hkmr_studio.fitting.flow_prior import FlowPriorFit
from hkmr_studio.geometry.cameras import crop_camera_to_image_translation, perspective_project
from hkmr_studio.nets.flow import FlowContext
from hkmr_studio.nets.probabilistic import pose6d_to_smpl, predict_with_flow, require_flow
from hkmr_studio.pipeline.core import BodyEstimate, Pipeline, PipelineResult, network_inputs
from hkmr_studio.pipeline.keypoints import Keypoints2D

DEFAULT_SAMPLES = 12


@dataclass(frozen=True)
class Hypothesis:
    """One body: label ("mode", "flip", "sample 3", "flow-prior fit"); global_orient (3,), body_pose (69,), betas
    (10,), transl (3,) camera frame, metres; joints3d (24, 3) camera frame metres, joints2d (24, 2) photo pixels;
    log_prob under the flow (nan for the flip, which the flow was not asked about); error2d_px: mean distance of its
    landmarks to the keypoints (nan when not measured)."""

    label: str
    global_orient: np.ndarray
    body_pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    joints3d: np.ndarray
    joints2d: np.ndarray
    log_prob: float = float("nan")
    error2d_px: float = float("nan")

    def params(self) -> dict[str, np.ndarray]:
        """The camera-frame parameters, as `Pipeline.posed` takes them."""
        return {"global_orient": self.global_orient, "body_pose": self.body_pose, "betas": self.betas,
                "transl": self.transl}


@dataclass(frozen=True)
class Hypotheses:
    """entries: the mode first, then the flip reading (when the photo allows one), then the samples; spread_mm (24,):
    per joint, the samples' standard deviation of its pelvis-relative position, mm."""

    entries: tuple[Hypothesis, ...]
    spread_mm: np.ndarray

    def samples(self) -> tuple[Hypothesis, ...]:
        return tuple(h for h in self.entries if h.label.startswith("sample"))


class HypothesisMaker:
    """Runs the probabilistic model on a photo's keypoints; construct once, reuse per photo (worker thread)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.flow = require_flow(pipeline.model.net)
        self._fitter: FlowPriorFit | None = None

    def make(self, base: PipelineResult, samples: int = DEFAULT_SAMPLES, seed: int = 0,
             flow_fit: bool = False) -> Hypotheses:
        """The mode, the flip reading and `samples` samples (seeded) for `base`'s photo and keypoints; with
        `flow_fit`, also the flow-prior refit to the keypoints (visibility as weights), started from the best of
        them."""
        pipeline, keypoints = self.pipeline, base.keypoints
        result = pipeline.run(base.image, keypoints=keypoints, focal_length=base.focal_length,
                              focal_source=base.focal_length_source)
        if not result.found:
            raise ValueError(f"the probabilistic model found no body in these keypoints: {result.message}")
        use_world = bool(pipeline.model.meta.get("uses_world_landmarks", False))
        inputs = network_inputs(keypoints, base.image.original_size, use_world)
        principal = torch.tensor([base.principal_point], dtype=torch.float32)
        with torch.inference_mode():
            prediction = predict_with_flow(pipeline.model.net, inputs.landmarks, inputs.visibility, inputs.mask,
                                           inputs.world)
            context = prediction.context
            betas = prediction.output.betas
            crop = torch.tensor([inputs.crop], dtype=torch.float32)
            transl = crop_camera_to_image_translation(prediction.output.camera, crop[:, :2], crop[:, 2],
                                                      base.focal_length, principal)
            drawn, latents = self.flow.sample(samples, context, torch.Generator().manual_seed(seed))
            poses = torch.cat([self.flow.mode(context), drawn[0]])  # (1 + n, 24, 6)
            log_probs = self.flow.log_prob(poses, context.repeat(len(poses)))
        bodies = self._bodies(poses, betas, transl, base.focal_length, principal)
        labels = ["mode"] + [f"sample {i + 1}" for i in range(samples)]
        entries = [self._entry(label, body, float(lp)) for label, body, lp in zip(labels, bodies, log_probs,
                                                                                   strict=True)]
        flipped = pipeline.flip(result)
        if flipped.best is not None:
            entries.insert(1, self._estimate_entry("flip", flipped.best))
        joints = np.stack([b[4] for b in bodies[1:]])
        spread = np.linalg.norm((joints - joints[:, :1]).std(axis=0), axis=-1) * 1000.0
        if flow_fit:
            entries.insert(1, self._flow_fit(keypoints, context, betas, transl, base.focal_length, principal,
                                             latents))
        return Hypotheses(tuple(entries), spread)

    def _flow_fit(self, keypoints: Keypoints2D, context: FlowContext, betas: torch.Tensor, transl: torch.Tensor, focal: float,
                  principal: torch.Tensor, latents: torch.Tensor) -> Hypothesis:
        if self._fitter is None:
            self._fitter = FlowPriorFit(self.pipeline.body, self.flow)
        weights = torch.as_tensor(keypoints.visibility * keypoints.present, dtype=torch.float32)[None]
        xy = torch.as_tensor(keypoints.xy, dtype=torch.float32)[None]
        fitted = self._fitter.fit(xy, weights, context, betas, transl, focal, principal, latents)
        if not fitted.fit.ok:
            raise ValueError(f"the flow-prior refit could not run: {fitted.fit.message}")
        body = self._bodies(fitted.pose6d, betas, transl, focal, principal)[0]
        return self._entry("flow-prior fit", body, float(fitted.log_prob[0]),
                           float(fitted.fit.error2d_after.nanmean()))

    def _bodies(self, poses: torch.Tensor, betas: torch.Tensor, transl: torch.Tensor, focal: float,
                principal: torch.Tensor) -> list[tuple[np.ndarray, ...]]:
        """(N, 24, 6) poses with the shared betas (1, 10) and transl (1, 3) -> per pose (global_orient, body_pose,
        betas, transl, joints3d, joints2d) as numpy."""
        count = len(poses)
        global_orient, body_pose = pose6d_to_smpl(poses)
        with torch.inference_mode():
            joints = self.pipeline.body.joints_only(global_orient, body_pose, betas.expand(count, -1),
                                                    transl.expand(count, -1))
            joints2d = perspective_project(joints, focal, principal.expand(count, -1))
        return [(global_orient[i].numpy(), body_pose[i].numpy(), betas[0].numpy(), transl[0].numpy(),
                 joints[i].numpy(), joints2d[i].numpy()) for i in range(count)]

    @staticmethod
    def _entry(label: str, body: tuple[np.ndarray, ...], log_prob: float, error2d: float = float("nan")
               ) -> Hypothesis:
        return Hypothesis(label, *body, log_prob=log_prob, error2d_px=error2d)

    @staticmethod
    def _estimate_entry(label: str, body: BodyEstimate) -> Hypothesis:
        return Hypothesis(label, body.global_orient, body.body_pose, body.betas, body.transl, body.joints3d,
                          body.joints2d)
