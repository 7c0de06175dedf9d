"""The GPU path: the pipeline on CUDA recovers the same body as on the CPU (network on the GPU, its answer brought
back), SMPLify refines it there too, and a few training steps run on the GPU. Skipped where torch sees no CUDA
device (CI, the 2-core machines); run on a lent GPU machine to check that path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hkmr_studio.body.landmarks import landmarks_from_body
from hkmr_studio.body.model import load_body_model
from hkmr_studio.checkpoints import load_checkpoint
from hkmr_studio.geometry.cameras import perspective_project
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.images import image_from_array
from hkmr_studio.pipeline.keypoints import Keypoints2D

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (a lent GPU machine)")

WIDTH, HEIGHT, FOCAL = 640, 480, 800.0


def projected_person() -> Keypoints2D:
    """MediaPipe-33 keypoints (pixels of a 640x480 photo) of the embedded body with bent elbows and knees, 3.5 m ahead
    of a camera of focal 800 px (camera frame: x right, y down, z forward; the body's face towards the camera)."""
    body = load_body_model()
    pose = torch.zeros(1, 69)
    pose[0, 3 * 17 + 1], pose[0, 3 * 16 + 1] = 1.0, -1.0  # elbows (joints 18, 19; body_pose starts at joint 1)
    pose[0, 3 * 3], pose[0, 3 * 4] = 0.6, 0.6  # knees (joints 4, 5)
    with torch.no_grad():
        out = body(torch.tensor([[np.pi, 0.0, 0.0]]), pose, torch.zeros(1, 10), torch.tensor([[0.0, 0.1, 3.5]]))
        points = landmarks_from_body(out.vertices, out.joints)
        pixels = perspective_project(points, FOCAL, torch.tensor([[WIDTH / 2, HEIGHT / 2]]))[0].double().numpy()
    return Keypoints2D(xy=pixels, visibility=np.full(33, 0.95), present=np.ones(33, bool), source="mediapipe")


def test_pipeline_on_the_gpu_recovers_the_body_the_cpu_recovers():
    image = image_from_array(np.full((HEIGHT, WIDTH, 3), 128, np.uint8))
    keypoints = projected_person()
    on_gpu, on_cpu = Pipeline(device="gpu"), Pipeline(device="cpu")
    assert on_gpu.device.type == "cuda" and not on_gpu.messages
    gpu = on_gpu.run(image, keypoints=keypoints, focal_length=FOCAL, refine=True)
    cpu = on_cpu.run(image, keypoints=keypoints, focal_length=FOCAL, refine=True)
    assert next(on_gpu.model.net.parameters()).device.type == "cuda"
    assert gpu.found and cpu.found, (gpu.message, cpu.message)
    for name in ("global_orient", "body_pose", "betas", "transl"):
        np.testing.assert_allclose(getattr(gpu.regression, name), getattr(cpu.regression, name), atol=2e-3,
                                   err_msg=f"regressor's {name} differs between GPU and CPU")
    assert gpu.fit is not None and cpu.fit is not None
    gpu_error = np.linalg.norm(gpu.fit.joints2d - cpu.fit.joints2d, axis=1).mean()
    assert gpu_error < 2.0, f"GPU and CPU fits differ by {gpu_error:.2f} px on average"


def test_training_steps_run_on_the_gpu(tmp_path: Path):
    from training.trainer.config import config_from_dict
    from training.trainer.train import train

    config = config_from_dict({
        "model": {"regressor": "hkmr", "feature_dim": 64, "encoder_opts": {"width": 64, "num_blocks": 1},
                  "regressor_opts": {"head_widths": [64, 32]}},
        "data": {"batch_size": 64, "num_workers": 0},
        "trainer": {"max_steps": 6, "checkpoint_every": 3, "log_every": 1, "progress_bar": False,
                    "accelerator": "gpu", "devices": 1},
        "output": {"run_dir": str(tmp_path / "run"), "export_path": str(tmp_path / "model.pt"), "name": "gpu"},
    })  # fmt: skip
    result = train(config)  # Lightning hands the module back on the CPU: the model file records where it trained
    training = load_checkpoint(result.model_file).meta["training"]
    assert training["hardware"] == f"1 x {torch.cuda.get_device_name(0)}"
    assert training["steps"] == 6 and all(np.isfinite(v) for v in training["final_losses"].values())
