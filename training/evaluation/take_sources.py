"""Takes with a known truth for measuring temporal smoothing (training.evaluation.video_smoothing).

Both kinds run the app's keypoint network frame by frame on 2D landmarks, as `Pipeline.run` does (mirror-averaged,
the image diagonal as focal length, translation from the crop camera), batched and without the mesh or the checks:
  real       the real benchmark (training/data/REAL_BENCHMARK.md, pose2sim Demo_MultiPerson, 60 fps): one take per
             person and view from the stored MediaPipe detections; truth: the triangulated landmarks in that camera's
             frame (NaN where not triangulated)
  synthetic  real motion capture from the pose library (training/data/POSE_LIBRARY.md), 30 fps, on a body of one
             random shape walking a slow path 3.7-5.3 m from a 640 x 480 camera; its MediaPipe landmarks projected
             and corrupted with MediaPipe's measured per-frame noise and outliers (training/data/
             mediapipe_statistics.json, measured on still renders) plus a slowly drifting error as the real video
             shows it (SLOW_NOISE_RATIO), world landmarks alike; truth: the body's 24 joints, camera frame
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.transform import Rotation, Slerp

from hkmr_studio.body.landmarks import BodyLandmarks
from hkmr_studio.body.model import load_body_model
from hkmr_studio.checkpoints import LoadedModel
from hkmr_studio.geometry.cameras import assumed_focal_length, crop_camera_to_image_translation, perspective_project
from hkmr_studio.nets.mirror_average import mirror_averaged
from hkmr_studio.pipeline.core import network_inputs
from hkmr_studio.pipeline.keypoints import NUM_LANDMARKS, Keypoints2D
from hkmr_studio.video.take import Take, TakeTrack
from training.real.benchmark import DEFAULT_DIR as REAL_DIR
from training.real.capture import load_capture
from training.real.detections import ViewDetections
from training.real.pseudo_truth import PseudoTruth
from training.samples import corruption
from training.samples.detector_model import DetectorStatistics
from training.samples.poses import LIBRARY_PATH
from training.samples.views import camera_global_orient

REAL_FPS = 60.0
SYNTHETIC_FPS = 30.0
SYNTHETIC_SIZE = (640, 480)
#: Synthetic clips: this many frames (at 30 fps) of pose-library stretches whose kept frames are at most
#: MAX_LIBRARY_GAP clock steps apart (the library dropped near-duplicate frames; the rest are slerped).
SYNTHETIC_FRAMES = 150
MAX_LIBRARY_GAP = 3
CLIPS_PER_SOURCE = 2
HIPS = (23, 24)
#: MediaPipe's error in a video drifts: on the real benchmark the residuals of the detections against the
#: reprojected pseudo-truth (body landmarks, robust std 12 px for people 700-900 px tall, each track's mean removed)
#: keep a correlation of 0.62 after one 60 fps frame, 0.57 after three and 0.36 after ten, which fits about half of
#: their variance drifting with SLOW_CORRELATION per 1/60 s beside per-frame noise. Synthetic takes add such a drift,
#: of SLOW_NOISE_RATIO times the per-frame noise, to the per-frame noise and outliers measured on still renders.
SLOW_NOISE_RATIO = 0.92
SLOW_CORRELATION = 0.94


@dataclass(frozen=True)
class TruthTake:
    """A take, the keypoints it was regressed from (None: no person), and its truth: (T, P, 3) metres, camera frame,
    NaN where unknown; `points` names what the P points are ("landmarks": MediaPipe's 33; "joints": the body's 24)."""

    name: str
    take: Take
    keypoints: list[Keypoints2D | None]
    truth: np.ndarray
    points: str


def regress_track(model: LoadedModel, keypoints: list[Keypoints2D], image_size: tuple[int, int],
                  focal_length: float) -> TakeTrack:
    """The network's body for each frame's keypoints, camera frame, as `Pipeline.regress` makes it."""
    use_world = bool(model.meta.get("uses_world_landmarks", False))
    inputs = [network_inputs(kp, image_size, use_world) for kp in keypoints]
    world = torch.cat([i.world for i in inputs]) if use_world else None
    with torch.inference_mode():
        out = mirror_averaged(model.net, torch.cat([i.landmarks for i in inputs]),
                              torch.cat([i.visibility for i in inputs]), torch.cat([i.mask for i in inputs]), world)
    crops = torch.tensor([i.crop for i in inputs], dtype=torch.float32)
    principal = torch.tensor([[image_size[0] / 2.0, image_size[1] / 2.0]]).expand(len(inputs), 2)
    transl = crop_camera_to_image_translation(out.camera.float().cpu(), crops[:, :2], crops[:, 2], focal_length,
                                              principal)
    return TakeTrack(*(t.double().cpu().numpy() for t in (out.global_orient, out.body_pose, out.betas, transl)))


def take_of(name: str, model: LoadedModel, keypoints: list[Keypoints2D | None], times: np.ndarray,
            image_size: tuple[int, int], fps: float) -> Take:
    """A take of the frames' keypoints (None: no person in that frame) with the network's raw bodies."""
    frames = len(keypoints)
    found = np.array([kp is not None for kp in keypoints])
    focal = assumed_focal_length(*image_size)
    raw = TakeTrack.empty(frames)
    xy, visibility = np.full((frames, NUM_LANDMARKS, 2), np.nan), np.full((frames, NUM_LANDMARKS), np.nan)
    if found.any():
        present = [kp for kp in keypoints if kp is not None]
        track = regress_track(model, present, image_size, focal)
        raw = TakeTrack(**{field: np.full((frames, value.shape[1]), np.nan) for field, value in vars(track).items()})
        for field, value in vars(track).items():
            getattr(raw, field)[found] = value
        xy[found] = np.stack([kp.xy for kp in present])
        visibility[found] = np.stack([kp.visibility for kp in present])
    status = tuple("ok" if f else "no_person" for f in found)
    return Take(source=name, image_size=image_size, focal_length=focal, fps=fps, times=times, status=status,
                messages=tuple("" if f else "No person found" for f in found), keypoints=xy, visibility=visibility,
                raw=raw)


def real_takes(model: LoadedModel) -> list[TruthTake]:
    """One take per person and view of the real benchmark (built by `python -m training evaluate --real`)."""
    detections = ViewDetections.load(REAL_DIR / "detections.npz")
    truth = PseudoTruth.load(REAL_DIR / "pseudo_truth.npz")
    cameras = load_capture().cameras
    frames, people, _ = truth.slot.shape
    times = np.arange(frames) / REAL_FPS
    out = []
    for person in range(people):
        for v, camera in enumerate(cameras):
            slots = truth.slot[:, person, v]
            keypoints = [detections.keypoints(v, f + int(truth.offsets[v]), int(s)) if s >= 0 else None
                         for f, s in enumerate(slots)]
            name = f"person {person}, {camera.name}"
            out.append(TruthTake(name, take_of(name, model, keypoints, times, camera.size, REAL_FPS), keypoints,
                                 camera.to_camera(truth.points[:, person]), "landmarks"))
    return out


def library_stretches(frames: int = SYNTHETIC_FRAMES) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """(source, clip, clock frame numbers (F,), body-frame poses (F, 24, 3)) of the CLIPS_PER_SOURCE longest stretches
    per source (one clip may give two) whose kept frames are at most MAX_LIBRARY_GAP clock steps apart and span at
    least `frames` clock frames."""
    library = np.load(LIBRARY_PATH, allow_pickle=False)
    kept = ~library["mirrored"]
    pose = np.concatenate([library["global_orient"], library["body_pose"]], axis=1)[kept].reshape(-1, 24, 3)
    source, clip, number = library["source"][kept], library["clip"][kept], library["frame"][kept]
    found: dict[str, list[tuple[int, str, np.ndarray, np.ndarray]]] = {}
    for key in sorted(set(zip(source.tolist(), clip.tolist(), strict=True))):
        rows = np.flatnonzero((source == key[0]) & (clip == key[1]))
        rows = rows[np.argsort(number[rows])]
        step = int(np.median(np.diff(number[rows]))) if len(rows) > 1 else 1
        clock = (number[rows] - number[rows[0]]) // max(step, 1)
        breaks = np.flatnonzero(np.diff(clock) > MAX_LIBRARY_GAP) + 1
        for part in np.split(np.arange(len(rows)), breaks):
            if len(part) and clock[part[-1]] - clock[part[0]] + 1 >= frames:
                found.setdefault(key[0], []).append((int(clock[part[-1]] - clock[part[0]]), key[1],
                                                     clock[part] - clock[part[0]], pose[rows[part]]))
    out = []
    for name, stretches in sorted(found.items()):
        for _, clip_name, clock, poses in sorted(stretches, key=lambda s: -s[0])[:CLIPS_PER_SOURCE]:
            out.append((name, clip_name, clock, poses))
    return out


def slerped(clock: np.ndarray, poses: np.ndarray, frames: int) -> np.ndarray:
    """(F, 24, 3) axis-angle poses at clock frames `clock` -> (frames, 24, 3) at clock frames 0..frames-1, each joint
    interpolated along the shortest arc."""
    wanted = np.arange(frames)
    return np.stack([Slerp(clock, Rotation.from_rotvec(poses[:, j]))(wanted).as_rotvec()
                     for j in range(poses.shape[1])], axis=1)


def drift(shape: tuple[int, ...], fps: float, generator: torch.Generator) -> torch.Tensor:
    """(T, ...) unit-variance noise drifting over the T frames: an AR(1) process with SLOW_CORRELATION per 1/60 s."""
    rho = SLOW_CORRELATION ** (60.0 / fps)
    steps = torch.randn(shape, generator=generator, dtype=torch.float64)
    out = torch.empty_like(steps)
    out[0] = steps[0]
    for t in range(1, shape[0]):
        out[t] = rho * out[t - 1] + (1.0 - rho**2) ** 0.5 * steps[t]
    return out.float()


def synthetic_takes(model: LoadedModel, seed: int = 0) -> list[TruthTake]:
    """Takes of real mocap seen by a 640 x 480 camera, with MediaPipe-like noise (module docstring)."""
    body = load_body_model()
    landmarks_of = BodyLandmarks(body)
    stats = DetectorStatistics.load()
    generator = torch.Generator().manual_seed(seed)
    width, height = SYNTHETIC_SIZE
    focal = assumed_focal_length(width, height)
    times = np.arange(SYNTHETIC_FRAMES) / SYNTHETIC_FPS
    out = []
    for number, (source, clip, clock, poses) in enumerate(library_stretches()):
        pose = torch.from_numpy(slerped(clock, poses, SYNTHETIC_FRAMES)).float()
        phase = torch.from_numpy(times).float() + 3.0 * number
        yaw = 0.6 * torch.sin(phase * 2 * np.pi / 9.0) + 0.5 * number
        global_orient = camera_global_orient(pose[:, 0], yaw, torch.full_like(yaw, np.radians(10.0)),
                                             torch.zeros_like(yaw))
        betas = (torch.randn(1, 10, generator=generator) * 0.7).clamp(-2, 2).expand(SYNTHETIC_FRAMES, 10)
        body_pose = pose[:, 1:].reshape(SYNTHETIC_FRAMES, 69)
        pelvis = torch.stack([0.6 * torch.sin(phase * 2 * np.pi / 7.0), 0.15 + 0.0 * phase,
                              4.5 + 0.8 * torch.sin(phase * 2 * np.pi / 11.0)], dim=1)
        transl = pelvis - body.rest_joints(betas)[:, 0]
        with torch.inference_mode():
            posed = landmarks_of(global_orient, body_pose, betas)
            joints = body.joints_only(global_orient, body_pose, betas, transl)
        points = posed.landmarks + transl[:, None]
        pixels = perspective_project(points, focal, torch.tensor([[width / 2.0, height / 2.0]]))
        size = (pixels.amax(dim=1) - pixels.amin(dim=1)).amax(dim=1)
        truncated = torch.zeros(pixels.shape[:2], dtype=torch.bool)
        sigma = torch.from_numpy(stats.array("noise"))[None, :, None] * size[:, None, None]
        noisy = corruption.jitter(pixels, truncated, size, stats, 1.0, generator) + SLOW_NOISE_RATIO * sigma * drift(
            pixels.shape, SYNTHETIC_FPS, generator)
        hips = posed.landmarks[:, list(HIPS)].mean(dim=1, keepdim=True)
        world_noise = torch.tensor(stats.world_noise)
        world = posed.landmarks - hips + world_noise * (torch.randn(posed.landmarks.shape, generator=generator)
                                                        + SLOW_NOISE_RATIO * drift(posed.landmarks.shape,
                                                                                   SYNTHETIC_FPS, generator))
        keypoints = [Keypoints2D(noisy[t].double().numpy(), np.full(NUM_LANDMARKS, 0.99),
                                 np.ones(NUM_LANDMARKS, dtype=bool), "mediapipe", world=world[t].double().numpy())
                     for t in range(SYNTHETIC_FRAMES)]
        name = f"{source} {clip}"
        out.append(TruthTake(name, take_of(name, model, keypoints, times, SYNTHETIC_SIZE, SYNTHETIC_FPS), keypoints,
                             joints.double().numpy(), "joints"))
    return out
