"""Ctrl-C (SIGINT) that is never lost or half-obeyed.

Native code that calls back into Python (VTK's observers) cannot pass a KeyboardInterrupt raised in its callback on:
VTK prints it and carries on, or ends the process. `interrupts_held` keeps Ctrl-C out of such calls and delivers it
when they return; `InterruptWatch` remembers every Ctrl-C, so one swallowed on its way still stops a batch.
Signals reach only the main thread; in other threads both are no-ops.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Self


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl-C pressed inside the block takes effect, through the handler that was in place, when the block ends."""
    if not _in_main_thread():
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, _restorable(previous))
        if pressed:
            signal.raise_signal(signal.SIGINT)  # the restored handler runs now


def _restorable(handler: object) -> object:
    """A handler `signal.signal` accepts back: None (one installed outside Python) becomes the default."""
    return signal.SIG_DFL if handler is None else handler


class InterruptWatch:
    """While entered, Ctrl-C raises KeyboardInterrupt at once and is also remembered: `check` raises it again where
    native code swallowed it. Restores the previous handler on exit."""

    def __init__(self) -> None:
        self.pressed = False
        self._previous: object = None
        self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.pressed = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise KeyboardInterrupt if Ctrl-C was pressed since entering."""
        if self.pressed:
            raise KeyboardInterrupt

    def __enter__(self) -> Self:
        self._installed = _in_main_thread()
        if self._installed:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, _restorable(self._previous))
