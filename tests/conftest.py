"""Shared fixtures, and the `gui` marker with its leak guard."""

from fnmatch import fnmatch
from pathlib import Path

import pytest
import torch

from hkmr_studio.checkpoints import save_checkpoint
from hkmr_studio.llvm_load_order import load_triton_before_opengl
from hkmr_studio.nets.recovery import MeshRegressor, ModelConfig

# Whichever test first touches OpenGL (VTK, Qt, MediaPipe), Triton must already be loaded (see llvm_load_order).
load_triton_before_opengl()

REPO = Path(__file__).resolve().parent.parent
SAMPLE_PHOTO = REPO / "resources" / "samples" / "pose2sim_single_person.jpg"
GUI_TEST_FILES = "test_gui_*.py"
QT_FIXTURES = {"qtbot", "qapp"}

pytest_plugins = ["pytester"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests of the window's layer (tests/test_gui_*.py) and tests that use Qt's fixtures are `gui` tests."""
    for item in items:
        if fnmatch(item.path.name, GUI_TEST_FILES) or QT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def qt_leak_guard(request):
    """Fails a `gui` test that leaves a QThread, QTimer, thread pool or QtInteractor it started running, once
    every other fixture of the test (its window, qtbot's widgets) has been torn down."""
    if request.node.get_closest_marker("gui") is None:
        yield
        return
    from hkmr_studio.gui.testing import LeakGuard  # Qt is imported by gui tests only

    with LeakGuard() as guard:
        yield
    guard.assert_clean()


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
