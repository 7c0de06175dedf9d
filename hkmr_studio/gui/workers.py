"""superqt thread workers: run one after another on a thread of their own, with every failure reported."""

from __future__ import annotations

from collections.abc import Callable, Generator
from functools import partial, wraps
from typing import ParamSpec, TypeVar

from PySide6.QtCore import QObject, QThreadPool
from superqt.utils import WorkerBase

P = ParamSpec("P")
Y = TypeVar("Y")
R = TypeVar("R")


class SerialWorkers(QObject):
    """A private one-thread pool: workers run in the order started, always on the same thread.

    The thread is kept between workers (no expiry), so what a worker creates there (MediaPipe's graph, an offscreen
    OpenGL context) stays usable by the next one.

    Lifetime: the pool deletes a worker's C++ side on its thread right after `run` returns. Were the last Python
    reference dropped then too, the worker's signal QObject (which lives on the GUI thread) would be destroyed on the
    pool's thread while the GUI thread delivers its queued signals: a use-after-free that crashed the window's tests
    now and then. So this object holds every worker until the pool has moved past it (the next worker has started,
    or `wait` returned) and releases it on the GUI thread.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._pool.setExpiryTimeout(-1)
        self._running: set[WorkerBase] = set()
        self._finished: list[WorkerBase] = []  # done, but perhaps not yet deleted by the pool's thread

    def start(self, worker: WorkerBase) -> None:
        self._running.add(worker)
        worker.started.connect(self._release_finished)  # queued: the pool thread is past every earlier worker
        worker.finished.connect(partial(self._on_finished, worker))
        self._pool.start(worker)

    def wait(self) -> None:
        """Block until every started worker has finished and the thread has exited."""
        self._pool.waitForDone(-1)
        self._release_finished()

    def _on_finished(self, worker: WorkerBase) -> None:
        self._running.discard(worker)
        self._finished.append(worker)

    def _release_finished(self) -> None:
        self._finished.clear()


class WorkerError(Exception):
    """An exception from a generator worker, wrapped: superqt's GeneratorWorker mistakes a RuntimeError escaping the
    generator for a deleted worker and drops it (neither `errored` nor `finished` is emitted), and torch and OpenCV
    raise RuntimeErrors. `error` is the original."""

    def __init__(self, error: Exception) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error


def reporting(generator_function: Callable[P, Generator[Y, None, R]]) -> Callable[P, Generator[Y, None, R]]:
    """The generator function with every exception it raises wrapped in WorkerError, so `errored` reports it."""

    @wraps(generator_function)
    def run(*args: P.args, **kwargs: P.kwargs) -> Generator[Y, None, R]:
        try:
            return (yield from generator_function(*args, **kwargs))
        except Exception as exc:
            raise WorkerError(exc) from exc

    return run
