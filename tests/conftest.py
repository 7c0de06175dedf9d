"""Shared fixtures, and the `gui` marker with its leak guard."""

import importlib
import logging
from collections.abc import Iterator
from fnmatch import fnmatch
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from hkmr_studio.body.model import BodyModel, load_body_model
from hkmr_studio.checkpoints import save_checkpoint
from hkmr_studio.llvm_load_order import load_triton_before_opengl
from hkmr_studio.logs import LOG_DIR_ENV
from hkmr_studio.nets.recovery import MeshRegressor, ModelConfig
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.images import load_image
from hkmr_studio.settings import CONFIG_DIR_ENV

# Whichever test first touches OpenGL (VTK, Qt, MediaPipe), Triton must already be loaded (see llvm_load_order).
load_triton_before_opengl()

REPO = Path(__file__).resolve().parent.parent
SAMPLE_PHOTO = REPO / "resources" / "samples" / "pose2sim_single_person.jpg"
GUI_TEST_FILES = "test_gui_*.py"
QT_FIXTURES = {"qtbot", "qapp"}
QT_PACKAGES = ("PySide6", "shiboken6", "pyvistaqt", "superqt", "vtkmodules.qt")
GUI_PACKAGE = "hkmr_studio.gui"

pytest_plugins = ["pytester"]


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def _modules_named_in(module: ModuleType) -> set[str]:
    """The modules that `module`'s global names come from (modules, and the module of each class and function)."""
    names = {value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
             for value in vars(module).values()}
    return {name for name in names if isinstance(name, str)}


@cache
def _is_qt(module_name: str) -> bool:
    """Whether importing `module_name` brings Qt: a Qt package, or a module of hkmr_studio.gui that imports one (the
    Qt-free ones, such as gui.state, do not)."""
    if any(_within(module_name, qt) for qt in QT_PACKAGES):
        return True
    if not _within(module_name, GUI_PACKAGE):
        return False
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return True  # not what this decides: the test itself will say why it does not import
    return any(_within(name, qt) for name in _modules_named_in(module) for qt in QT_PACKAGES)


def needs_qt(item: pytest.Item) -> bool:
    """A test of the window's layer (tests/test_gui_*.py), one using Qt's fixtures (itself or through a fixture), one
    in a module that imports Qt (or a Qt module of hkmr_studio.gui) at its top, or one whose own body imports it."""
    if fnmatch(item.path.name, GUI_TEST_FILES) or QT_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    module = getattr(item, "module", None)
    code = getattr(getattr(item, "function", None), "__code__", None)
    names = (_modules_named_in(module) if module is not None else set()) | set(code.co_names if code else ())
    return any(_is_qt(name) for name in names)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs Qt is a `gui` test (`-m "not gui"` leaves them out), however it reaches Qt."""
    for item in items:
        if needs_qt(item):
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
def sample_rgb() -> np.ndarray:
    """The bundled photo of one person (SAMPLE_PHOTO) as (H, W, 3) uint8 RGB, once per test module."""
    return load_image(SAMPLE_PHOTO).rgb


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
