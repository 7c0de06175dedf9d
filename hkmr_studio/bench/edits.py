"""How local keypoint edits stay local (`hkmr-studio bench edits`): a drag or a hidden keypoint should move the chain
it belongs to and little else, and a dragged keypoint should reach the cursor.

On the sample photo (MediaPipe's keypoints) and on bodies drawn from the pose prior (the exact keypoints of their
landmarks, seen by a camera 4 m away, facing it within 60 degrees), the app's pipeline recovers a body, then:
- drags each wrist, each ankle and the nose by DRAG_PX in four directions and refits (`Pipeline.refit`);
- hides each of the 33 keypoints in turn and refits.
Reported per edit kind: the mean displacement (mm, pelvis-aligned joints) of the chains the edit does not belong to,
and of its own chain; for drags, how far the dragged keypoint's landmark ends from the cursor (pixels) and how often
within REACH_PX. Targets: untouched chains <= 20 mm; the dragged keypoint within 10 px "when the pose allows it".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from hkmr_studio.body import kinematics
from hkmr_studio.body.keypoint_sets import MEDIAPIPE_LANDMARK_NAMES
from hkmr_studio.body.landmarks import landmarks_from_body
from hkmr_studio.fitting.result import root_aligned_change_mm
from hkmr_studio.geometry.cameras import perspective_project
from hkmr_studio.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from hkmr_studio.pipeline.core import BodyEstimate, Pipeline, PipelineResult
from hkmr_studio.pipeline.images import LoadedImage, load_image
from hkmr_studio.pipeline.keypoints import Keypoints2D
from hkmr_studio.pipeline.local_edits import LANDMARK_CHAIN, moved_keypoints
from hkmr_studio.resources import resources_dir

SAMPLE = "samples/pose2sim_single_person.jpg"
DRAG_PX = 40.0
REACH_PX = 10.0
TARGET_MM = 20.0
DRAGGED = ("left_wrist", "right_wrist", "left_ankle", "right_ankle", "nose")
DIRECTIONS = ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))
FRAME = (960, 1280)  # (width, height) of the prior bodies' photos
FOCAL_PX = 1600.0


@dataclass
class EditStats:
    """Per edit kind: untouched and own chains' mean displacement (mm) and, for drags, the distance to the cursor."""

    untouched_mm: list[float] = field(default_factory=list)
    own_mm: list[float] = field(default_factory=list)
    cursor_px: list[float] = field(default_factory=list)

    def line(self, name: str) -> str:
        text = (f"  {name:<12} {len(self.untouched_mm):4d} edits: untouched chains mean "
                f"{np.mean(self.untouched_mm):5.1f} mm (max {np.max(self.untouched_mm):5.1f}), own chain "
                f"{np.mean(self.own_mm):5.1f} mm")
        if self.cursor_px:
            reached = np.mean(np.array(self.cursor_px) <= REACH_PX)
            text += (f"; cursor distance median {np.median(self.cursor_px):4.1f} px, within {REACH_PX:.0f} px "
                     f"{reached:.0%}")
        return text


def _landmarks_2d(result: PipelineResult, body: BodyEstimate) -> np.ndarray:
    points = landmarks_from_body(torch.as_tensor(body.vertices)[None], torch.as_tensor(body.joints3d)[None])
    return perspective_project(points, result.focal_length, torch.tensor([result.principal_point]))[0].numpy()


def _chain_displacements(before: BodyEstimate, after: BodyEstimate, chain: str) -> tuple[float, float]:
    """(untouched chains', own chain's) mean pelvis-aligned joint displacement, mm."""
    change = root_aligned_change_mm(torch.as_tensor(before.joints3d)[None], torch.as_tensor(after.joints3d)[None])[0]
    own = list(kinematics.CHAIN_BY_NAME[chain].joints)
    others = [j for j in range(kinematics.NUM_JOINTS) if j not in own]
    return float(change[others].mean()), float(change[own].mean())


def measure(pipeline: Pipeline, base: PipelineResult, stats: dict[str, EditStats]) -> None:
    """Every drag and hide on one recovered body, added to `stats` by edit kind."""
    kp = base.keypoints
    for name in DRAGGED:
        index = MEDIAPIPE_LANDMARK_NAMES.index(name)
        for direction in DIRECTIONS:
            cursor = kp.xy[index] + DRAG_PX * np.asarray(direction)
            moved = moved_keypoints(kp, index, tuple(cursor))
            fit = pipeline.refit(base, moved).best
            untouched, own = _chain_displacements(base.best, fit, LANDMARK_CHAIN[index])
            entry = stats.setdefault(f"drag {name.split('_')[-1]}", EditStats())
            entry.untouched_mm.append(untouched)
            entry.own_mm.append(own)
            entry.cursor_px.append(float(np.linalg.norm(_landmarks_2d(base, fit)[index] - cursor)))
    for index in range(len(MEDIAPIPE_LANDMARK_NAMES)):
        visibility = kp.visibility.copy()
        visibility[index] = 0.0
        hidden = Keypoints2D(kp.xy, visibility, kp.present, "user", world=kp.world)
        untouched, own = _chain_displacements(base.best, pipeline.refit(base, hidden).best, LANDMARK_CHAIN[index])
        entry = stats.setdefault("hide", EditStats())
        entry.untouched_mm.append(untouched)
        entry.own_mm.append(own)


def prior_bodies(count: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """`count` bodies in the camera frame: poses drawn from the pose GMM (components by weight), mean shape, facing
    the camera within 60 degrees, upright, 4 m away."""
    from hkmr_studio.fitting.priors import gmm_prior_path

    generator = np.random.default_rng(seed)
    with np.load(gmm_prior_path()) as gmm:
        means, covariances, weights = gmm["means"], gmm["covariances"], gmm["weights"]
    bodies = []
    for _ in range(count):
        k = generator.choice(len(weights), p=weights / weights.sum())
        pose = generator.multivariate_normal(means[k], covariances[k])
        yaw = math.radians(generator.uniform(-60.0, 60.0))
        facing = axis_angle_to_matrix(torch.tensor([[math.pi, 0.0, 0.0]])) @ axis_angle_to_matrix(
            torch.tensor([[0.0, yaw, 0.0]]))
        bodies.append({"global_orient": matrix_to_axis_angle(facing).float(),
                       "body_pose": torch.tensor(pose, dtype=torch.float32)[None],
                       "betas": torch.zeros(1, 10), "transl": torch.tensor([[0.0, 0.2, 4.0]])})
    return bodies


def exact_keypoints(pipeline: Pipeline, body: dict[str, torch.Tensor]) -> Keypoints2D:
    """The body's 33 landmarks projected into a FRAME photo (FOCAL_PX, centred), all seen; world landmarks hip-centred."""
    with torch.no_grad():
        out = pipeline.body(body["global_orient"], body["body_pose"], body["betas"], body["transl"])
        points = landmarks_from_body(out.vertices, out.joints)
    principal = torch.tensor([[FRAME[0] / 2.0, FRAME[1] / 2.0]])
    xy = perspective_project(points, FOCAL_PX, principal)[0].double().numpy()
    world = (points[0] - points[0, [23, 24]].mean(0)).double().numpy()
    return Keypoints2D(xy, np.ones(len(xy)), np.ones(len(xy), dtype=bool), "user", world=world)


def run(bodies: int = 6) -> str:
    """Measure on the sample photo and on `bodies` prior bodies; one line per edit kind and source."""
    torch.set_num_threads(1)
    pipeline = Pipeline(device="cpu")
    sources: dict[str, list[PipelineResult]] = {"sample photo": [pipeline.run(load_image(resources_dir() / SAMPLE))]}
    blank = LoadedImage(np.zeros((FRAME[1], FRAME[0], 3), dtype=np.uint8), None)
    sources[f"{bodies} prior bodies"] = [pipeline.run(blank, keypoints=exact_keypoints(pipeline, body),
                                                      focal_length=FOCAL_PX) for body in prior_bodies(bodies)]
    lines = [(f"Keypoint edits refitted (drags of {DRAG_PX:.0f} px in 4 directions; each keypoint hidden in turn); "
              f"target: untouched chains <= {TARGET_MM:.0f} mm, dragged keypoint within {REACH_PX:.0f} px")]
    for source, results in sources.items():
        stats: dict[str, EditStats] = {}
        for base in results:
            if base.found:
                measure(pipeline, base, stats)
        lines.append(f" {source}:")
        lines += [entry.line(name) for name, entry in stats.items()]
    pipeline.close()
    return "\n".join(lines)
