"""Cyclic garbage is collected on the GUI thread while the window is open, never by a worker's allocations."""

import gc
import threading
import weakref

from hkmr_studio.gui.gui_thread_gc import GuiThreadGarbageCollector


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_cycles_wait_for_the_gui_thread_and_stop_collects_and_restores(qtbot):
    collector = GuiThreadGarbageCollector()
    collector.start()
    try:
        assert not gc.isenabled()
        node = Node()
        alive = weakref.ref(node)
        del node

        def allocate_a_lot() -> None:  # would trigger automatic collection in this thread if it were on
            junk = [Node() for _ in range(5000)]
            del junk

        worker = threading.Thread(target=allocate_a_lot)
        worker.start()
        worker.join()
        assert alive() is not None
        qtbot.waitUntil(lambda: alive() is None, timeout=5000)  # the timer, on this (GUI) thread
    finally:
        collector.stop()
    assert gc.isenabled()
    collector.stop()  # twice is fine
    assert gc.isenabled()
