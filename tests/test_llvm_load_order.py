"""Rendering first and importing torchvision's ops afterwards must not crash the process (Mesa vs Triton LLVM: the load
order hkmr_studio.llvm_load_order keeps)."""

import subprocess
import sys

SCRIPT = """
import numpy as np
from hkmr_studio.render.overlay import MeshRenderer, PinholeCamera
renderer = MeshRenderer()
tri = (np.array([[0, 0, 1.0], [0.1, 0, 1], [0, 0.1, 1]]), np.array([[0, 1, 2]]), (1, 0, 0))
renderer.render([tri], PinholeCamera(100, 32, 32, 64, 64))
import torchvision.ops  # pulls in torch._dynamo, which imports Triton
print("survived")
"""


def test_torchvision_ops_import_after_rendering_survives():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], check=False, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and "survived" in proc.stdout, proc.stderr[-2000:]
