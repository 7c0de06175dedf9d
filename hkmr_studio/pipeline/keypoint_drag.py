"""A keypoint drag as the events a mouse sends: press on a keypoint, moves, release (Qt-free).

After napari's points mouse bindings: `keypoint_drag` is a generator that is started by the press (with the keypoints
as they are then), receives each move and the release through `send`, and reports to its target: "changing" for each
move (the keypoints with the dragged one under the cursor: the window refits them quickly while the mouse moves) and
"changed" once, on release (the keypoints the edit records, refitted in full). A press and release without a move
is a click, not an edit: nothing is reported. Tests replay the events on the edit state, without a window.
Keypoints and positions are photo pixels (x right, y down); a moved wrist, ankle or nose carries its hand, foot or
face along (`local_edits.moved_keypoints`).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from enum import Enum
from typing import Literal, Protocol

from hkmr_studio.pipeline.keypoints import Keypoints2D
from hkmr_studio.pipeline.local_edits import moved_keypoints


class DragPhase(Enum):
    CHANGING = "changing"  # the mouse moves: the keypoints as they are now, not yet an edit
    CHANGED = "changed"  # the mouse was released: the edit


@dataclass(frozen=True)
class DragEvent:
    """A move of the mouse to, or its release at, photo pixel `xy`."""

    kind: Literal["move", "release"]
    xy: tuple[float, float]


class DragTarget(Protocol):
    """What a drag acts on (`gui.keypoint_edits.KeypointEdits`)."""

    def report(self, phase: DragPhase, keypoints: Keypoints2D) -> None: ...


def keypoint_drag(target: DragTarget, start: Keypoints2D, index: int) -> Generator[None, DragEvent, None]:
    """The drag of keypoint `index` from the keypoints `start`: prime it with `next` (the press), then `send` each
    DragEvent; it returns after the release (`send` raises StopIteration)."""
    event = yield  # pressed: wait for the first move or the release
    moved = False
    while event.kind == "move":
        moved = True
        target.report(DragPhase.CHANGING, moved_keypoints(start, index, event.xy))
        event = yield
    if moved:
        target.report(DragPhase.CHANGED, moved_keypoints(start, index, event.xy))
