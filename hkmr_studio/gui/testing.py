"""Helpers for the window's Qt tests: a window with its own settings folder, a guard that fails a test when a
QThread, QTimer, thread pool or QtInteractor it started is still alive at its end, and gates that hold a worker
thread at a chosen call until the test lets it go (so no test depends on how fast a thread runs).

The checks follow napari's conftest (`_dangling_qthreads`, `_dangling_qtimers`, `_dangling_qthread_pool`) and
pyvistaqt's `check_gc`: record what starts while the guard is active, then ask each whether it still runs.
"""

from __future__ import annotations

import os
import threading
import traceback
import weakref
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar

from PySide6.QtCore import QThread, QThreadPool, QTimer
from pyvistaqt import QtInteractor

from hkmr_studio.settings import CONFIG_DIR_ENV

P = ParamSpec("P")
R = TypeVar("R")
Y = TypeVar("Y")


def _caller() -> str:
    """file:line of the first frame outside this module: where the resource was started."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if frame.filename != __file__:
            return f"{frame.filename}:{frame.lineno}"
    return "?"


def _still(obj: Any, predicate: Callable[[Any], bool]) -> bool:
    """predicate(obj), treating a deleted C++ object as finished."""
    try:
        return bool(predicate(obj))
    except RuntimeError:
        return False


class LeakGuard:
    """Records QThreads, QTimers and thread pools started, and QtInteractors created, while active."""

    def __init__(self) -> None:
        self._started: list[tuple[weakref.ref, str, str]] = []  # (object, kind, where)
        self._originals: list[tuple[type, str, Any]] = []

    def _patch(self, cls: type, name: str, kind: str, after: bool = False) -> None:
        original = getattr(cls, name)
        guard = self

        def recording(obj: Any, *args: Any, **kwargs: Any) -> Any:
            if not after:
                guard._started.append((weakref.ref(obj), kind, _caller()))
            result = original(obj, *args, **kwargs)
            if after:
                guard._started.append((weakref.ref(obj), kind, _caller()))
            return result

        self._originals.append((cls, name, original))
        setattr(cls, name, recording)

    def __enter__(self) -> Self:
        self._patch(QThread, "start", "QThread")
        self._patch(QTimer, "start", "QTimer")
        self._patch(QThreadPool, "start", "QThreadPool")
        self._patch(QtInteractor, "__init__", "QtInteractor", after=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for cls, name, original in reversed(self._originals):
            setattr(cls, name, original)
        self._originals.clear()

    def leaks(self) -> list[str]:
        """What is still alive: running threads and pools, active timers, unclosed interactors."""
        alive = {
            "QThread": lambda t: t.isRunning(),
            "QTimer": lambda t: t.isActive(),
            "QThreadPool": lambda p: p.activeThreadCount() > 0,
            "QtInteractor": lambda i: not getattr(i, "_closed", True),
        }
        found = []
        for ref, kind, where in self._started:
            obj = ref()
            if obj is not None and _still(obj, alive[kind]):
                found.append(f"{kind} started at {where} is still {'open' if kind == 'QtInteractor' else 'running'}")
        return sorted(set(found))

    def assert_clean(self) -> None:
        leaks = self.leaks()
        assert not leaks, "the test left Qt resources running:\n" + "\n".join(leaks)


class Gate:
    """Holds the calls of the functions it guards (on worker threads) until the test lets them through.

    `release(n)` lets n more calls pass, `open()` all from then on. `calls` lists each guarded call's arguments in
    the order they arrived, `waiting` how many are held and not yet released. Use it as a context manager inside the
    window's lifetime: leaving opens it, so closing the window never waits on a held worker.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._passes = 0
        self._open = False
        self._blocked = 0
        self.calls: list[tuple[Any, ...]] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.open()

    def release(self, calls: int = 1) -> None:
        with self._changed:
            self._passes += calls
            self._changed.notify_all()

    def open(self) -> None:
        with self._changed:
            self._open = True
            self._changed.notify_all()

    @property
    def waiting(self) -> int:
        """Calls held now that no release lets through: a call released but not yet running again is not counted."""
        with self._changed:
            return 0 if self._open else max(0, self._blocked - self._passes)

    def _pass(self, args: tuple[Any, ...]) -> None:
        """Record the call, then block until it may pass."""
        with self._changed:
            self.calls.append(args)
            self._blocked += 1
            self._changed.wait_for(lambda: self._open or self._passes > 0)
            self._blocked -= 1
            if not self._open:
                self._passes -= 1

    def guard(self, function: Callable[P, R]) -> Callable[P, R]:
        """`function`, each call held at the gate before it runs."""

        @wraps(function)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            self._pass(args)
            return function(*args, **kwargs)

        return guarded

    def guard_generator(self, generator_function: Callable[P, Generator[Y, None, R]]
                        ) -> Callable[P, Generator[Y, None, R]]:
        """`generator_function`, each generator held at the gate before its first step."""

        @wraps(generator_function)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> Generator[Y, None, R]:
            self._pass(args)
            return (yield from generator_function(*args, **kwargs))

        return guarded


@contextmanager
def settings_folder(folder: Path) -> Iterator[Path]:
    """Point HKMR_STUDIO_CONFIG_DIR at `folder` (never the user's real settings) for the duration."""
    previous = os.environ.get(CONFIG_DIR_ENV)
    os.environ[CONFIG_DIR_ENV] = str(folder)
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop(CONFIG_DIR_ENV, None)
        else:
            os.environ[CONFIG_DIR_ENV] = previous


@contextmanager
def studio_window(qtbot: Any, config_dir: Path, model: str | Path, photo: Path | None = None,
                  dock: str | None = None, timeout_ms: int = 120_000) -> Iterator[Any]:
    """A shown MainWindow using `model` and settings in `config_dir`, with `photo` opened and analysed and the
    analysis dock `dock` ("keypoints", "inspector", "occlusion") shown when given; closed afterwards (the test's
    leak guard, tests/conftest.py, then checks that nothing it started still runs)."""
    from hkmr_studio.gui.window import MainWindow

    with settings_folder(config_dir):
        window = MainWindow(model=str(model))
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        try:
            if photo is not None:
                with qtbot.waitSignals([window.inference.analysed, window.inference.idle], order="strict",
                                       timeout=timeout_ms):
                    window.open_paths([photo])
            if dock is not None:
                window.analysis_docks.docks[dock].show()
            yield window
        finally:
            window.close()


def write_test_video(path: Path, photo: Path, frames: int, fps: float = 30.0, width: int = 360) -> Path:
    """An MJPG .avi of `frames` frames: the photo scaled to `width` and shifted sideways a little each frame."""
    import cv2
    import numpy as np

    image = cv2.imread(str(photo))
    image = cv2.resize(image, (width, round(image.shape[0] * width / image.shape[1])))
    height = image.shape[0]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    try:
        for i in range(frames):
            shift = np.float32([[1, 0, 2 * (i % 10) - 10], [0, 1, 0]])
            writer.write(cv2.warpAffine(image, shift, (width, height), borderMode=cv2.BORDER_REPLICATE))
    finally:
        writer.release()
    return path
