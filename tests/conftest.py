"""Shared fixtures, and the `gui` marker with its leak guard."""

import logging
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest
import torch

from hkmr_studio.body.model import BodyModel, load_body_model
from hkmr_studio.checkpoints import save_checkpoint
from hkmr_studio.llvm_load_order import load_triton_before_opengl
from hkmr_studio.logs import LOG_DIR_ENV
from hkmr_studio.nets.recovery import MeshRegressor, ModelConfig
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.settings import CONFIG_DIR_ENV

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


@pytest.fixture(scope="session")
def body() -> BodyModel:
    """The embedded open body (`load_body_model` keeps one per process)."""
    return load_body_model()


@pytest.fixture(scope="module")
def untrained_pipeline(untrained_model_path) -> Iterator[Pipeline]:
    """A CPU pipeline on the untrained model, one per test module, closed after it."""
    pipeline = Pipeline(model=untrained_model_path, device="cpu")
    yield pipeline
    pipeline.close()


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    """The settings folder (HKMR_STUDIO_CONFIG_DIR) at an empty temporary folder, never the user's."""
    folder = tmp_path / "config"
    folder.mkdir()
    monkeypatch.setenv(CONFIG_DIR_ENV, str(folder))
    return folder


@pytest.fixture
def log_folder(tmp_path, monkeypatch) -> Iterator[Path]:
    """HKMR_STUDIO_LOG_DIR at a temporary folder; the root logger's handlers and level restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    folder = tmp_path / "logs"
    monkeypatch.setenv(LOG_DIR_ENV, str(folder))
    yield folder
    for handler in set(root.handlers) - set(handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


@pytest.fixture
def window(qtbot, tmp_path, untrained_model_path):
    """The main window on the untrained model, its settings in a temporary folder, closed after the test."""
    from hkmr_studio.gui.testing import studio_window  # Qt is imported by gui tests only

    with studio_window(qtbot, tmp_path / "config", untrained_model_path) as window:
        yield window


@pytest.fixture
def analysed_window(qtbot, tmp_path, untrained_model_path):
    """The main window (as `window`) once it has analysed the sample photo."""
    from hkmr_studio.gui.testing import studio_window

    with studio_window(qtbot, tmp_path / "config", untrained_model_path, SAMPLE_PHOTO) as window:
        yield window
