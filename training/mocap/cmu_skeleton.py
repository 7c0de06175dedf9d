"""CMU's BVH skeleton (the expmap text files, the Daz archive's 16_01 and 16_02) puts back the thorax its conversion
dropped.

CMU's ASF skeletons have three spine bones of nearly equal length (subject 01: lowerback 2.04, upperback 2.05,
thorax 2.06 units). The BVH conversion keeps the first two (offsets of 'upperback' and 'thorax', 2.1 units) but sets
the offsets of the joints on the thorax's end ('lowerneck', 'lclavicle', 'rclavicle') to zero, which puts the neck,
head, shoulders and arms ~12 cm too low against the hips (the thorax's rotations are still in the files). Restoring
the thorax with the upperback bone's offset puts the shoulders 50 cm above the hip joints, the ASF's 52 cm (subject
01; the open body's 46 cm), instead of 39 cm.
"""

from __future__ import annotations

import numpy as np

#: The joints the conversion puts on the thorax joint itself.
THORAX_CHILDREN = ("lowerneck", "lclavicle", "rclavicle")


def restore_thorax(offsets: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Joint name -> (3,) offset in the file's units -> the replacement offsets of `THORAX_CHILDREN`: the thorax
    joint's own offset (the upperback bone, which continues the spine in the rest pose)."""
    return {name: np.array(offsets["thorax"], dtype=np.float64) for name in THORAX_CHILDREN}
