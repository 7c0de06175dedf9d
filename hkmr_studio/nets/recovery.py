"""A whole mesh-recovery network: an encoder (Φ) followed by the HKMR or HMR regressor, built from one config."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import torch
from torch import nn

from hkmr_studio.nets.encoders import ENCODER_NAMES, build_encoder
from hkmr_studio.nets.flow import ConditionalPoseFlow, FlowConfig
from hkmr_studio.nets.hkmr import HKMRConfig, HKMRRegressor
from hkmr_studio.nets.hmr import HMRConfig, HMRRegressor
from hkmr_studio.nets.output import RegressorOutput

#: A network's architecture, not a model's name (hkmr_studio.checkpoints names the shipped models).
RegressorKind = Literal["hkmr", "hmr"]
_REGRESSOR_CONFIGS: dict[str, type] = {"hkmr": HKMRConfig, "hmr": HMRConfig}


@dataclass
class ModelConfig:
    """Everything needed to rebuild a network before loading its weights; plain values only (saved in checkpoints).

    regressor_opts: fields of HKMRConfig / HMRConfig other than feature_dim; encoder_opts: the encoder's options.
    flow: FlowConfig's fields other than feature_dim for the `probabilistic` variant (a ProHMR flow over the pose
    beside the regressor, `MeshRegressor.flow`); empty for none.
    """

    regressor: RegressorKind = "hkmr"
    encoder: str = "keypoints"
    feature_dim: int = 1024
    encoder_opts: dict[str, Any] = field(default_factory=dict)
    regressor_opts: dict[str, Any] = field(default_factory=dict)
    flow: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Validate and build; raises ValueError naming the bad entry."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown model config entries: {', '.join(sorted(unknown))}")
        config = cls(**data)
        if config.regressor not in _REGRESSOR_CONFIGS:
            raise ValueError(f"unknown regressor {config.regressor!r}; choose hkmr or hmr")
        if config.encoder not in ENCODER_NAMES:
            raise ValueError(f"unknown encoder {config.encoder!r}; choose one of {', '.join(ENCODER_NAMES)}")
        allowed = {f.name for f in fields(_REGRESSOR_CONFIGS[config.regressor])} - {"feature_dim"}
        bad = set(config.regressor_opts) - allowed
        if bad:
            raise ValueError(f"unknown {config.regressor} options: {', '.join(sorted(bad))}")
        if config.flow:
            config.flow_config()
        return config

    def regressor_config(self) -> HKMRConfig | HMRConfig:
        opts = dict(self.regressor_opts)
        if "head_widths" in opts:
            opts["head_widths"] = tuple(opts["head_widths"])
        return _REGRESSOR_CONFIGS[self.regressor](feature_dim=self.feature_dim, **opts)

    def flow_config(self) -> FlowConfig:
        """The flow's config (ValueError for an unknown entry); only meaningful when `flow` is not empty."""
        return FlowConfig.from_dict({**self.flow, "feature_dim": self.feature_dim})


class MeshRegressor(nn.Module):
    """Encoder + regressor. `forward` takes the encoder's inputs (landmarks, visibility, ... or an image crop)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = build_encoder(config.encoder, config.feature_dim, **config.encoder_opts)
        regressor_config = config.regressor_config()
        self.regressor = (
            HKMRRegressor(regressor_config) if config.regressor == "hkmr" else HMRRegressor(regressor_config)
        )
        self.flow = ConditionalPoseFlow(config.flow_config()) if config.flow else None

    @property
    def input_kind(self) -> str:
        """"keypoints" or "image"."""
        return self.encoder.input_kind

    def forward(self, *inputs: torch.Tensor, **named: torch.Tensor | None) -> RegressorOutput:
        return self.regressor(self.encoder(*inputs, **named))
