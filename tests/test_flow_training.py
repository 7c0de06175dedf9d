"""Training the probabilistic variant: ProHMR's losses, and a short run that changes the flow alone and writes a model
file the app loads."""

import pytest
import torch

from hkmr_studio.checkpoints import load_checkpoint
from hkmr_studio.geometry.rotations import axis_angle_to_rot6d
from training.trainer.config import ConfigError
from training.trainer.flow_losses import orthogonality
from training.trainer.flow_train import load_flow_config, train_flow


def test_orthogonality_is_zero_for_rotations_and_positive_otherwise():
    rotations = axis_angle_to_rot6d(torch.randn(4, 24, 3))
    assert orthogonality(rotations).abs().max() < 1e-5
    assert (orthogonality(rotations * 1.1) > 0.1).all()
    skewed = rotations.clone()
    skewed[..., 3:] += 0.2 * skewed[..., :3]
    assert (orthogonality(skewed) > 0.01).all()


def _write_config(tmp_path, **trainer):
    path = tmp_path / "flow.yaml"
    budget = ", ".join(f"{k}: {v}" for k, v in {"max_steps": 2, "log_every": 1, **trainer}.items())
    path.write_text(
        "base_model: hkmr\n"
        "flow: {context_dim: 16, width: 16, steps: 2, blocks: 1}\n"
        "data: {seed: 3, batch_size: 8}\n"
        f"trainer: {{{budget}}}\n"
        f"output: {{run_dir: {tmp_path / 'run'}, export_path: {tmp_path / 'model.pt'}, name: tiny-prohmr}}\n"
    )
    return path


@pytest.mark.slow  # the sample generator, the shipped HKMR and two steps: ~20 s on 2 busy cores
def test_short_run_trains_the_flow_alone_and_writes_a_loadable_model(tmp_path):
    lines = []
    result = train_flow(load_flow_config(_write_config(tmp_path)), log=lines.append)
    assert result.summary["steps"] == 2 and len(lines) == 2 and "nll" in lines[0]
    loaded = load_checkpoint(result.model_file)
    base = load_checkpoint("hkmr")
    assert loaded.name == "tiny-prohmr" and loaded.trained and loaded.net.flow is not None
    for key, value in base.net.state_dict().items():
        assert torch.equal(loaded.net.state_dict()[key], value), f"{key} changed: the regressor must stay frozen"
    couplings = [p for n, p in loaded.net.flow.named_parameters() if "conditioner.last" in n]
    assert any(p.abs().max() > 0 for p in couplings), "the couplings' output layers never left zero"
    assert (tmp_path / "run" / "summary.yaml").is_file()
    stored = torch.load(result.model_file, map_location="cpu", weights_only=True)
    assert stored["base"]["model"] == "hkmr" and all(k.startswith("flow.") for k in stored["state_dict"])


def test_config_names_the_bad_entry(tmp_path):
    path = _write_config(tmp_path)
    path.write_text(path.read_text().replace("width: 16,", "wide: 16,"))
    with pytest.raises(ConfigError, match="^flow: unknown flow config entries: wide"):
        load_flow_config(path)
    path.write_text("data: {seed: 2020768}\n")
    with pytest.raises(ConfigError, match="^data.seed"):
        load_flow_config(path)
