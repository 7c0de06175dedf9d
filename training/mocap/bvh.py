"""BVH motion capture -> per-frame 3D joint positions, read with pybvh (PyPI `pybvh`, MIT).

pybvh parses the hierarchy and the Euler channels in each joint's own order and runs the forward kinematics for all
frames at once (vectorised over frames), in float64. A joint's position is where its rotation applies (a BVH joint
named after a bone sits at that bone's start, e.g. CMU's `ltibia` is the knee); end sites are kept, named
'EndSite<parent>' as pybvh names them (e.g. the Daz rig's toes are 'EndSitelFoot').
Output frame: the file's own, scaled to metres by the rig's `metres_per_unit`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.mocap.motion import JointClip, OffsetRepair


def load_bvh(
    path: Path, metres_per_unit: float, fps: float | None = None, repair: OffsetRepair | None = None
) -> JointClip:
    """Read a BVH file. `fps`: the true frame rate where the file's `Frame Time` is wrong (None: trust the file);
    `repair`: offsets to replace before the forward kinematics (e.g. `cmu_skeleton.restore_thorax`)."""
    try:
        import pybvh
    except ImportError as error:
        raise ImportError("reading BVH needs pybvh, a dependency of HKMR Studio: reinstall it (pip install -e .)"
                          ) from error
    bvh = pybvh.read_bvh_file(path, world_up="+y")  # Y-up rigs; naming it skips pybvh's up-axis guess
    if repair is not None:
        by_name = {node.name: node for node in bvh.nodes}
        for name, offset in repair({n: node.offset for n, node in by_name.items()}).items():
            by_name[name].offset = offset
    names = tuple(node.name for node in bvh.nodes)
    index = {name: i for i, name in enumerate(names)}
    parents = tuple(index[node.parent.name] if node.parent is not None else -1 for node in bvh.nodes)
    positions = bvh.node_positions() * metres_per_unit  # (F, nodes, 3) in `names` order
    frame_time = 1.0 / fps if fps is not None else bvh.frame_time
    return JointClip(names, parents, positions, np.arange(len(positions)) * frame_time)
