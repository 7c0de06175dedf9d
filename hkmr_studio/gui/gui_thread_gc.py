"""Python's cyclic garbage collection on the GUI thread only.

Automatic collection runs in whichever thread happens to allocate past the threshold, often a worker busy loading a
model. When that collection frees a cycle holding Qt objects (a closed window's widgets, a finished worker's signal
object), Qt objects that belong to the GUI thread are destroyed from the worker thread while the GUI thread is still
using them, and the process crashes (seen in the window's tests: the GUI thread segfaulting while a worker was inside
`load_state_dict`). While the window is open, automatic collection is off and a timer on the GUI thread collects
instead, generation by generation as the thresholds are reached; closing collects everything once and turns
automatic collection back on.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 100  # Live allocates 50,000-100,000 objects a second: 500 ms of them took 36-99 ms to collect


class GuiThreadGarbageCollector(QObject):
    """Start with `start()` on the GUI thread; `stop()` before the window goes (idempotent)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.collect_due)
        self._was_enabled = gc.isenabled()

    def start(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        if not self._timer.isActive():
            return
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def collect_due(self) -> None:
        """Collect the oldest generation whose count has passed its threshold, as automatic collection would."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return
