"""Model files: saving and safely loading MeshRegressor checkpoints, and finding the shipped models by name.

A checkpoint is a torch file holding only plain data: {"format", "config" (ModelConfig as a dict), "state_dict",
"meta" (name, trained flag, description, training summary)}. It is read with torch.load(weights_only=True), so a
hostile file cannot run code; anything else in it is refused with a message.

A model's *name* (DEFAULT_MODEL, BASELINE_MODEL, a folder under models/) says which shipped checkpoint to load; a
network's *kind* (`ModelConfig.regressor`, "hkmr" or "hmr", in nets/recovery.py) says which architecture a checkpoint
holds. They share two words and nothing else: a file of any name may hold either kind.
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
BASELINE_MODEL = "hmr"  # the shipped flat HMR-style model the app compares HKMR against


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


def shipped_model_names() -> list[str]:
    """Names of the models under models/ that have a checkpoint."""
    return sorted(p.parent.name for p in models_dir().glob(f"*/{CHECKPOINT_NAME}"))


def looks_like_path(reference: str | Path) -> bool:
    """True when a model reference reads as a file path: it has a folder separator or a suffix (.pt), or starts with
    ~ or . (a bare word such as "hmr" is a model's name, even when a folder of that name is in the working directory)."""
    text = str(reference)
    return "/" in text or "\\" in text or bool(Path(text).suffix) or text.startswith(("~", "."))


def resolve_model_path(name_or_path: str | Path) -> Path:
    """The checkpoint a model reference means, first match wins: a shipped model's name ("hkmr", "hmr", any name
    `shipped_model_names` lists) -> models/<name>/model.pt; a reference that looks like a path -> that path (~
    expanded; a folder -> its model.pt); any other word -> models/<word>/model.pt, which does not exist (the
    loader says which names are shipped)."""
    text = str(name_or_path)
    if text in shipped_model_names() or not looks_like_path(text):
        return models_dir() / text / CHECKPOINT_NAME
    path = Path(text).expanduser()
    return path / CHECKPOINT_NAME if path.is_dir() else path


def load_checkpoint(name_or_path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a checkpoint by shipped name or path; raises ModelFileError with a fix for anything wrong."""
    path = resolve_model_path(name_or_path)
    if not path.is_file():
        shipped = ", ".join(shipped_model_names()) or "none"
        if not looks_like_path(name_or_path):
            raise ModelFileError(f"no shipped model is called '{name_or_path}' (shipped models: {shipped}). Choose a "
                                 f"shipped model, or give a model file as a path (e.g. ./{name_or_path}/model.pt).")
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
