"""A regressor's trace as a sequence of bodies for the chain inspector, and the inspector's job (Qt-free).

Entries run in the order the regressor made them: outer step t, inner pass p (HKMR: T x P passes, forward and
backward along each chain; HMR: one pass per iteration), then the pipeline's body, which averages that answer with
the answer to the mirror image (hkmr_studio.nets.mirror_average). For each entry: the pose, the body's joints in the photo's
camera frame (OpenCV: x right, y down, z forward, metres) and projected to photo pixels, and per joint the size of its
update, the angle (degrees) of the rotation that takes its local rotation at the previous entry to this one (at the
first entry, from the regressor's mean starting pose).

The inspector builds a frozen `TraceRequest` on the GUI thread; `TraceJobs.run` turns it into the bodies of the
window's trace and the baseline's on its worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hkmr_studio.body import kinematics
from hkmr_studio.body.model import BodyModel
from hkmr_studio.geometry.cameras import crop_camera_to_image_translation, perspective_project
from hkmr_studio.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from hkmr_studio.nets.output import RegressorTrace
from hkmr_studio.nets.pose_rep import MeanParams, rep_to_axis_angle
from hkmr_studio.pipeline.core import Pipeline, PipelineResult
from hkmr_studio.pipeline.keypoints import Keypoints2D

#: The direction of the last entry: the pipeline's body, the trace's answer averaged with its mirror image's.
MIRROR_AVERAGE = "mirror average"


@dataclass(frozen=True)
class TraceEntry:
    """Outer step `outer`, inner pass `inner` (its direction: forward / backward / flat), both from 0."""

    outer: int
    inner: int
    direction: str

    @property
    def label(self) -> str:
        if self.direction == MIRROR_AVERAGE:
            return "final: averaged with the answer to the mirror image"
        if self.direction == "flat":
            return f"iteration {self.outer + 1}"
        return f"step {self.outer + 1}, pass {self.inner + 1} ({self.direction})"


@dataclass(eq=False)
class TraceBodies:
    """Every entry of one trace (batch item 0). poses (N, 24, 3) axis-angle; update_deg (N, 24) degrees;
    joints3d (N, 24, 3) metres, camera frame; joints2d (N, 24, 2) photo pixels."""

    model_name: str
    entries: list[TraceEntry]
    poses: np.ndarray
    update_deg: np.ndarray
    joints3d: np.ndarray
    joints2d: np.ndarray

    def chain_updates_deg(self, index: int) -> dict[str, np.ndarray]:
        """Chain name -> (K_c,) update angles of its joints (first to last) at entry `index`."""
        return {chain.name: self.update_deg[index, list(chain.joints)] for chain in kinematics.CHAINS}


def start_pose(mean: MeanParams) -> torch.Tensor:
    """(24, 3) axis-angle: the pose a regressor starts from (its `mean` buffers)."""
    return rep_to_axis_angle(mean.pose[None], mean.rep)[0].float().cpu()


def update_angles_deg(poses: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    """(N, 24, 3) axis-angle poses after each entry and the (24, 3) pose before the first -> (N, 24) degrees: the
    angle of R_prev^T R_cur per joint."""
    rotations = axis_angle_to_matrix(torch.cat([start[None], poses]))  # (N + 1, 24, 3, 3)
    relative = rotations[:-1].transpose(-1, -2) @ rotations[1:]
    return torch.rad2deg(torch.linalg.norm(matrix_to_axis_angle(relative), dim=-1))


def trace_bodies(result: PipelineResult, body: BodyModel, start: torch.Tensor) -> TraceBodies:
    """The bodies of every entry of `result.trace` (a found result), posed with the shape and camera of their outer
    step, then the pipeline's own body (the trace's answer averaged with the answer to the mirror image,
    hkmr_studio.nets.mirror_average) as a last entry; `start` (24, 3) is the regressor's starting pose."""
    trace: RegressorTrace | None = result.trace
    regression = result.regression
    if trace is None or result.crop is None or regression is None:
        raise ValueError("this result has no trace: no body was found in the photo")
    entries = [TraceEntry(t, p, trace.directions[p]) for t in range(trace.num_outer) for p in range(trace.num_inner)]
    poses = torch.stack([trace.pose(e.outer, e.inner)[0] for e in entries]).float().cpu()  # (N, 24, 3)
    outer = [e.outer for e in entries]
    betas = trace.betas[outer, 0].float().cpu()  # (N, 10)
    cameras = trace.cameras[outer, 0].float().cpu()  # (N, 3)
    cx, cy, side = result.crop
    count = len(entries)
    principal = torch.tensor([result.principal_point], dtype=torch.float32).expand(count + 1, 2)
    transl = crop_camera_to_image_translation(cameras, torch.tensor([[cx, cy]], dtype=torch.float32).expand(count, 2),
                                              torch.full((count,), float(side)), result.focal_length, principal[:count])
    final_pose = torch.from_numpy(np.concatenate([regression.global_orient, regression.body_pose])).float()
    entries.append(TraceEntry(trace.num_outer - 1, trace.num_inner, MIRROR_AVERAGE))
    poses = torch.cat([poses, final_pose.reshape(1, -1, 3)])
    betas = torch.cat([betas, torch.from_numpy(regression.betas).float()[None]])
    transl = torch.cat([transl, torch.from_numpy(regression.transl).float()[None]])
    with torch.inference_mode():
        joints3d = body.joints_only(poses[:, 0], poses[:, 1:].reshape(count + 1, -1), betas, transl)
        joints2d = perspective_project(joints3d, result.focal_length, principal)
    return TraceBodies(result.model_name, entries, poses.numpy(), update_angles_deg(poses, start).numpy(),
                       joints3d.numpy(), joints2d.numpy())


@dataclass(frozen=True, eq=False)
class TraceRequest:
    """What the chain inspector traces: the window's `result` and the (24, 3) axis-angle pose its regressor started
    from (None: the result has no trace); the `baseline` model (a shipped name or a file), run only when
    `run_baseline` (not when the window's model is the baseline itself), on `keypoints`, those the window's regressor
    read (a refit's result holds the edited ones, its trace the regression's of the keypoints before the edits); the
    device and body file of the window's run."""

    result: PipelineResult
    start_pose: np.ndarray | None
    baseline: str
    run_baseline: bool
    keypoints: Keypoints2D | None
    device: str
    body_path: str | None


class TraceJobs:
    """Runs TraceRequests, from one thread at a time, keeping the baseline's pipeline per (device, body file) between
    them: its body poses both traces, and its network is loaded only when the baseline runs."""

    def __init__(self) -> None:
        self._pipelines: dict[tuple[str, str, str | None], Pipeline] = {}

    def run(self, request: TraceRequest) -> dict[str, TraceBodies]:
        """Model name -> the bodies of its trace: the window's (when its result has one), then the baseline's."""
        key = (request.baseline, request.device, request.body_path)
        if key not in self._pipelines:
            self._pipelines[key] = Pipeline(request.baseline, request.body_path, request.device)
        pipeline = self._pipelines[key]
        out = {}
        result = request.result
        if result.trace is not None and request.start_pose is not None:
            out[result.model_name] = trace_bodies(result, pipeline.body, torch.from_numpy(request.start_pose))
        if request.run_baseline:
            baseline = pipeline.run(result.image, keypoints=request.keypoints, mesh=False)
            if baseline.found:
                out[baseline.model_name or request.baseline] = trace_bodies(
                    baseline, pipeline.body, start_pose(pipeline.model.net.regressor.mean))
        return out
