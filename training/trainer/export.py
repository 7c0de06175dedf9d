"""The app's model file from a training run (at the end of `train`, or by `python -m training export`).

A Lightning checkpoint of RegressorTraining holds the run's config and a training summary; the model file
(hkmr_studio.checkpoints) holds the network's config, weights and meta: name, trained=True, description, the
training summary and whether the network reads MediaPipe's world landmarks.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from hkmr_studio.checkpoints import save_checkpoint
from hkmr_studio.nets.recovery import MeshRegressor
from training.trainer.config import TrainConfig, config_from_dict

LAST_CHECKPOINT = "checkpoints/last.ckpt"


def model_meta(config: TrainConfig, summary: dict[str, Any]) -> dict[str, Any]:
    """The model file's meta for a network trained with `config`."""
    model = config.model
    description = config.output.description or (
        f"{model.regressor.upper()} regressor, {model.encoder} encoder, trained on synthetic samples "
        f"for {summary['steps']} steps")
    return {
        "name": config.output.name,
        "trained": True,
        "description": description,
        "training": summary,
        "uses_world_landmarks": config.data.use_world_landmarks and not config.data.images,
    }


def export_model(net: MeshRegressor, config: TrainConfig, summary: dict[str, Any], path: str | Path) -> Path:
    """Write the app's model file for `net` (see hkmr_studio.checkpoints.save_checkpoint)."""
    return save_checkpoint(path, net, model_meta(config, summary))


def export_checkpoint(checkpoint: str | Path, out: str | Path) -> Path:
    """Convert a RegressorTraining Lightning checkpoint into the app's model file at `out`."""
    try:
        payload = torch.load(checkpoint, map_location="cpu", weights_only=True)
        config = config_from_dict(payload["hyper_parameters"]["config"])
        summary = payload["training_summary"]
    except (KeyError, TypeError, pickle.UnpicklingError) as exc:
        raise ValueError(f"{checkpoint} is not a checkpoint of `python -m training train` ({exc})") from exc
    net = MeshRegressor(config.model)
    prefix = "net."
    net.load_state_dict({k[len(prefix):]: v for k, v in payload["state_dict"].items() if k.startswith(prefix)})
    return export_model(net, config, summary, out)
