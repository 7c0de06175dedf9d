"""Model files save and load round trip; wrong, corrupt or hostile files are refused with a message."""

import os
import pickle

import pytest
import torch

from hkmr_studio.checkpoints import ModelFileError, load_checkpoint, save_checkpoint
from hkmr_studio.nets.recovery import MeshRegressor, ModelConfig


def _small_config(regressor: str = "hkmr") -> ModelConfig:
    return ModelConfig(regressor=regressor, encoder="keypoints", feature_dim=64, encoder_opts={"width": 64})


@pytest.mark.parametrize("regressor", ["hkmr", "hmr"])
def test_round_trip_reproduces_predictions(tmp_path, regressor):
    torch.manual_seed(0)
    net = MeshRegressor(_small_config(regressor)).eval()
    path = save_checkpoint(tmp_path / "m" / "model.pt", net, {"name": "tiny", "trained": False})
    loaded = load_checkpoint(path)
    landmarks, vis = torch.rand(2, 33, 2) * 2 - 1, torch.rand(2, 33)
    with torch.no_grad():
        a, b = net(landmarks, vis), loaded.net(landmarks, vis)
    assert torch.equal(a.body_pose, b.body_pose) and torch.equal(a.camera, b.camera)
    assert loaded.name == "tiny" and loaded.trained is False and loaded.config == net.config


def test_hostile_checkpoint_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "hkmr-studio-model/1", "payload": Evil()}, path)
    with pytest.raises(ModelFileError, match="could run code"):
        load_checkpoint(path)
    assert not marker.exists()


def test_other_files_get_clear_messages(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00garbage")
    with pytest.raises(ModelFileError, match="not a readable PyTorch file|could run code"):
        load_checkpoint(junk)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(ModelFileError, match="not an HKMR Studio model file"):
        load_checkpoint(foreign)
    mismatched = tmp_path / "mismatch.pt"
    net = MeshRegressor(_small_config())
    save_checkpoint(mismatched, net, {})
    payload = torch.load(mismatched, weights_only=True)
    payload["config"]["feature_dim"] = 32
    torch.save(payload, mismatched)
    with pytest.raises(ModelFileError, match="does not match"):
        load_checkpoint(mismatched)


def test_config_rejects_unknown_entries():
    with pytest.raises(ValueError, match="unknown hkmr options: bogus"):
        ModelConfig.from_dict({"regressor": "hkmr", "regressor_opts": {"bogus": 1}})
    with pytest.raises(ValueError, match="unknown encoder"):
        ModelConfig.from_dict({"encoder": "vgg"})
