"""Model files save and load round trip; wrong, corrupt or hostile files are refused with a message."""

import os

import pytest
import torch

from hkmr_studio.checkpoints import (
    BASELINE_MODEL,
    CHECKPOINT_NAME,
    ModelFileError,
    load_checkpoint,
    resolve_model_path,
    save_checkpoint,
    shipped_model_names,
)
from hkmr_studio.nets.recovery import MeshRegressor, ModelConfig
from hkmr_studio.resources import models_dir


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


def test_a_folder_named_like_the_baseline_in_the_working_directory_does_not_hide_the_shipped_model(
        tmp_path, monkeypatch):
    (tmp_path / BASELINE_MODEL).mkdir()
    (tmp_path / BASELINE_MODEL / CHECKPOINT_NAME).write_bytes(b"not the shipped model")
    monkeypatch.chdir(tmp_path)
    loaded = load_checkpoint(BASELINE_MODEL)
    assert loaded.path == models_dir() / BASELINE_MODEL / CHECKPOINT_NAME
    assert loaded.config.regressor == "hmr" and loaded.trained


def test_every_shipped_name_resolves_to_its_folder_under_models(tmp_path, monkeypatch):
    names = shipped_model_names()
    assert {"hkmr", BASELINE_MODEL} <= set(names)
    for name in names:
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path)
    assert [resolve_model_path(name) for name in names] == [models_dir() / n / CHECKPOINT_NAME for n in names]


def test_an_unknown_word_is_refused_with_the_shipped_names_even_when_such_a_file_is_here(tmp_path, monkeypatch):
    net = MeshRegressor(_small_config())
    save_checkpoint(tmp_path / "mymodel", net, {"name": "tiny"})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelFileError, match=r"no shipped model is called 'mymodel'.*\./mymodel") as refusal:
        load_checkpoint("mymodel")
    assert all(name in str(refusal.value) for name in shipped_model_names())
    assert load_checkpoint("./mymodel").name == "tiny"


@pytest.mark.parametrize("reference", ["run/model.pt", "./run", "run/", "~/run/model.pt", "~/run", "model.pt"])
def test_references_that_look_like_paths_are_read_as_paths(tmp_path, monkeypatch, reference):
    net = MeshRegressor(_small_config())
    save_checkpoint(tmp_path / "run" / CHECKPOINT_NAME, net, {"name": "in-run"})
    save_checkpoint(tmp_path / CHECKPOINT_NAME, net, {"name": "here"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_checkpoint(reference).name == ("here" if reference == "model.pt" else "in-run")


def _regressor_and_flow_over_it(tmp_path):
    """A small regressor saved whole, and a network with a flow beside the same regressor weights."""
    torch.manual_seed(0)
    regressor = MeshRegressor(_small_config()).eval()
    base = save_checkpoint(tmp_path / "base" / "model.pt", regressor, {"name": "base", "trained": True})
    config = ModelConfig(**{**_small_config().to_dict(), "flow": {"context_dim": 16, "width": 16, "steps": 2,
                                                                  "blocks": 1}})
    with_flow = MeshRegressor(config).eval()
    with_flow.load_state_dict(regressor.state_dict(), strict=False)
    return base, with_flow


def test_a_flow_saved_over_its_base_stores_only_its_own_weights_and_loads_whole(tmp_path):
    base, with_flow = _regressor_and_flow_over_it(tmp_path)
    whole = save_checkpoint(tmp_path / "whole.pt", with_flow, {"name": "flow"})
    over_base = save_checkpoint(tmp_path / "flow.pt", with_flow, {"name": "flow"}, base=str(base))
    assert over_base.stat().st_size < 0.5 * whole.stat().st_size
    loaded = load_checkpoint(over_base)
    expected = with_flow.state_dict()
    assert loaded.net.state_dict().keys() == expected.keys()
    assert all(torch.equal(v, expected[k]) for k, v in loaded.net.state_dict().items())


def test_a_flow_is_not_loaded_over_a_changed_or_missing_base(tmp_path):
    base, with_flow = _regressor_and_flow_over_it(tmp_path)
    path = save_checkpoint(tmp_path / "flow.pt", with_flow, {"name": "flow"}, base=str(base))
    torch.manual_seed(1)
    save_checkpoint(base, MeshRegressor(_small_config()), {"name": "base", "trained": True})  # retrained in place
    with pytest.raises(ModelFileError, match="another version of the model"):
        load_checkpoint(path)
    base.unlink()
    with pytest.raises(ModelFileError, match="put that model back"):
        load_checkpoint(path)


def test_a_network_whose_regressor_differs_from_the_base_is_not_saved_over_it(tmp_path):
    base, with_flow = _regressor_and_flow_over_it(tmp_path)
    with torch.no_grad():
        next(with_flow.regressor.parameters()).add_(1.0)
    with pytest.raises(ValueError, match="differ from the base model"):
        save_checkpoint(tmp_path / "flow.pt", with_flow, {"name": "flow"}, base=str(base))
    assert not (tmp_path / "flow.pt").exists()


def test_a_malformed_base_entry_is_refused_with_a_message(tmp_path):
    base, with_flow = _regressor_and_flow_over_it(tmp_path)
    path = save_checkpoint(tmp_path / "flow.pt", with_flow, {"name": "flow"}, base=str(base))
    payload = torch.load(path, weights_only=True)
    payload["base"] = ["not", "a", "dict"]
    torch.save(payload, path)
    with pytest.raises(ModelFileError, match="names its base model in a form"):
        load_checkpoint(path)
