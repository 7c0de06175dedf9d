"""A training config's `loss:` section is the network's LossWeights (one dataclass, no copy by position): every
shipped YAML loads its weights into it unchanged, and the config's checks name each weight."""

from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from hkmr_studio.nets.losses import LossWeights
from training.trainer.config import ConfigError, config_from_dict, load_config

CONFIGS = Path(__file__).resolve().parents[1] / "training" / "configs"
#: The regressor's training configs (prohmr*.yaml configure the pose flow: python -m training train-flow).
REGRESSOR_CONFIGS = sorted(path for path in CONFIGS.glob("*.yaml") if not path.name.startswith("prohmr"))


@pytest.mark.parametrize("path", REGRESSOR_CONFIGS, ids=lambda path: path.name)
def test_every_shipped_config_loads_its_yaml_loss_weights_into_the_networks_loss_weights(path):
    written = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("loss", {})
    loss = load_config(path).loss
    assert isinstance(loss, LossWeights)
    defaults = LossWeights()
    for weight in fields(LossWeights):
        assert getattr(loss, weight.name) == written.get(weight.name, getattr(defaults, weight.name)), weight.name
    assert loss.vae_path == written.get("vae_path")


@pytest.mark.parametrize("weight", [weight.name for weight in fields(LossWeights)])
def test_a_negative_loss_weight_is_refused_naming_it(weight):
    with pytest.raises(ConfigError) as refusal:
        config_from_dict({"loss": {weight: -1.0}})
    assert refusal.value.field == f"loss.{weight}"
