"""Model files: saving and safely loading MeshRegressor checkpoints, and finding the shipped models by name.

A checkpoint is a torch file holding only plain data: {"format", "config" (ModelConfig as a dict), "state_dict",
"meta" (name, trained flag, description, training summary)}. It is read with torch.load(weights_only=True), so a
hostile file cannot run code; anything else in it is refused with a message.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hkmr_studio.atomic import atomic_write_bytes
from hkmr_studio.nets.recovery import MeshRegressor, ModelConfig
from hkmr_studio.resources import models_dir

FORMAT = "hkmr-studio-model/1"
CHECKPOINT_NAME = "model.pt"
DEFAULT_MODEL = "hkmr"
BASELINE_MODEL = "hmr"  # the flat HMR-style regressor the app compares HKMR against


class ModelFileError(ValueError):
    """The model file is missing, unreadable, unsafe or of another kind; the message says what to do."""


@dataclass
class LoadedModel:
    """A network ready for inference (eval mode, on its device) with what its file says about it."""

    net: MeshRegressor
    config: ModelConfig
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.meta.get("name", self.path.parent.name))

    @property
    def trained(self) -> bool:
        return bool(self.meta.get("trained", False))


def save_checkpoint(path: str | Path, net: MeshRegressor, meta: dict[str, Any]) -> Path:
    """Write `net`'s config and weights with `meta` (plain values) atomically."""
    buffer = io.BytesIO()
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    torch.save({"format": FORMAT, "config": net.config.to_dict(), "state_dict": state, "meta": dict(meta)}, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def resolve_model_path(name_or_path: str | Path) -> Path:
    """A shipped model's name ("hkmr", "hmr", ...) -> models/<name>/model.pt; a path is returned as it is."""
    candidate = Path(name_or_path)
    if candidate.suffix or candidate.exists():
        return candidate
    return models_dir() / str(name_or_path) / CHECKPOINT_NAME


def shipped_model_names() -> list[str]:
    """Names of the models under models/ that have a checkpoint."""
    return sorted(p.parent.name for p in models_dir().glob(f"*/{CHECKPOINT_NAME}"))


def load_checkpoint(name_or_path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a checkpoint by shipped name or path; raises ModelFileError with a fix for anything wrong."""
    path = resolve_model_path(name_or_path)
    if not path.is_file():
        shipped = ", ".join(shipped_model_names()) or "none"
        raise ModelFileError(f"model file not found: {path} (shipped models: {shipped}). Choose a shipped model or "
                             "train one with `python -m training train`.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelFileError(f"{path.name} holds objects other than tensors and plain values, so it was not loaded "
                             f"(it could run code): {str(exc).splitlines()[0]}") from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise ModelFileError(f"{path.name} is not a readable PyTorch file: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path.name} is not an HKMR Studio model file (expected format {FORMAT}); "
                             "checkpoints from Lightning training runs are converted by `python -m training export`.")
    try:
        config = ModelConfig.from_dict(payload["config"])
        net = MeshRegressor(config)
        net.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path.name} does not match the network it describes: {exc}") from exc
    net.eval().to(device)
    return LoadedModel(net=net, config=config, path=path, meta=dict(payload.get("meta", {})))
