"""`python -m training train` / `export`: typed config, loss going down, resume from `last`, the exported model file,
SMPLify's per-sample dictionary, inputs normalised by the inference crop rule, and DDP over two CPU processes."""

from __future__ import annotations

import copy
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from hkmr_studio.checkpoints import load_checkpoint
from hkmr_studio.geometry.cameras import normalised_to_pixels
from hkmr_studio.nets.vae import PoseVAE
from hkmr_studio.pipeline.detection import person_crop_box
from hkmr_studio.pipeline.keypoints import Keypoints2D
from training.__main__ import main as training_main
from training.samples.generator import SampleConfig, SampleGenerator
from training.samples.poses import vae_sampler
from training.trainer import train as train_module
from training.trainer.config import EVAL_SEED, ConfigError, config_from_dict, load_config
from training.trainer.data import TrainingBatches, regress
from training.trainer.flow_train import load_flow_config
from training.trainer.module import RegressorTraining
from training.trainer.spin import FitDictionary
from training.trainer.train import train

REPO = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: a second thread costs more than it saves


def tiny(tmp_path: Path, **sections: dict) -> dict:
    """A config for a network small enough to train a few steps in about a second on 2 CPU cores."""
    config = {
        "model": {"regressor": "hkmr", "feature_dim": 64, "encoder_opts": {"width": 64, "num_blocks": 1},
                  "regressor_opts": {"head_widths": [64, 32]}},
        "data": {"batch_size": 16, "num_workers": 0},
        "optim": {"lr": 1e-3},
        "trainer": {"max_steps": 4, "checkpoint_every": 2, "log_every": 1, "progress_bar": False,
                    "accelerator": "cpu"},
        "output": {"run_dir": str(tmp_path / "run"), "export_path": str(tmp_path / "model.pt"), "name": "tiny"},
    }  # fmt: skip
    for name, values in sections.items():
        config[name] = {**config.get(name, {}), **values}
    return config


def logged_totals(run_dir: Path) -> list[float]:
    rows = []
    for path in sorted((run_dir / "logs" / "csv").glob("version_*/metrics.csv")):
        with path.open() as handle:
            rows += [row for row in csv.DictReader(handle) if row.get("train/total")]
    return [float(row["train/total"]) for row in rows]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"data": {"batch_sise": 8}}, "data.batch_sise"),
        ({"data": {"batch_size": "big"}}, "data.batch_size"),
        ({"data": {"batch_size": 1}}, "data.batch_size"),
        ({"data": {"seed": EVAL_SEED}}, "data.seed"),
        ({"data": {"generator": {"noise_scael": 2.0}}}, "data.generator.noise_scael"),
        ({"optim": {"lr": -1.0}}, "optim.lr"),
        ({"trainer": {"max_steps": None}}, "trainer.max_steps"),
        ({"trainer": {"max_time": "2 hours"}}, "trainer.max_time"),
        ({"smplify": {"enabled": True}}, "smplify.enabled"),
        ({"smplify": {"options": {"camera_model": "perspective"}}}, "smplify.options.camera_model"),
        ({"model": {"encoder": "resnet50"}}, "model.encoder"),
        ({"data": {"images": True}}, "data.images"),
        ({"data": {"generator": {"vae_fraction": 0.2}}}, "data.generator.vae_fraction"),
        ({"model": {"regressor": "cmr"}}, "model.regressor"),
        ({"model": {"regressor_opts": {"num_outer": 3, "depth": 2}}}, "model"),
    ],
)
def test_config_errors_name_the_field(change, field):
    data = {"data": {}, "trainer": {}}
    for section, values in change.items():
        data[section] = {**data.get(section, {}), **values}
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"loss": {"vae_path": "no/such/vae.pt"}}, "loss.vae_path"),
        ({"data": {"pose_library": "no/such/library.npz"}}, "data.pose_library"),
    ],
)
def test_a_config_loads_with_files_not_built_yet_but_training_refuses_them(change, field, tmp_path):
    data = tiny(tmp_path)
    for section, values in change.items():
        data[section] = {**data.get(section, {}), **values}
    config = config_from_dict(data)
    with pytest.raises(ConfigError) as info:
        train(config)
    assert info.value.field == field and "no " in str(info.value)
    assert not (tmp_path / "run").exists()


def test_config_defaults_follow_the_supplement_and_load_from_yaml_and_json(tmp_path):
    config = config_from_dict({})
    assert (config.data.batch_size, config.optim.lr, config.data.two_d_only_fraction) == (128, 3e-4, 0.5)
    assert (config.loss.smpl, config.loss.joints_3d, config.loss.keypoints_2d, config.loss.kl) == (1, 1, 1, 0.001)
    assert config.trainer.accelerator == "auto"
    data = tiny(tmp_path, trainer={"max_time": "00:01:00:00"})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "c.json").write_text(json.dumps(data))
    assert load_config(tmp_path / "c.yaml") == load_config(tmp_path / "c.json") == config_from_dict(data)
    for name in os.listdir(REPO / "training" / "configs"):
        flow = name.startswith("prohmr")  # the pose flow's configs (python -m training train-flow)
        (load_flow_config if flow else load_config)(REPO / "training" / "configs" / name)


def test_a_few_steps_lower_the_loss(tmp_path):
    config = config_from_dict(tiny(tmp_path, data={"pool_batches": 1}, trainer={"max_steps": 25}))
    result = train(config)
    totals = logged_totals(tmp_path / "run")
    assert len(totals) == 25
    assert sum(totals[-3:]) < 0.8 * sum(totals[:3])
    assert result.module.global_step == 25


def test_an_image_encoder_trains_on_rendered_crops(tmp_path):
    data = tiny(tmp_path, data={"batch_size": 2, "images": True}, trainer={"max_steps": 2, "checkpoint_every": 100},
                output={"export_path": None})  # a ResNet-50 file is large and slow to write: the checkpoint will do
    data["model"] = {"regressor": "hkmr", "encoder": "resnet50", "feature_dim": 64,
                     "regressor_opts": {"head_widths": [64, 32]}}
    result = train(config_from_dict(data))
    assert result.module.global_step == 2 and result.module.net.input_kind == "image"
    totals = logged_totals(tmp_path / "run")
    assert len(totals) == 2 and all(torch.isfinite(torch.tensor(totals)))
    assert result.module.training_summary()["data"]["images"]


def test_a_pose_vae_file_adds_the_kl_term(tmp_path):
    torch.save(PoseVAE().state_dict(), tmp_path / "vae.pt")
    train(config_from_dict(tiny(tmp_path, loss={"vae_path": str(tmp_path / "vae.pt")}, trainer={"max_steps": 2})))
    with (tmp_path / "run" / "logs" / "csv" / "version_0" / "metrics.csv").open() as handle:
        assert all(float(row["train/kl"]) > 0 for row in csv.DictReader(handle))


def test_vae_samples_come_from_the_pose_vae_at_loss_vae_path(tmp_path):
    vae = PoseVAE().eval()  # as the trainer loads it
    torch.save(vae.state_dict(), tmp_path / "vae.pt")
    data = tiny(tmp_path, loss={"vae_path": str(tmp_path / "vae.pt")}, trainer={"max_steps": 1},
                data={"generator": {"vae_fraction": 1.0, "perturb_max_deg": 0.0}})
    result = train(config_from_dict(data))
    batch = next(iter(result.module.train_dataloader()))  # batch 1: the run stopped after step 0
    samples = result.module.config.data.sample_config()
    from_vae = SampleGenerator(samples, pose_sampler=vae_sampler(vae)).batch(1)["body_pose"]
    from_other_vae = SampleGenerator(samples, pose_sampler=vae_sampler(PoseVAE())).batch(1)["body_pose"]
    assert torch.allclose(batch["body_pose"], from_vae)
    assert not torch.allclose(batch["body_pose"], from_other_vae)


def test_resume_continues_from_last_and_export_writes_a_trained_model_file(tmp_path, capsys):
    data = tiny(tmp_path, model={"regressor": "hmr", "regressor_opts": {"hidden_dim": 32}})
    with pytest.raises(ConfigError, match="nothing to resume"):
        train(config_from_dict(data), resume=True)
    first = train(config_from_dict(data))
    assert torch.load(first.last_checkpoint, weights_only=True)["global_step"] == 4
    with pytest.raises(ConfigError, match="--resume") as info:
        train(config_from_dict(data))  # a fresh run never overwrites one
    assert info.value.field == "output.run_dir"
    changed = copy.deepcopy(data)
    changed["data"]["batch_size"] = 8
    with pytest.raises(ConfigError) as info:
        train(config_from_dict(changed), resume=True)
    assert info.value.field == "data"

    data["trainer"]["max_steps"] = 7
    (tmp_path / "more.yaml").write_text(yaml.safe_dump(data))
    assert training_main(["train", "--config", str(tmp_path / "more.yaml"), "--resume"]) == 0
    checkpoint = torch.load(first.last_checkpoint, weights_only=True)
    assert checkpoint["global_step"] == 7
    assert len(logged_totals(tmp_path / "run")) == 7  # steps 0-3, then 4-6 in the next log version

    model = load_checkpoint(tmp_path / "model.pt")
    assert model.trained and model.config.regressor == "hmr"
    assert model.meta["uses_world_landmarks"] is True and model.meta["name"] == "tiny"
    summary = model.meta["training"]
    assert summary["steps"] == 7 and summary["seconds"] > 0 and "cpu" in summary["hardware"]
    assert summary["data"]["batch_size"] == 16 and set(summary["final_losses"]) >= {"total", "smpl", "keypoints_2d"}

    out = tmp_path / "exported" / "model.pt"
    assert training_main(["export", "--run", str(tmp_path / "run"), "--out", str(out)]) == 0
    exported = load_checkpoint(out)
    assert exported.trained and exported.meta["training"]["steps"] == 7
    for key, value in model.net.state_dict().items():
        assert torch.equal(value, exported.net.state_dict()[key]), key
    assert training_main(["export", "--run", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert "no checkpoint" in capsys.readouterr().err


class _Payload:
    """Pickles into a call that writes a file: what a hostile checkpoint would run if it were unpickled freely."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.write_text, (self.target, "ran"))


def test_resuming_refuses_a_checkpoint_that_would_run_code(tmp_path):
    data = tiny(tmp_path, model={"regressor": "hmr", "regressor_opts": {"hidden_dim": 32}})
    first = train(config_from_dict(data))
    checkpoint = torch.load(first.last_checkpoint, weights_only=True)
    marker = tmp_path / "pwned"
    checkpoint["extra"] = _Payload(marker)
    torch.save(checkpoint, first.last_checkpoint)
    data["trainer"]["max_steps"] = 6
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        train(config_from_dict(data), resume=True)
    assert not marker.exists()


def test_training_inputs_are_normalised_by_the_inference_crop_rule():
    """The trainer feeds the generator's keypoints as they are, so their crop must be the one inference cuts
    (pipeline.detection.person_crop_box: geometry.crops' rule on the visible landmarks, clamped to the photo)."""
    config = SampleConfig(batch_size=32, seed=3)
    batch = SampleGenerator(config).batch(0)
    pixels = normalised_to_pixels(batch["keypoints"], batch["box"][:, :2], batch["box"][:, 2]).double()
    for b in range(config.batch_size):
        keypoints = Keypoints2D(pixels[b].numpy(), batch["visibility"][b].double().numpy(),
                                batch["mask"][b].bool().numpy(), "mediapipe")  # fmt: skip
        box = person_crop_box(keypoints, (int(config.photo_px), int(config.photo_px)))
        assert box == pytest.approx(batch["box"][b].tolist(), rel=1e-4, abs=1e-3), b


def test_stream_is_split_over_processes_and_workers_and_resumes_from_a_step():
    class Source:
        def batch(self, index: int) -> dict[str, torch.Tensor]:
            return {"index": torch.tensor(index)}

    def indices(dataset: TrainingBatches, count: int, workers: int = 0) -> list[int]:
        loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=workers)
        return [int(b["index"]) for b, _ in zip(loader, range(count), strict=False)]

    assert indices(TrainingBatches(Source(), 4, rank=1, world_size=2), 3) == [1, 3, 5]
    assert indices(TrainingBatches(Source(), 4, start_step=5), 3, workers=2) == [5, 6, 7]
    pool = TrainingBatches(Source(), 4, world_size=2, pool_batches=3)
    assert indices(pool, 4) == [0, 2, 1, 0]
    assert next(iter(pool))["sample_id"].tolist() == [0, 1, 2, 3]


def test_samples_without_world_landmarks_are_encoded_without_them(tmp_path):
    net = RegressorTraining(tiny(tmp_path)).net.eval()
    batch = SampleGenerator(SampleConfig(batch_size=16, seed=1, coco_fraction=0.5)).batch(0)
    has_world = batch["has_world"]
    assert has_world.any() and (~has_world).any()
    out = regress(net, batch, use_world=True)
    alone = net(batch["keypoints"][~has_world], batch["visibility"][~has_world], batch["mask"][~has_world])
    assert torch.allclose(out.camera[~has_world], alone.camera, atol=1e-5)
    assert not torch.allclose(out.camera, regress(net, batch, use_world=False).camera)


def test_fit_dictionary_keeps_each_samples_best_fit():
    fits = FitDictionary(4)
    ids = torch.tensor([0, 2])
    assert fits.update(ids, torch.ones(2, 85), torch.tensor([0.5, 0.2])).tolist() == [True, True]
    assert fits.update(ids, torch.full((2, 85), 2.0), torch.tensor([0.4, 0.3])).tolist() == [True, False]
    best, error = fits.lookup(torch.tensor([0, 2, 3]))
    assert error.tolist()[:2] == pytest.approx([0.4, 0.2]) and error[2] == float("inf")
    assert best.betas[:, 0].tolist()[:2] == [2.0, 1.0]
    restored = FitDictionary(4)
    restored.load_state_dict(fits.state_dict())
    assert torch.equal(restored.errors, fits.errors)
    with pytest.raises(ValueError, match="pool_batches"):
        FitDictionary(8).load_state_dict(fits.state_dict())


def test_smplify_in_the_loop_fills_and_improves_the_dictionary_and_survives_resume(tmp_path):
    fast = {"camera_iterations": 3, "body_iterations": 4, "pose_prior": "init"}
    data = tiny(tmp_path, data={"pool_batches": 2}, smplify={"enabled": True, "max_error": 10.0, "options": fast},
                trainer={"max_steps": 4})  # fmt: skip
    first = train(config_from_dict(data))
    fits = first.module.fits
    two_d_only = [i for i in range(32) if fits.errors[i] < float("inf")]
    assert len(two_d_only) == 16  # half of each of the pool's 2 batches
    stored = torch.load(first.last_checkpoint, weights_only=True)["smplify_fits"]
    assert torch.equal(stored["errors"], fits.errors)

    data["trainer"]["max_steps"] = 6
    again = train(config_from_dict(data), resume=True)
    assert (again.module.fits.errors <= fits.errors).all()  # a stored fit is only ever replaced by a better one


def test_without_tensorboard_runs_log_to_csv_only(tmp_path, monkeypatch, capsys):
    def missing(*args, **kwargs):
        raise ModuleNotFoundError("Neither `tensorboard` nor `tensorboardX` is available.")

    monkeypatch.setattr(train_module, "TensorBoardLogger", missing)
    assert [type(logger).__name__ for logger in train_module._loggers(tmp_path)] == ["CSVLogger"]
    assert "pip install tensorboard" in capsys.readouterr().err


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(tmp_path):
    """Lightning's DDP (gloo) through the real command: two processes, each its own share of the stream."""
    data = tiny(tmp_path, data={"batch_size": 8}, trainer={"max_steps": 3, "strategy": "ddp", "devices": 2})
    (tmp_path / "ddp.yaml").write_text(yaml.safe_dump(data))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "training", "train", "--config", str(tmp_path / "ddp.yaml")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 3
    summary = load_checkpoint(tmp_path / "model.pt").meta["training"]
    assert summary["data"]["processes"] == 2 and summary["effective_batch_size"] == 16
