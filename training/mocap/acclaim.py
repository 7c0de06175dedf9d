"""Acclaim ASF/AMC motion capture (the CMU database's format) -> per-frame 3D joint positions.

ASF: the skeleton. Each bone has a rest `direction` (unit vector in the global frame), a `length`, an `axis` (Euler
angles, in the listed order, giving the bone's local frame C in the global frame) and the `dof` rotated at its start.
AMC: per frame, one line per bone with its dof values. Forward kinematics (Acclaim spec, column vectors):
    L = C @ M @ C.T, M the dof rotations applied in the listed order; G = G_parent @ L;
    end = end_parent + length * G @ direction.
A bone's position is its end point (lfemur's end is the left knee); 'root' is the root's position.
Output frame: the file's own (CMU: Y up, facing +Z, the subject's left +X), in metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

INCH = 0.0254


@dataclass(frozen=True)
class Bone:
    """One ASF bone: direction (3,) unit, length in metres, axis (3, 3) local frame C, dofs e.g. ('rx', 'ry')."""

    name: str
    direction: np.ndarray
    length: float
    axis: np.ndarray
    dofs: tuple[str, ...]


@dataclass(frozen=True)
class AsfSkeleton:
    """A parsed ASF. `order` lists the bones parents-first; `parent[b]` is 'root' for the root's children."""

    bones: dict[str, Bone]
    parent: dict[str, str]
    order: tuple[str, ...]
    root_order: tuple[str, ...]  # e.g. ('tx', 'ty', 'tz', 'rx', 'ry', 'rz')
    root_axis: np.ndarray  # (3, 3)
    root_position: np.ndarray  # (3,) metres
    degrees: bool
    metres_per_unit: float

    @property
    def joint_names(self) -> tuple[str, ...]:
        """'root' then the bones, in the order of `forward_kinematics`'s joint axis."""
        return ("root", *self.order)


def _euler(order: str, angles: np.ndarray, degrees: bool) -> np.ndarray:
    """Rotations about the fixed axes in `order` (e.g. 'xz'), the first applied first: (..., k) -> (..., 3, 3)."""
    if not order:
        return np.broadcast_to(np.eye(3), (*angles.shape[:-1], 3, 3)).copy()
    flat = angles.reshape(-1, len(order))
    matrices = Rotation.from_euler(order.lower(), flat, degrees=degrees).as_matrix()
    return matrices.reshape(*angles.shape[:-1], 3, 3)


def _sections(text: str) -> dict[str, list[list[str]]]:
    """Split an ASF into its ':keyword' sections, each a list of tokenised non-comment lines."""
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(":"):
            keyword, *rest = line[1:].split()
            current = sections.setdefault(keyword.lower(), [])
            if rest:
                current.append(rest)
        elif current is not None:
            current.append(line.split())
    return sections


def parse_asf(text: str, inches_per_unit: float | None = None) -> AsfSkeleton:
    """Parse an ASF. Lengths are converted to metres with `inches_per_unit`; by default the CMU convention,
    1 / (':units length'), i.e. CMU's 'length 0.45' means one unit is 1 / 0.45 inch."""
    sections = _sections(text)
    units = {row[0].lower(): row[1] for row in sections.get("units", [])}
    degrees = units.get("angle", "deg").lower().startswith("deg")
    if inches_per_unit is None:
        inches_per_unit = 1.0 / float(units.get("length", 1.0))
    metres_per_unit = INCH * inches_per_unit

    root = {row[0].lower(): row[1:] for row in sections["root"]}
    root_order = tuple(t.lower() for t in root.get("order", ["TX", "TY", "TZ", "RX", "RY", "RZ"]))
    root_axis_order = root.get("axis", ["XYZ"])[0]
    root_orientation = np.array([float(v) for v in root.get("orientation", [0, 0, 0])])
    root_axis = _euler(root_axis_order, root_orientation, degrees)
    root_position = np.array([float(v) for v in root.get("position", [0, 0, 0])]) * metres_per_unit

    bones: dict[str, Bone] = {}
    fields: dict[str, list[str]] = {}
    for row in sections["bonedata"]:
        key = row[0].lower()
        if key == "begin":
            fields = {}
        elif key == "end":
            axis_values = fields.get("axis", ["0", "0", "0", "XYZ"])
            direction = np.array([float(v) for v in fields["direction"]])
            name = fields["name"][0]
            bones[name] = Bone(
                name=name,
                direction=direction / np.linalg.norm(direction),
                length=float(fields["length"][0]) * metres_per_unit,
                axis=_euler(axis_values[3], np.array([float(v) for v in axis_values[:3]]), degrees),
                dofs=tuple(d.lower() for d in fields.get("dof", [])),
            )
        elif key in ("name", "direction", "length", "axis", "dof"):  # 'limits' rows and 'id' are not needed
            fields[key] = row[1:]

    parent: dict[str, str] = {}
    for row in sections["hierarchy"]:
        if row[0].lower() not in ("begin", "end"):
            for child in row[1:]:
                parent[child] = row[0]
    order: list[str] = []
    frontier = ["root"]
    while frontier:
        node = frontier.pop(0)
        children = [b for b in bones if parent.get(b) == node]
        order.extend(children)
        frontier.extend(children)
    return AsfSkeleton(bones, parent, tuple(order), root_order, root_axis, root_position, degrees, metres_per_unit)


def parse_amc(text: str, skeleton: AsfSkeleton) -> dict[str, np.ndarray]:
    """Parse an AMC: bone name -> (F, n_values) raw values (root: `root_order`; bones: their dofs). Bones without
    dofs are absent."""
    frames: list[dict[str, list[float]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ":")):
            continue
        tokens = line.split()
        if len(tokens) == 1 and tokens[0].isdigit():
            frames.append({})
        elif frames:
            frames[-1][tokens[0]] = [float(v) for v in tokens[1:]]
    names = ["root", *(b for b in skeleton.order if skeleton.bones[b].dofs)]
    return {name: np.array([frame[name] for frame in frames], dtype=np.float64) for name in names}


def forward_kinematics(skeleton: AsfSkeleton, motion: dict[str, np.ndarray]) -> np.ndarray:
    """Joint positions (F, 1 + n_bones, 3) in metres, ordered as `skeleton.joint_names`."""
    root_values = motion["root"]
    num_frames = root_values.shape[0]
    rotation_axes = "".join(c[1] for c in skeleton.root_order if c.startswith("r"))
    rotation_columns = [i for i, c in enumerate(skeleton.root_order) if c.startswith("r")]
    translation = np.zeros((num_frames, 3))
    for i, channel in enumerate(skeleton.root_order):
        if channel.startswith("t"):
            translation[:, "xyz".index(channel[1])] = root_values[:, i] * skeleton.metres_per_unit
    c_root = skeleton.root_axis
    root_rotation = c_root @ _euler(rotation_axes, root_values[:, rotation_columns], skeleton.degrees) @ c_root.T

    global_rotation = {"root": root_rotation}
    position = {"root": skeleton.root_position + translation}
    for name in skeleton.order:
        bone = skeleton.bones[name]
        if bone.dofs:
            values = motion[name]
            local = bone.axis @ _euler("".join(d[1] for d in bone.dofs), values, skeleton.degrees) @ bone.axis.T
        else:
            local = np.broadcast_to(np.eye(3), (num_frames, 3, 3))
        rotation = global_rotation[skeleton.parent[name]] @ local
        global_rotation[name] = rotation
        position[name] = position[skeleton.parent[name]] + bone.length * rotation @ bone.direction
    return np.stack([position[n] for n in skeleton.joint_names], axis=1)


def load_acclaim(asf_path: Path, amc_path: Path) -> tuple[tuple[str, ...], np.ndarray]:
    """Read an ASF/AMC pair -> (joint names, (F, J, 3) positions in metres, the file's frame)."""
    skeleton = parse_asf(asf_path.read_text(errors="replace"))
    motion = parse_amc(amc_path.read_text(errors="replace"), skeleton)
    return skeleton.joint_names, forward_kinematics(skeleton, motion)
