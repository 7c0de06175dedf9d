"""Training the `probabilistic` variant: a ProHMR pose flow beside a trained, frozen keypoint regressor.

The regressor (encoder + HKMR) of `base_model` is loaded and frozen; only the flow (hkmr_studio.nets.flow) learns,
from the same synthetic stream the regressor trained on (training.samples, with world landmarks withheld from a
quarter of the rows), with ProHMR's losses (training.trainer.flow_losses), Adam with weight decay as ProHMR. The
model file written at the end holds the regressor's weights and the flow's, so the app loads it like any model.
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import yaml

from hkmr_studio.atomic import atomic_write_text
from hkmr_studio.body.model import BodyModel
from hkmr_studio.checkpoints import DEFAULT_MODEL, PROBABILISTIC_MODEL, load_checkpoint, save_checkpoint
from hkmr_studio.geometry.rotations import matrix_to_rot6d
from hkmr_studio.nets.flow import FlowConfig
from hkmr_studio.nets.recovery import MeshRegressor
from training.samples.generator import SampleConfigError, SampleGenerator
from training.trainer.config import EVAL_SEED, ConfigError, DataConfig, _build
from training.trainer.data import WithheldWorld, encode
from training.trainer.flow_losses import FlowLoss, FlowLossWeights, flow_loss

_EMA = 0.98


@dataclass
class FlowOptim:
    """Adam (ProHMR: learning rate 1e-4, weight decay 1e-4)."""

    lr: float = 1e-4
    weight_decay: float = 1e-4


@dataclass
class FlowBudget:
    """Training stops at the first of max_steps and max_seconds; progress is printed every log_every steps."""

    max_steps: int = 10_000
    max_seconds: float | None = None
    log_every: int = 100
    samples: int = 2
    seed: int = 0


@dataclass
class FlowOutput:
    run_dir: str = "runs/prohmr"
    export_path: str = "models/prohmr/model.pt"
    name: str = PROBABILISTIC_MODEL
    description: str = ""


@dataclass
class FlowTrainConfig:
    """base_model: the trained regressor's model file or shipped name; flow: FlowConfig's fields but feature_dim."""

    base_model: str = DEFAULT_MODEL
    flow: dict[str, Any] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    loss: FlowLossWeights = field(default_factory=FlowLossWeights)
    optim: FlowOptim = field(default_factory=FlowOptim)
    trainer: FlowBudget = field(default_factory=FlowBudget)
    output: FlowOutput = field(default_factory=FlowOutput)


def load_flow_config(path: str | Path) -> FlowTrainConfig:
    """Read and check a YAML config; ConfigError names the bad entry."""
    config = _build(FlowTrainConfig, yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}, "")
    if config.data.seed == EVAL_SEED:
        raise ConfigError("data.seed", f"{EVAL_SEED} is the evaluation test set's seed; choose another")
    if config.data.rendered_rows:
        raise ConfigError("data.rendered_fraction", "the flow trains on the synthetic stream alone; set it to 0")
    try:
        config.data.sample_config()
        FlowConfig.from_dict(config.flow)
    except SampleConfigError as exc:
        raise ConfigError(f"data.generator.{exc.field}", exc.problem) from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError("flow", str(exc)) from exc
    return config


@dataclass
class FlowTrainResult:
    net: MeshRegressor
    summary: dict[str, Any]
    model_file: Path


def probabilistic_net(base: str | Path, flow: dict[str, Any]) -> MeshRegressor:
    """The base model's network with a fresh flow beside it: regressor and encoder weights loaded and frozen."""
    loaded = load_checkpoint(base)
    net = MeshRegressor(replace(loaded.config, flow=dict(flow)))
    missing, unexpected = net.load_state_dict(loaded.net.state_dict(), strict=False)
    if unexpected or any(not k.startswith("flow.") for k in missing):
        raise ValueError(f"{base} does not fit the probabilistic network: missing {missing}, unexpected {unexpected}")
    net.encoder.requires_grad_(False).eval()
    net.regressor.requires_grad_(False).eval()
    return net


def train_flow(config: FlowTrainConfig, log: Any = print) -> FlowTrainResult:
    """Train the flow as `config` says and write the model file (see the module docstring)."""
    torch.manual_seed(config.trainer.seed)
    net = probabilistic_net(config.base_model, config.flow)
    flow = net.flow.train()
    body = BodyModel()
    data = config.data
    source = WithheldWorld(SampleGenerator(data.sample_config()), data.world_withheld_fraction, data.seed)
    optimiser = torch.optim.Adam(flow.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay)
    generator = torch.Generator().manual_seed(config.trainer.seed)
    budget, start, running, step = config.trainer, time.monotonic(), {}, 0
    while step < budget.max_steps and (budget.max_seconds is None or time.monotonic() - start < budget.max_seconds):
        batch = source.batch(step)
        with torch.no_grad():
            features = encode(net, batch, data.use_world_landmarks)
            output = net.regressor(features)
        context = flow.context(features, matrix_to_rot6d(output.rotmats))
        loss = flow_loss(flow, context, body, batch, output.betas, output.camera, config.loss, budget.samples,
                         generator)
        optimiser.zero_grad(set_to_none=True)
        loss.total.backward()
        torch.nn.utils.clip_grad_norm_(flow.parameters(), 10.0)
        optimiser.step()
        step += 1
        _update(running, loss)
        if step % budget.log_every == 0:
            log(f"step {step} ({time.monotonic() - start:.0f} s): "
                + ", ".join(f"{k} {v:.4g}" for k, v in running.items()))
    summary = {
        "steps": step, "seconds": round(time.monotonic() - start, 1),
        "hardware": f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)",
        "base_model": str(config.base_model), "batch_size": data.batch_size,
        "data": {"seed": data.seed, "two_d_only_fraction": data.two_d_only_fraction,
                 "world_withheld_fraction": data.world_withheld_fraction, "generator": data.generator},
        "optim": asdict(config.optim), "loss_weights": asdict(config.loss), "samples_per_row": budget.samples,
        "final_losses": {k: round(v, 6) for k, v in running.items()},
    }
    net.eval()
    meta = {"name": config.output.name, "trained": True, "uses_world_landmarks": data.use_world_landmarks,
            "description": config.output.description or f"{config.base_model} with a ProHMR pose flow",
            "training": summary}
    model_file = save_checkpoint(config.output.export_path, net, meta, base=config.base_model)  # the flow alone
    atomic_write_text(Path(config.output.run_dir) / "summary.yaml", yaml.safe_dump(summary, sort_keys=False))
    return FlowTrainResult(net, summary, model_file)


def _update(running: dict[str, float], loss: FlowLoss) -> None:
    for name, value in loss.values().items():
        running[name] = _EMA * running.get(name, value) + (1.0 - _EMA) * value
