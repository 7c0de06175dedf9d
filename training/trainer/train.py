"""Training runs with PyTorch Lightning: the Trainer for a config, and `train`, which fits and exports.

The run folder (output.run_dir) gets config.yaml, checkpoints/ (`last.ckpt` and the latest `step=N.ckpt`) and logs/
(CSV, and TensorBoard when installed). At the end the app's model file is written to output.export_path.
"""

from __future__ import annotations

import datetime
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger

from training.trainer.config import ConfigError, TrainConfig, load_config, require_inputs
from training.trainer.export import LAST_CHECKPOINT, export_model
from training.trainer.module import RegressorTraining

#: Sections a resumed run must share with the run it continues (budgets, devices, workers and outputs may change).
_FIXED_ON_RESUME = ("model", "data", "loss", "smplify")


@dataclass
class TrainResult:
    """What a finished run left: its Lightning module, the last checkpoint and the model file (None if not exported)."""

    module: RegressorTraining
    last_checkpoint: Path
    model_file: Path | None


class _FinalCheckpoint(Callback):
    """Writes `last.ckpt` when training stops, whatever the budget that stopped it (ModelCheckpoint writes it only
    with its periodic checkpoints), so that --resume continues from the very last step."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        trainer.save_checkpoint(self.path)


def _max_time(text: str | None) -> datetime.timedelta | None:
    if text is None:
        return None
    days, hours, minutes, seconds = (int(v) for v in text.split(":"))
    return datetime.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _loggers(run_dir: Path) -> list[Logger]:
    """CSV always; TensorBoard when its package is installed. A resumed run logs to the next version folder."""
    loggers: list[Logger] = [CSVLogger(run_dir, name="logs/csv")]
    try:
        loggers.append(TensorBoardLogger(run_dir, name="logs/tensorboard", default_hp_metric=False))
    except ModuleNotFoundError:
        print("TensorBoard is not installed: logging to CSV only (pip install tensorboard)", file=sys.stderr)
    return loggers


def build_trainer(config: TrainConfig) -> pl.Trainer:
    """A Lightning Trainer for `config`: budgets, devices (accelerator "auto" picks a GPU when there is one),
    checkpoints with `last`, loggers and progress bar."""
    t, run_dir = config.trainer, Path(config.output.run_dir)
    checkpoints = ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="{step}",
                                  every_n_train_steps=t.checkpoint_every, save_last=True, save_top_k=1)
    return pl.Trainer(
        max_steps=t.max_steps if t.max_steps is not None else -1,
        max_time=_max_time(t.max_time),
        max_epochs=-1,
        accelerator=t.accelerator,
        devices=t.devices,
        strategy=t.strategy,
        num_nodes=t.num_nodes,
        precision=t.precision,
        callbacks=[checkpoints, _FinalCheckpoint(run_dir / LAST_CHECKPOINT)],
        logger=_loggers(run_dir),
        log_every_n_steps=t.log_every,
        enable_progress_bar=t.progress_bar,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        default_root_dir=run_dir,
    )


def _check_resumable(config: TrainConfig, resume: bool) -> Path | None:
    """The checkpoint to resume from (None: a fresh run); refuses to overwrite a run or to change what it trains."""
    run_dir = Path(config.output.run_dir)
    last = run_dir / LAST_CHECKPOINT
    if not resume:
        if last.exists():
            raise ConfigError("output.run_dir", f"{run_dir} already holds a run; pass --resume to continue it or "
                                                "choose another output.run_dir")
        return None
    if not (last.is_file() and (run_dir / "config.yaml").is_file()):
        raise ConfigError("output.run_dir", f"nothing to resume: {run_dir} lacks {LAST_CHECKPOINT} or config.yaml")
    saved = load_config(run_dir / "config.yaml")
    saved.data = replace(saved.data, num_workers=config.data.num_workers)
    for section in _FIXED_ON_RESUME:
        if getattr(saved, section) != getattr(config, section):
            raise ConfigError(section, f"differs from the run being resumed ({run_dir / 'config.yaml'}); "
                                       "only trainer, optim, output and data.num_workers may change on --resume")
    return last


def train(config: TrainConfig, resume: bool = False) -> TrainResult:
    """Train (or continue training) as `config` says and export the model file on the main process."""
    checkpoint = _check_resumable(require_inputs(config), resume)
    pl.seed_everything(config.trainer.seed, workers=True, verbose=False)
    module = RegressorTraining(config.to_dict())
    trainer = build_trainer(config)
    trainer.fit(module, ckpt_path=checkpoint, weights_only=True)  # a checkpoint never runs foreign code
    model_file = None
    if trainer.is_global_zero and config.output.export_path is not None:
        model_file = export_model(module.net, config, module.training_summary(), config.output.export_path)
    return TrainResult(module, Path(config.output.run_dir) / LAST_CHECKPOINT, model_file)
