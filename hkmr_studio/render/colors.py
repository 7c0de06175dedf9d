"""Colours by kinematic chain, shared by the overlay, the 3D viewport and the chain inspector."""

from __future__ import annotations

import numpy as np

from hkmr_studio.body import kinematics

#: RGB in [0, 1] per HKMR chain.
CHAIN_COLORS: dict[str, tuple[float, float, float]] = {
    "root": (0.85, 0.85, 0.85),
    "head": (0.95, 0.80, 0.30),
    "left_arm": (0.30, 0.75, 0.35),
    "right_arm": (0.90, 0.35, 0.30),
    "left_leg": (0.25, 0.55, 0.90),
    "right_leg": (0.75, 0.40, 0.85),
}


def joint_colors() -> np.ndarray:
    """(24, 3) RGB per joint, the colour of its chain."""
    return np.array([CHAIN_COLORS[kinematics.CHAIN_OF_JOINT[j]] for j in range(kinematics.NUM_JOINTS)])


def vertex_chain_colors(lbs_weights: np.ndarray) -> np.ndarray:
    """(V, 24) skinning weights -> (V, 3) RGB: each vertex blends its joints' chain colours by weight."""
    return np.clip(np.asarray(lbs_weights) @ joint_colors(), 0.0, 1.0)


def highlighted_joint_colors(chain: str | None, dim: float = 0.35) -> np.ndarray:
    """(24, 3) RGB per joint: the joints of `chain` in their chain's colour, the others greyed to `dim`; every chain
    in colour when `chain` is None."""
    colors = joint_colors()
    if chain is None:
        return colors
    if chain not in CHAIN_COLORS:
        raise ValueError(f"unknown chain {chain!r}: use one of {list(CHAIN_COLORS)}")
    others = np.array([kinematics.CHAIN_OF_JOINT[j] != chain for j in range(kinematics.NUM_JOINTS)])
    colors[others] = dim
    return colors
