"""Batches for training: the synthetic sample stream split over processes and workers, and the network's inputs.

Step s of process r (of P) reads generator batch s * P + r, modulo `pool_batches` when the data are a fixed pool, so
the stream does not depend on the number of DataLoader workers and a resumed run reads on from its global step.
Sample ids: batch index x batch size + row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np
import torch

from hkmr_studio.geometry.cameras import pixels_to_normalised
from hkmr_studio.nets.encoders.images import normalise_images
from hkmr_studio.nets.output import RegressorOutput
from hkmr_studio.nets.recovery import MeshRegressor
from training.samples.cameras import PhotoCameras

Batch = dict[str, torch.Tensor]
_WITHHOLD_STREAM = 13  # the withheld rows' seed stream beside the generator's (seed, index)


class BatchSource(Protocol):
    """What the trainer needs of a sample generator (training.samples.SampleGenerator): reproducible batches."""

    def batch(self, index: int) -> Batch: ...


class TrainingBatches(torch.utils.data.IterableDataset):
    """Endless stream of generator batches for one process, from step `start_step` on, each with "sample_id" (B,)."""

    def __init__(
        self,
        source: BatchSource,
        batch_size: int,
        start_step: int = 0,
        rank: int = 0,
        world_size: int = 1,
        pool_batches: int | None = None,
    ) -> None:
        super().__init__()
        self.source, self.batch_size = source, batch_size
        self.start_step, self.rank, self.world_size = start_step, rank, world_size
        self.pool_batches = pool_batches

    def batch_index(self, step: int) -> int:
        """The generator batch that global step `step` reads on this process."""
        index = step * self.world_size + self.rank
        return index if self.pool_batches is None else index % self.pool_batches

    def __iter__(self) -> Iterator[Batch]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        step = self.start_step + worker  # the DataLoader takes its workers' batches in turn
        while True:
            index = self.batch_index(step)
            batch = self.source.batch(index)
            batch["sample_id"] = index * self.batch_size + torch.arange(self.batch_size)
            yield batch
            step += workers


class WithheldWorld:
    """`source`'s batches with some rows' world landmarks withheld (has_world False, world zero), each row with
    probability `fraction`, drawn from (seed, batch index): the network must also do without them, as with a COCO
    keypoint file, and learns how far to trust them. Rows from the rendered set are withheld alike."""

    def __init__(self, source: BatchSource, fraction: float, seed: int) -> None:
        self.source, self.fraction, self.seed = source, fraction, seed

    def batch(self, index: int) -> Batch:
        batch = self.source.batch(index)
        state = np.random.SeedSequence([self.seed, index, _WITHHOLD_STREAM]).generate_state(1)[0]
        g = torch.Generator().manual_seed(int(state))
        kept = batch["has_world"].bool() & (torch.rand(len(batch["has_world"]), generator=g) >= self.fraction)
        return {**batch, "has_world": kept, "world": batch["world"] * kept[:, None, None]}


def regress(net: MeshRegressor, batch: Batch, use_world: bool) -> RegressorOutput:
    """Run the network on a batch: an image encoder on its crops (image (B, 3, S, S) RGB in [0, 1], normalised here as
    the encoders expect), the keypoint encoder on keypoints (B, 33, 2) normalised to the inference crop, visibility,
    mask, world (B, 33, 3), has_world (B,).

    With `use_world`, samples with world landmarks get them and the others none, as at inference (a COCO keypoint file
    has none): the encoder runs on the two groups and the regressor on all features at once.
    """
    return net.regressor(encode(net, batch, use_world))


def encode(net: MeshRegressor, batch: Batch, use_world: bool) -> torch.Tensor:
    """The encoder's features Phi (B, F) for a batch, its inputs as `regress` takes them."""
    if net.input_kind == "image":
        return net.encoder(normalise_images(batch["image"]))
    landmarks, visibility, mask = batch["keypoints"], batch["visibility"], batch["mask"]
    if not use_world:
        return net.encoder(landmarks, visibility, mask)
    has_world = batch["has_world"].bool()
    features = landmarks.new_empty(len(landmarks), net.encoder.feature_dim)
    for rows, world in ((has_world, batch["world"][has_world]), (~has_world, None)):
        if rows.any():
            features[rows] = net.encoder(landmarks[rows], visibility[rows], mask[rows], world)
    return features


def true_landmark_pixels(batch: Batch, photo_px: float) -> torch.Tensor:
    """(B, 33, 2) the true landmarks in photo pixels, projected from landmarks3d (B, 33, 3) by each sample's own
    photo camera (pinhole or weak perspective)."""
    cameras = PhotoCameras(photo_px, batch["focal_length"], batch["principal_point"], batch["transl"],
                           batch["perspective"])
    return cameras.project(batch["landmarks3d"])[0]


def landmark_labels(batch: Batch, photo_px: float) -> torch.Tensor:
    """(B, 33, 2) the true landmarks in normalised crop coordinates: a 2D-only sample's 2D annotation."""
    return pixels_to_normalised(true_landmark_pixels(batch, photo_px), batch["box"][:, :2], batch["box"][:, 2])
