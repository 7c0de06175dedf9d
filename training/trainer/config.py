"""The training run's configuration: nested dataclasses with every default in one place, read from YAML or JSON.

`load_config(path)` checks every entry (unknown names, types, ranges, combinations) and raises `ConfigError`, whose
message starts with the dotted name of the offending field (e.g. `data.batch_size: ...`). `save_config` writes the
YAML that a run keeps beside its checkpoints.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from hkmr_studio.atomic import atomic_write_text
from hkmr_studio.nets.losses import LossWeights
from hkmr_studio.nets.recovery import ModelConfig
from training.samples.generator import SampleConfig, SampleConfigError
from training.trainer.smplify import OPTION_NAMES as SMPLIFY_OPTIONS

#: Seed of the evaluation test set (`python -m training evaluate`); training must not draw from it.
EVAL_SEED = 2_020_768
#: Seed of the rendered set's test split (`python -m training render-set`); training refuses that split.
RENDERED_TEST_SEED = EVAL_SEED + 1
#: SampleConfig fields that `data` sets itself, so `data.generator` may not.
_DATA_OWNED = ("batch_size", "seed", "two_d_only_fraction")
#: Generator settings that were replaced by camera mixtures (training/data/CAMERAS.md): old name -> new name.
_RETIRED_GENERATOR_SETTINGS = {"pitch_std_deg": "pitch_modes", "roll_std_deg": "roll_modes",
                               "fov_range_deg": "lens_modes_mm"}
#: The encoder that reads landmarks; the others read image crops (data.images).
KEYPOINT_ENCODER = "keypoints"
_MAX_TIME = re.compile(r"^\d+:\d{2}:\d{2}:\d{2}$")


class ConfigError(ValueError):
    """A configuration entry is wrong; `field` is its dotted name, which also starts the message."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name


@dataclass
class DataConfig:
    """Synthetic samples (training.samples). batch_size is per process: DDP's effective batch is batch_size x processes.

    pool_batches: None draws fresh batches forever; N cycles over batches 0..N-1 (one epoch), so each sample comes
    back and keeps its id (batch index x batch_size + row), as SMPLify in the loop needs. generator: further
    SampleConfig settings (noise_scale, occluder_fraction, ...). use_world_landmarks: feed MediaPipe's world landmarks
    to the keypoint encoder where a sample has them. images: render each sample's RGB crop
    (training.samples.rgb_crops) for an image encoder (resnet50, efficientnet_lite0); needed by those, refused by the
    keypoint encoder; generator.vae_fraction draws that share of the synthetic poses from the pose VAE at
    loss.vae_path. rendered_set / rendered_fraction: that share of every batch comes from the training split of the
    rendered set (training.rendered: MediaPipe's own landmarks on rendered bodies), the rest from the generator.
    pose_library: a pose library npz (python -m training prepare-poses) in place of training/data/pose_library.npz.
    world_withheld_fraction: each row, synthetic or rendered, loses its world landmarks with this probability
    (trainer.data.WithheldWorld), so that the network also works from the 2D landmarks alone and learns how far to
    trust the world landmarks.
    """

    seed: int = 0
    batch_size: int = 128
    two_d_only_fraction: float = 0.5
    pool_batches: int | None = None
    num_workers: int = 1
    use_world_landmarks: bool = True
    images: bool = False
    generator: dict[str, Any] = field(default_factory=dict)
    rendered_set: str | None = None
    rendered_fraction: float = 0.0
    world_withheld_fraction: float = 0.25
    pose_library: str | None = None

    @property
    def rendered_rows(self) -> int:
        """Rows of each batch taken from the rendered set."""
        return round(self.rendered_fraction * self.batch_size)

    def sample_config(self) -> SampleConfig:
        """The generator's settings; its batches are the rows the rendered set does not fill."""
        return SampleConfig(
            batch_size=self.batch_size - self.rendered_rows, seed=self.seed,
            two_d_only_fraction=self.two_d_only_fraction, **self.generator,
        )


@dataclass
class LossConfig(LossWeights):
    """Eq. 3's weights, as the network's loss defines them (LossWeights: smpl, joints_3d, keypoints_2d, kl, with its
    defaults), so the config is passed to the loss as it is and `loss:` in YAML keeps those four keys; plus
    vae_path: a trained PoseVAE state_dict for L_KL (None: no L_KL)."""

    vae_path: str | None = None


@dataclass
class OptimConfig:
    """Adam (supplement: learning rate 3e-4)."""

    lr: float = 3e-4


@dataclass
class SmplifyConfig:
    """SMPLify in the loop (SPIN; HKMR_MF): fit the 2D-only samples from the regressor's output, keep each sample's
    best fit by 2D reprojection error, supervise with it. options: settings of hkmr_studio.fitting.smplify's
    SMPLifyConfig (iteration counts, prior weights, ...). max_error: fits whose mean 2D error (normalised crop units,
    the crop spans 2) is above this do not supervise."""

    enabled: bool = False
    max_error: float = 0.05
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainerConfig:
    """Lightning's settings. Budgets: max_steps and/or max_time ("DD:HH:MM:SS"); training stops at the first reached.

    devices: "auto", a count or a list of indices; strategy: "auto", "ddp", "ddp_spawn", ...; num_nodes for several
    machines (see training/README.md). checkpoint_every: steps between checkpoints (`last.ckpt` is always kept).
    """

    max_steps: int | None = 100_000
    max_time: str | None = None
    accelerator: str = "auto"
    devices: int | str | list[int] = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    checkpoint_every: int = 1000
    log_every: int = 50
    progress_bar: bool = True
    seed: int = 0


@dataclass
class OutputConfig:
    """run_dir: checkpoints, logs and config.yaml. export_path: the app's model file written at the end (None: none).
    name / description: what the model file says about itself."""

    run_dir: str = "runs/hkmr"
    export_path: str | None = "models/hkmr/model.pt"
    name: str = "hkmr"
    description: str = ""


@dataclass
class TrainConfig:
    """A whole training run."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    smplify: SmplifyConfig = field(default_factory=SmplifyConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind).replace("typing.", ""))


def _convert(value: Any, kind: Any, name: str) -> Any:
    """`value` checked against the annotation `kind` (dataclasses, unions, Literal, list, dict, scalars)."""
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        for option in typing.get_args(kind):
            try:
                return _convert(value, option, name)
            except ConfigError:
                continue
        raise ConfigError(name, f"expected {' or '.join(_type_name(a) for a in typing.get_args(kind))}, got {value!r}")
    if origin is Literal:
        if value not in typing.get_args(kind):
            raise ConfigError(name, f"expected one of {', '.join(map(repr, typing.get_args(kind)))}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list | tuple):
            raise ConfigError(name, f"expected a list, got {value!r}")
        (item,) = typing.get_args(kind)
        return [_convert(v, item, f"{name}[{i}]") for i, v in enumerate(value)]
    if origin is dict or kind is dict:
        if not isinstance(value, dict):
            raise ConfigError(name, f"expected a mapping, got {value!r}")
        return dict(value)
    if is_dataclass(kind):
        return _build(kind, value, name)
    if kind is type(None):
        if value is not None:
            raise ConfigError(name, f"expected null, got {value!r}")
        return None
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind in (int, str, bool) and isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise ConfigError(name, f"expected {_type_name(kind)}, got {value!r}")


def _build(cls: type, data: Any, prefix: str) -> Any:
    """An instance of dataclass `cls` from a mapping, defaults filling what it leaves out."""
    where = prefix or "config"
    if not isinstance(data, dict):
        raise ConfigError(where, f"expected a mapping of settings, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    for key in data:
        if key not in names:
            raise ConfigError(f"{prefix}.{key}" if prefix else str(key),
                              f"unknown setting; expected one of {', '.join(names)}")
    values = {k: _convert(v, hints[k], f"{prefix}.{k}" if prefix else k) for k, v in data.items()}
    if cls is ModelConfig:
        try:
            return ModelConfig.from_dict(values)
        except ValueError as exc:
            raise ConfigError(where, str(exc)) from exc
    return cls(**values)


def _require(condition: bool, name: str, problem: str) -> None:
    if not condition:
        raise ConfigError(name, problem)


def validate(config: TrainConfig) -> TrainConfig:
    """Check ranges and combinations; returns `config` or raises ConfigError."""
    d, t, s = config.data, config.trainer, config.smplify
    _require(d.batch_size >= 2, "data.batch_size", f"must be at least 2, got {d.batch_size}")
    _require(0.0 <= d.two_d_only_fraction < 1.0, "data.two_d_only_fraction", "must lie in [0, 1)")
    _require(d.seed != EVAL_SEED, "data.seed", f"{EVAL_SEED} is the evaluation test set's seed; choose another")
    _require(d.pool_batches is None or d.pool_batches >= 1, "data.pool_batches", "must be null or at least 1")
    _require(d.num_workers >= 0, "data.num_workers", "must be >= 0")
    _require(0.0 <= d.rendered_fraction < 1.0, "data.rendered_fraction", "must lie in [0, 1)")
    _require(0.0 <= d.world_withheld_fraction < 1.0, "data.world_withheld_fraction", "must lie in [0, 1)")
    _require(d.rendered_rows == 0 or d.rendered_set is not None, "data.rendered_set",
             "data.rendered_fraction > 0 needs the rendered set's training split (python -m training render-set)")
    _require(d.rendered_rows == 0 or not d.images, "data.rendered_fraction",
             "the rendered set stores landmarks, not crops: image encoders cannot train on it")
    sample_fields = {f.name for f in fields(SampleConfig)}
    for key in d.generator:
        _require(key not in _RETIRED_GENERATOR_SETTINGS, f"data.generator.{key}",
                 f"replaced by {_RETIRED_GENERATOR_SETTINGS.get(key)}, a mixture of [weight, low, high] intervals "
                 "(training/data/CAMERAS.md)")
        _require(key in sample_fields and key not in _DATA_OWNED, f"data.generator.{key}",
                 f"unknown generator setting (data sets {', '.join(_DATA_OWNED)} itself)")
    try:
        samples = d.sample_config()
    except SampleConfigError as exc:
        owner = "data" if exc.field in _DATA_OWNED else "data.generator"
        raise ConfigError(f"{owner}.{exc.field}", exc.problem) from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError("data.generator", str(exc)) from exc
    _require(samples.vae_fraction == 0 or config.loss.vae_path is not None, "data.generator.vae_fraction",
             "VAE samples come from the pose VAE at loss.vae_path: set it (models/priors/pose_vae.pt)")
    for weight in fields(LossWeights):
        _require(getattr(config.loss, weight.name) >= 0, f"loss.{weight.name}", "must be >= 0")
    _require(config.optim.lr > 0, "optim.lr", f"must be positive, got {config.optim.lr}")
    _require(t.max_steps is not None or t.max_time is not None, "trainer.max_steps",
             "set a step budget (trainer.max_steps) or a time budget (trainer.max_time), or both")
    _require(t.max_steps is None or t.max_steps >= 1, "trainer.max_steps", "must be at least 1")
    _require(t.max_time is None or bool(_MAX_TIME.match(t.max_time)), "trainer.max_time",
             f"expected DD:HH:MM:SS (e.g. 00:12:00:00 for 12 hours), got {t.max_time!r}")
    _require(t.checkpoint_every >= 1, "trainer.checkpoint_every", "must be at least 1")
    _require(t.log_every >= 1, "trainer.log_every", "must be at least 1")
    _require(t.num_nodes >= 1, "trainer.num_nodes", "must be at least 1")
    _require(s.max_error > 0, "smplify.max_error", "must be positive")
    for key in s.options:
        _require(key in SMPLIFY_OPTIONS, f"smplify.options.{key}",
                 f"unknown SMPLify setting; expected one of {', '.join(SMPLIFY_OPTIONS)}")
    _require(not s.enabled or d.pool_batches is not None, "smplify.enabled",
             "SMPLify in the loop keeps a best fit per sample, so samples must come back: set data.pool_batches")
    reads_images = config.model.encoder != KEYPOINT_ENCODER
    _require(d.images or not reads_images, "model.encoder",
             f"{config.model.encoder!r} reads image crops: set data.images: true to render them for every sample")
    _require(reads_images or not d.images, "data.images",
             "the keypoint encoder reads landmarks, not crops: set data.images: false (or choose an image encoder)")
    _require(bool(config.output.name), "output.name", "must not be empty")
    return config


def require_inputs(config: TrainConfig) -> TrainConfig:
    """Check that the files `config` reads exist; run before training, not on loading, since a config may name files
    that are built later (a study's own pose library). Returns `config` or raises ConfigError."""
    library, vae = config.data.pose_library, config.loss.vae_path
    _require(library is None or Path(library).is_file(), "data.pose_library",
             f"no pose library at {library}; build one with python -m training prepare-poses --out DIR")
    _require(vae is None or Path(vae).is_file(), "loss.vae_path", f"no such file: {vae} (a PoseVAE state_dict)")
    return config


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """A validated TrainConfig from plain data (as read from YAML or JSON)."""
    return validate(_build(TrainConfig, data, ""))


def load_config(path: str | Path) -> TrainConfig:
    """Read and validate a .yaml / .yml / .json file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        data = yaml.safe_load(text) or {}
    elif path.suffix.lower() == ".json":
        data = json.loads(text)
    else:
        raise ValueError(f"{path.name}: use a .yaml, .yml or .json config file")
    return config_from_dict(data)


def save_config(config: TrainConfig, path: str | Path) -> Path:
    """Write `config` as YAML."""
    return atomic_write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))
