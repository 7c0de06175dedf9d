"""superqt thread workers: run one after another on a thread of their own, with every failure reported."""

from __future__ import annotations

from collections.abc import Callable, Generator
from functools import partial, wraps
from typing import Generic, ParamSpec, TypeVar

from PySide6.QtCore import QObject, QThreadPool
from superqt.utils import FunctionWorker, WorkerBase

P = ParamSpec("P")
Y = TypeVar("Y")
R = TypeVar("R")
J = TypeVar("J")


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


class LatestJob(QObject, Generic[J, R]):
    """One job at a time on a worker thread of its own, for a dock that recomputes when the photo changes.

    `submit` while a job runs makes the new job wait, replacing any job already waiting; `done(job, value)` is
    called on the GUI thread only when no newer job waits, `failed(exc)` for any failure, neither after `close`.
    """

    def __init__(self, work: Callable[[J], R], done: Callable[[J, R], None], failed: Callable[[Exception], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work, self._done, self._failed = work, done, failed
        self._workers = SerialWorkers(self)
        self._waiting: J | None = None
        self.running = self.closed = False

    def submit(self, job: J) -> None:
        self._waiting = job
        self._start_waiting()

    def close(self) -> None:
        """Drop the waiting job, wait for the running one; nothing is reported afterwards."""
        self.closed = True
        self._waiting = None
        self._workers.wait()

    def _start_waiting(self) -> None:
        if self.running or self._waiting is None:
            return
        job, self._waiting = self._waiting, None
        worker = FunctionWorker(self._work, job)
        worker.returned.connect(partial(self._on_returned, job))
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        self.running = True
        self._workers.start(worker)

    def _on_returned(self, job: J, value: R) -> None:
        if not self.closed and self._waiting is None:
            self._done(job, value)

    def _on_errored(self, exc: Exception) -> None:
        if not self.closed:
            self._failed(exc)

    def _on_finished(self) -> None:
        self.running = False
        if not self.closed:
            self._start_waiting()


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
