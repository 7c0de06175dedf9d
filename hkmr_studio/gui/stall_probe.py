"""How long the GUI thread goes without running its event loop, measured by a QTimer due every few milliseconds:
the time between two ticks beyond the timer's interval is a stall (the window could not repaint or take input)."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer

INTERVAL_MS = 5


class StallProbe(QObject):
    """start() ... stop(); `longest_ms` is the longest stall seen, `stalls` every stall over `report_ms`."""

    def __init__(self, report_ms: float = 50.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.report_ms = report_ms
        self.longest_ms = 0.0
        self.stalls: list[float] = []  # ms, each stall over report_ms
        self.ticks = 0
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.longest_ms, self.stalls, self.ticks = 0.0, [], 0
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        stall_ms = (now - self._last) * 1000.0 - INTERVAL_MS
        self._last = now
        self.ticks += 1
        self.longest_ms = max(self.longest_ms, stall_ms)
        if stall_ms > self.report_ms:
            self.stalls.append(stall_ms)
