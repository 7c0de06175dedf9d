"""Load order between Mesa and Triton, both of which bring their own LLVM.

Offscreen and Xvfb rendering run on Mesa's llvmpipe, which loads a system libLLVM when VTK first creates an OpenGL
context. PyTorch imports Triton (with its own LLVM) lazily, e.g. when torchvision.ops is first imported; if that
happens after Mesa's LLVM is loaded, the process crashes with a segmentation fault. Importing Triton first avoids it.
Qt-free and in the lowest layer, so detection (MediaPipe), rendering and the window all call it.
"""

from __future__ import annotations

import importlib.util

_done = False


def load_triton_before_opengl() -> None:
    """Import Triton (when installed) before any OpenGL context exists; cheap after the first call."""
    global _done
    if not _done and importlib.util.find_spec("triton") is not None:
        import triton  # noqa: F401
    _done = True
