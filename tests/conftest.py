"""Shared fixtures."""

from pathlib import Path

import pytest
import torch

from hkmr_studio.checkpoints import save_checkpoint
from hkmr_studio.render.llvm_guard import load_triton_before_opengl
from hkmr_studio.nets.recovery import MeshRegressor, ModelConfig

# Whichever test first touches OpenGL (VTK, Qt, MediaPipe), Triton must already be loaded (see llvm_guard).
load_triton_before_opengl()

REPO = Path(__file__).resolve().parent.parent
SAMPLE_PHOTO = REPO / "resources" / "samples" / "pose2sim_single_person.jpg"


@pytest.fixture(scope="session")
def untrained_model_path(tmp_path_factory) -> Path:
    """A small, clearly labelled UNTRAINED keypoint HKMR, for tests of plumbing that do not judge accuracy."""
    torch.manual_seed(0)
    net = MeshRegressor(ModelConfig(feature_dim=128, encoder_opts={"width": 128}))
    return save_checkpoint(tmp_path_factory.mktemp("models") / "untrained" / "model.pt", net,
                           {"name": "untrained-test-hkmr", "trained": False})


@pytest.fixture
def one_thread():
    """Tiny tensors on a busy 2-core machine: handing them between two torch threads costs more than it saves."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
