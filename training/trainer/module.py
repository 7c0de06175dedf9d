"""The one Lightning module that trains a MeshRegressor (HKMR or HMR behind the keypoint encoder, or behind an image
encoder on rendered crops) with Eq. 3.

Labels per batch (training.samples): the true SMPL joints projected into the crop (B, 24, 2) supervise L_2D for
every sample; 3D joints and SMPL parameters supervise L_3D / L_smpl on the samples flagged has_3d / has_smpl (half
of each batch is 2D-only). With SMPLify in the loop, the 2D-only samples' best fits become their SMPL labels.
The body layer and the frozen VAE prior are helpers kept out of the module's state (and out of `.train()`).
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from hkmr_studio.body.model import BodyModel
from hkmr_studio.nets.losses import LossWeights, RegressorLoss, RegressorTargets, regressor_loss
from hkmr_studio.nets.output import RegressorOutput
from hkmr_studio.nets.recovery import MeshRegressor
from hkmr_studio.nets.vae import PoseVAE
from training.rendered.dataset import RenderedSet
from training.rendered.source import MixedBatches, RenderedBatches
from training.samples.generator import SampleGenerator
from training.samples.poses import load_poses, vae_sampler
from training.samples.rgb_crops import RGBSampleGenerator
from training.trainer.config import TrainConfig, config_from_dict, save_config
from training.trainer.data import Batch, BatchSource, TrainingBatches, WithheldWorld, landmark_labels, regress
from training.trainer.smplify import smplify_fit_fn
from training.trainer.spin import BodyFit, FitDictionary, FitFn

#: Smoothing of the running loss averages reported as the final losses.
_EMA = 0.98
_LOSS_TERMS = ("total", "smpl", "joints_3d", "keypoints_2d", "kl")


@dataclass
class _Helpers:
    """Frozen parts the losses use; a plain object, so nn.Module does not register them."""

    body: BodyModel
    vae: PoseVAE | None


def _load_vae(path: str | None) -> PoseVAE | None:
    if path is None:
        return None
    vae = PoseVAE()
    vae.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return vae.eval().requires_grad_(False)


class RegressorTraining(pl.LightningModule):
    """Trains `self.net` (a MeshRegressor) from a TrainConfig given as a plain dict (kept in every checkpoint)."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.save_hyperparameters({"config": config})
        self.config: TrainConfig = config_from_dict(config)
        self.net = MeshRegressor(self.config.model)
        self.helpers = _Helpers(BodyModel(), _load_vae(self.config.loss.vae_path))
        spin, data = self.config.smplify, self.config.data
        self.fits = FitDictionary(data.pool_batches * data.batch_size) if spin.enabled else None
        self.fit_fn: FitFn | None = smplify_fit_fn(spin.options, self.helpers.body) if spin.enabled else None
        self.running_losses: dict[str, float] = {}
        self.seconds_before = 0.0  # training time of earlier sessions of this run
        self._session_start = time.monotonic()

    # ----------------------------------------------------------------------------------------------- data
    def train_dataloader(self) -> torch.utils.data.DataLoader:
        """The synthetic stream for this process (with rendered crops when data.images, with rows of the rendered set
        when data.rendered_fraction, some rows' world landmarks withheld when data.world_withheld_fraction), read on
        from the (restored) global step."""
        data = self.config.data
        trainer = self.trainer
        samples = data.sample_config()
        vae = _load_vae(self.config.loss.vae_path) if samples.vae_fraction > 0 else None  # a CPU copy for the loader
        pose_sampler = vae_sampler(vae) if vae is not None else None
        source: BatchSource
        if data.images:
            source = RGBSampleGenerator(samples, pose_sampler=pose_sampler)
        else:
            poses = load_poses(Path(data.pose_library)) if data.pose_library else None
            synthetic = SampleGenerator(samples, poses=poses, pose_sampler=pose_sampler)
            source = synthetic
            if data.rendered_rows:
                rendered = RenderedSet.load(Path(str(data.rendered_set)), split="train")
                source = MixedBatches(synthetic, RenderedBatches(rendered, synthetic, data.rendered_rows))
            if data.world_withheld_fraction > 0:
                source = WithheldWorld(source, data.world_withheld_fraction, data.seed)
        batches = TrainingBatches(source, data.batch_size, trainer.global_step,
                                  trainer.global_rank, trainer.world_size, data.pool_batches)
        return torch.utils.data.DataLoader(batches, batch_size=None, num_workers=data.num_workers,
                                           persistent_workers=data.num_workers > 0)

    # ----------------------------------------------------------------------------------------------- steps
    def on_fit_start(self) -> None:
        self.helpers.body.to(self.device)
        if self.helpers.vae is not None:
            self.helpers.vae.to(self.device)

    def on_train_start(self) -> None:
        self._session_start = time.monotonic()

    def setup(self, stage: str) -> None:
        if self.trainer.is_global_zero:
            save_config(self.config, f"{self.config.output.run_dir}/config.yaml")

    def targets(self, batch: Batch) -> RegressorTargets:
        """Eq. 3's labels from a batch: 2D joints of every sample, 3D joints and SMPL parameters where flagged."""
        joints_2d = batch["joints2d"]
        return RegressorTargets(
            keypoints_2d=joints_2d,
            visibility_2d=joints_2d.new_ones(joints_2d.shape[:2]),
            joints_3d=batch["joints3d"],
            has_3d=batch["has_3d"],
            global_orient=batch["global_orient"],
            body_pose=batch["body_pose"],
            betas=batch["betas"],
            has_smpl=batch["has_smpl"],
        )

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        output = regress(self.net, batch, self.config.data.use_world_landmarks)
        targets = self.targets(batch)
        if self.fits is not None:
            targets = self._with_fits(batch, output, targets)
        vae = self.helpers.vae
        loss = regressor_loss(output, targets, self.helpers.body.joints_only, self.config.loss,
                              vae.kl if vae is not None else None)
        self._record(loss, len(batch["keypoints"]))
        return loss.total

    def _record(self, loss: RegressorLoss, batch_size: int) -> None:
        values = {name: getattr(loss, name) for name in _LOSS_TERMS}
        self.log_dict({f"train/{k}": v for k, v in values.items()}, batch_size=batch_size)
        self.log("loss", values["total"], prog_bar=True, logger=False, batch_size=batch_size)
        for name, value in values.items():
            value = float(value.detach())
            previous = self.running_losses.get(name, value)
            self.running_losses[name] = _EMA * previous + (1.0 - _EMA) * value

    def _with_fits(self, batch: Batch, output: RegressorOutput, targets: RegressorTargets) -> RegressorTargets:
        """SPIN's step: fit the 2D-only samples from the current output, keep each sample's best fit (the dictionary
        is the same on every process: the new fits of all processes are gathered), supervise with the stored fits."""
        two_d = ~batch["has_smpl"].bool()
        ids = batch["sample_id"][two_d]
        annotations = landmark_labels(batch, self.config.data.sample_config().photo_px)[two_d]
        init = BodyFit(output.global_orient[two_d].detach(), output.body_pose[two_d].detach(),
                       output.betas[two_d].detach(), output.camera[two_d].detach())
        fit, error = self.fit_fn(init, annotations, annotations.new_ones(annotations.shape[:2]))
        with torch.no_grad():
            gathered = [self.all_gather(t).reshape(-1, *t.shape[1:]) for t in (ids, fit.flat(), error)]
            improved = self.fits.update(*gathered)
            best, best_error = self.fits.lookup(ids)
        valid = best_error < self.config.smplify.max_error
        rows = two_d.nonzero()[:, 0]
        labels = {name: getattr(targets, name).clone() for name in ("global_orient", "body_pose", "betas", "has_smpl")}
        for name in ("global_orient", "body_pose", "betas"):
            labels[name][rows] = getattr(best, name)
        labels["has_smpl"][rows] = valid.to(labels["has_smpl"].dtype)
        self.log_dict({"smplify/fit_error": _finite_mean(error), "smplify/best_error": _finite_mean(best_error),
                       "smplify/improved": improved.float().mean(), "smplify/valid": valid.float().mean()},
                      batch_size=len(ids))
        return replace(targets, **labels)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.net.parameters(), lr=self.config.optim.lr)

    # ----------------------------------------------------------------------------------------------- state
    def training_seconds(self) -> float:
        return self.seconds_before + (time.monotonic() - self._session_start)

    def training_summary(self) -> dict[str, Any]:
        """Plain-valued record of the run for the model file: steps, time, hardware, data settings, and the final
        losses (running averages over about the last 50 steps)."""
        trainer = self.trainer
        data = self.config.data
        return {
            "steps": int(self.global_step),
            "seconds": round(self.training_seconds(), 1),
            "hardware": _hardware(trainer),
            "data": {**asdict(data.sample_config()), "pool_batches": data.pool_batches,
                     "use_world_landmarks": data.use_world_landmarks,
                     "world_withheld_fraction": data.world_withheld_fraction, "images": data.images,
                     "processes": trainer.world_size},
            "effective_batch_size": data.batch_size * trainer.world_size,
            "learning_rate": self.config.optim.lr,
            "loss_weights": {weight.name: getattr(self.config.loss, weight.name) for weight in fields(LossWeights)},
            "kl_prior": self.config.loss.vae_path is not None,
            "smplify_in_the_loop": self.fits is not None,
            "final_losses": {k: round(v, 6) for k, v in self.running_losses.items()},
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["training_summary"] = self.training_summary()
        checkpoint["running_losses"] = dict(self.running_losses)
        if self.fits is not None:
            checkpoint["smplify_fits"] = self.fits.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.seconds_before = float(checkpoint["training_summary"]["seconds"])
        self.running_losses = dict(checkpoint["running_losses"])
        if self.fits is not None and "smplify_fits" in checkpoint:
            self.fits.load_state_dict(checkpoint["smplify_fits"])


def _finite_mean(values: torch.Tensor) -> torch.Tensor:
    """Mean of the finite entries (a fit that failed reports an infinite error)."""
    return values[torch.isfinite(values)].mean()


def _hardware(trainer: pl.Trainer) -> str:
    """e.g. "1 x NVIDIA H100 80GB HBM3" or "1 x cpu (x86_64, 2 threads)", with nodes when more than one."""
    root = trainer.strategy.root_device
    if root.type == "cuda":
        device = torch.cuda.get_device_name(root)
    else:
        device = f"{root.type} ({platform.machine()}, {torch.get_num_threads()} threads)"
    nodes = f"{trainer.num_nodes} nodes x " if trainer.num_nodes > 1 else ""
    return f"{nodes}{trainer.num_devices} x {device}"

