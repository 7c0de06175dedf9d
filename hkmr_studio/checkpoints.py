"""Model files: saving and safely loading MeshRegressor checkpoints, and finding the shipped models by name.

A checkpoint is a torch file holding only plain data: {"format", "config" (ModelConfig as a dict), "state_dict",
"meta" (name, trained flag, description, training summary)}. It is read with torch.load(weights_only=True), so a
hostile file cannot run code; anything else in it is refused with a message. A network built on another model file
(a pose flow trained over a frozen regressor) may store only its own weights and {"base": {"model": reference,
"sha256": digest of that file}}: loading takes the rest from the base, after checking that the base is the very file
the weights were trained over.

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
from hkmr_studio.digests import file_sha256
from hkmr_studio.nets.recovery import MeshRegressor, ModelConfig
from hkmr_studio.resources import models_dir

FORMAT = "hkmr-studio-model/1"
CHECKPOINT_NAME = "model.pt"
DEFAULT_MODEL = "hkmr"
BASELINE_MODEL = "hmr"  # the shipped flat HMR-style model the app compares HKMR against
PROBABILISTIC_MODEL = "prohmr"  # the shipped HKMR with a ProHMR pose flow (the Hypotheses dock)


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


def save_checkpoint(path: str | Path, net: MeshRegressor, meta: dict[str, Any], base: str | None = None) -> Path:
    """Write `net`'s config and weights with `meta` (plain values) atomically. `base`: a model reference whose file
    holds the rest of `net`'s weights, equal to `net`'s (a flow over a frozen regressor): only the weights the base
    lacks are written, with the base's digest. Raises ValueError when a weight both hold differs."""
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    payload: dict[str, Any] = {"format": FORMAT, "config": net.config.to_dict(), "meta": dict(meta)}
    if base is not None:
        base_path = resolve_model_path(base)
        base_state = _read_payload(base_path)["state_dict"]
        changed = [k for k, v in base_state.items() if k in state and not torch.equal(state[k], v)]
        if changed:
            raise ValueError(f"{len(changed)} weights differ from the base model {base} (e.g. {changed[0]}): save the "
                             "whole network instead")
        state = {k: v for k, v in state.items() if k not in base_state}
        reference = str(base_path.resolve()) if looks_like_path(base) else str(base)  # a name, or a whole path
        payload["base"] = {"model": reference, "sha256": file_sha256(base_path)}
    payload["state_dict"] = state
    buffer = io.BytesIO()
    torch.save(payload, buffer)
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
    payload = _read_payload(path)
    base_state = _base_state(payload, path)
    try:
        config = ModelConfig.from_dict(payload["config"])
        net = MeshRegressor(config)
        net.load_state_dict({**base_state, **payload["state_dict"]})
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path.name} does not match the network it describes: {exc}") from exc
    net.eval().to(device)
    return LoadedModel(net=net, config=config, path=path, meta=dict(payload.get("meta", {})))


def _read_payload(path: Path) -> dict[str, Any]:
    """The plain-data dictionary of a model file (weights_only: nothing in it can run)."""
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
    return payload


def _base_state(payload: dict[str, Any], path: Path) -> dict[str, torch.Tensor]:
    """The weights a file takes from its base model ({} without one), once the base is found to be the file the
    weights were trained over."""
    base = payload.get("base")
    if base is None:
        return {}
    if not (isinstance(base, dict) and isinstance(base.get("model"), str) and isinstance(base.get("sha256"), str)):
        raise ModelFileError(f"{path.name} names its base model in a form this version cannot read: re-export it")
    base_path = resolve_model_path(base["model"])
    if not base_path.is_file():
        raise ModelFileError(f"{path.name} holds only the weights it adds to the model '{base['model']}', which is "
                             f"not here ({base_path}): put that model back, or re-export {path.name} whole.")
    if file_sha256(base_path) != base["sha256"]:
        raise ModelFileError(f"{path.name} was trained over another version of the model '{base['model']}' than "
                             f"{base_path}: restore the version it was trained over, or train it again "
                             "(python -m training train-flow).")
    base_payload = _read_payload(base_path)
    if "base" in base_payload:
        raise ModelFileError(f"{path.name}'s base {base_path} has a base of its own: export the base whole")
    return base_payload["state_dict"]
