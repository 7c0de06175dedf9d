"""Build a split of the rendered set: bodies from the sample generator (library poses and pose families, random
shapes, the generator's photo-like views and lenses through pinhole cameras, people cut by the photo's border as photos
cut them; training/data/CAMERAS.md), rendered as photos (training.rendered.scenes) and given to MediaPipe Pose exactly
as the app gives it a photo (hkmr_studio.pipeline.detection.PoseDetector).

Samples come in chunks of CHUNK: chunk k is the generator's batch k under the split's seed, and its renders draw from
numpy's Generator seeded by (seed, k, RENDER_STREAM), so a split is the same for any number of worker processes.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from hkmr_studio.pipeline.detection import PoseDetector
from training.poses.families import FAMILIES
from training.rendered.backgrounds import KINDS
from training.rendered.dataset import RenderedSet, empty_arrays
from training.rendered.scenes import PhotoRenderer
from training.samples.generator import SampleConfig, SampleGenerator

CHUNK = 16
RENDER_STREAM = 7
PHOTO_PX = 512
#: Share of the set's poses drawn from the pose families (all equally); the rest come from the mocap library.
FAMILY_FRACTION = 0.5


@dataclass(frozen=True)
class SplitSpec:
    """A split to build: its name, size and seed."""

    split: str
    count: int
    seed: int


def sample_config(seed: int, batch_size: int = CHUNK) -> SampleConfig:
    """The generator settings of the set's bodies and cameras: the generator's views, lenses, sizes and cuts
    (SampleConfig's defaults), pinhole cameras only; no simulated detector."""
    return SampleConfig(batch_size=batch_size, seed=seed, family_fraction=FAMILY_FRACTION, perspective_fraction=1.0,
                        corrupt=False, occluder_fraction=0.0, coco_fraction=0.0, two_d_only_fraction=0.0)


class ChunkBuilder:
    """Renders and detects chunks of one split; one per process (it holds a VTK renderer and a MediaPipe graph)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.generator = SampleGenerator(sample_config(seed))
        self.renderer = PhotoRenderer(self.generator.body.body, PHOTO_PX)
        self.detector = PoseDetector()

    def close(self) -> None:
        self.renderer.close()
        self.detector.close()

    def chunk(self, k: int) -> dict[str, np.ndarray]:
        """The arrays of chunk `k` (CHUNK samples)."""
        batch = self.generator.batch(k)
        rng = np.random.default_rng([self.seed, k, RENDER_STREAM])
        out = empty_arrays(CHUNK)
        vertices = self.renderer.vertices(batch["global_orient"], batch["body_pose"], batch["betas"], batch["transl"])
        for row in range(CHUNK):
            photo = self.renderer.photo(
                vertices[row], float(batch["focal_length"][row]), batch["principal_point"][row].numpy(), rng
            )
            detection = self.detector.detect(photo.image)
            out["background"][row] = photo.background
            if detection.found and detection.keypoints is not None:
                out["found"][row] = True
                out["pixels"][row] = detection.keypoints.xy
                out["visibility"][row] = detection.keypoints.visibility
                out["world"][row] = detection.keypoints.world
        for name, key in (("global_orient", "global_orient"), ("body_pose", "body_pose"), ("betas", "betas"),
                          ("transl", "transl"), ("focal", "focal_length"), ("principal", "principal_point"),
                          ("family", "family"), ("view", "view")):  # fmt: skip
            out[name][:] = batch[key].numpy()
        return out


_WORKER: ChunkBuilder | None = None


def _start_worker(seed: int) -> None:
    global _WORKER
    torch.set_num_threads(1)
    _WORKER = ChunkBuilder(seed)


def _work(k: int) -> dict[str, np.ndarray]:
    assert _WORKER is not None
    return _WORKER.chunk(k)


def build_split(
    spec: SplitSpec, workers: int, progress: Callable[[int], None] | None = None
) -> tuple[RenderedSet, float]:
    """Build `spec` (its count rounded up to whole chunks) with `workers` processes; returns the set and the seconds
    it took. `progress(samples_done)` is called after each chunk."""
    chunks = -(-spec.count // CHUNK)
    started = time.perf_counter()
    parts: list[dict[str, np.ndarray]] = []
    if workers <= 1:
        builder = ChunkBuilder(spec.seed)
        try:
            for k in range(chunks):
                parts.append(builder.chunk(k))
                if progress is not None:
                    progress(len(parts) * CHUNK)
        finally:
            builder.close()
    else:
        context = multiprocessing.get_context("spawn")  # VTK's EGL context and MediaPipe's graph do not survive fork
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        with context.Pool(workers, initializer=_start_worker, initargs=(spec.seed,)) as pool:
            for part in pool.imap(_work, range(chunks)):
                parts.append(part)
                if progress is not None:
                    progress(len(parts) * CHUNK)
    seconds = time.perf_counter() - started
    arrays = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    info = {
        "split": spec.split,
        "seed": spec.seed,
        "photo_px": PHOTO_PX,
        "families": list(FAMILIES),
        "backgrounds": list(KINDS),
        "family_fraction": FAMILY_FRACTION,
        "seconds": round(seconds, 1),
        "workers": workers,
    }
    return RenderedSet(**arrays, info=info), seconds
