"""Training and test batches from the rendered set: MediaPipe's own landmarks on a render as the network's input, the
render's truth as the labels, in the sample generator's batch format (training.samples.generator).

Only samples where MediaPipe found the person are used (on the others the app stops with "no person found").
`MixedBatches` puts a share of rendered samples into every synthetic batch, so training sees MediaPipe's real errors
beside the simulated corruption.
"""

from __future__ import annotations

import numpy as np
import torch

from hkmr_studio.body.landmarks import BodyLandmarks, load_landmark_definition
from hkmr_studio.body.model import load_body_model
from hkmr_studio.pipeline.keypoints import NUM_LANDMARKS
from training.rendered.dataset import RenderedSet
from training.samples.cameras import PhotoCameras
from training.samples.generator import DetectorReport, SampleGenerator

Batch = dict[str, torch.Tensor]
_PICK_STREAM = 11  # the rendered rows' seed stream beside the generator's (seed, index)


def true_landmarks(rendered: RenderedSet, body: BodyLandmarks | None = None) -> tuple[torch.Tensor, PhotoCameras]:
    """The truth of every sample of `rendered`: its (N, 33, 3) landmarks, camera-aligned about the body's origin
    (add the camera's transl for the camera frame), and its pinhole cameras."""
    body = body or BodyLandmarks(load_body_model(), load_landmark_definition())
    with torch.no_grad():
        posed = body(*(torch.from_numpy(a) for a in (rendered.global_orient, rendered.body_pose, rendered.betas)))
    cameras = PhotoCameras(float(rendered.photo_px), torch.from_numpy(rendered.focal),
                           torch.from_numpy(rendered.principal), torch.from_numpy(rendered.transl),
                           torch.ones(len(rendered), dtype=torch.bool))
    return posed.landmarks, cameras


class RenderedBatches:
    """Batches of `batch_size` found samples of a rendered set, made by `generator` (its body, landmark definition
    and two_d_only_fraction); batch `index` draws its rows from (generator seed, index)."""

    def __init__(self, rendered: RenderedSet, generator: SampleGenerator, batch_size: int) -> None:
        if rendered.photo_px != int(generator.config.photo_px):
            raise ValueError(f"the rendered set's photos are {rendered.photo_px} px, the generator's "
                             f"{generator.config.photo_px}")
        self.rendered, self.generator, self.batch_size = rendered, generator, batch_size
        self.rows = np.flatnonzero(rendered.found)
        if len(self.rows) == 0:
            raise ValueError("MediaPipe found no person in any sample of this rendered set")

    def batch(self, index: int) -> Batch:
        seed = int(np.random.SeedSequence([self.generator.config.seed, index, _PICK_STREAM]).generate_state(1)[0])
        g = torch.Generator().manual_seed(seed)
        rows = self.rows[torch.randint(0, len(self.rows), (self.batch_size,), generator=g).numpy()]
        return self.samples(rows, g)

    def everything(self) -> Batch:
        """All found samples in order, as one batch (for evaluation)."""
        return self.samples(self.rows, torch.Generator().manual_seed(0))

    @torch.no_grad()
    def samples(self, rows: np.ndarray, g: torch.Generator) -> Batch:
        """The batch of the set's `rows` (K,); `g` picks the 2D-only ones."""
        r = self.rendered

        def tensor(values: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(values[rows]))

        count = len(rows)
        cameras = PhotoCameras(float(r.photo_px), tensor(r.focal), tensor(r.principal), tensor(r.transl),
                               torch.ones(count, dtype=torch.bool))
        report = DetectorReport(
            pixels=tensor(r.pixels),
            visibility=tensor(r.visibility),
            world=tensor(r.world),
            present=torch.ones(count, NUM_LANDMARKS, dtype=torch.bool),
            covered=torch.zeros(count, NUM_LANDMARKS, dtype=torch.bool),
            has_world=torch.ones(count, dtype=torch.bool),
        )
        return self.generator.from_detections(tensor(r.global_orient), tensor(r.body_pose), tensor(r.betas),
                                              tensor(r.family).long(), tensor(r.view), cameras, report, g)


class MixedBatches:
    """Each batch: the synthetic generator's batch (its batch_size rows) followed by `rendered`'s batch."""

    def __init__(self, synthetic: SampleGenerator, rendered: RenderedBatches) -> None:
        self.synthetic, self.rendered = synthetic, rendered

    def batch(self, index: int) -> Batch:
        first, second = self.synthetic.batch(index), self.rendered.batch(index)
        return {key: torch.cat([first[key], second[key]]) for key in first}
