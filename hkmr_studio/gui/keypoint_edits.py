"""The user's edits of one analysis's 2D keypoints, with undo, redo and reset (Qt-free).

The edits start from a base analysis: its keypoints are the original state and its regression is where every refit
starts. Each edit (move, hide or show, pin or unpin a keypoint) adds a state; undo and redo step through them. A drag
(`drag`: press, moves, release, `pipeline.keypoint_drag`) reports where the keypoints are while the mouse moves
(`changing`, no state added) and adds one state on release.
Keypoints stay in the photo's pixel frame (x right, y down), MediaPipe's 33 landmarks. Moving a wrist, an ankle or the
nose carries the landmarks that sit on the same rigid part (hand, foot, face) along, so they do not hold the body
back where it was.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, replace

import numpy as np
from psygnal import Signal

from hkmr_studio.gui.analysis import Analysis
from hkmr_studio.pipeline.keypoint_drag import DragEvent, DragPhase, keypoint_drag
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES, Keypoints2D
from hkmr_studio.pipeline.local_edits import moved_keypoints


@dataclass(frozen=True, eq=False)
class KeypointState:
    """One state of the edits: the keypoints SMPLify fits to, and the MediaPipe indices the user pinned."""

    keypoints: Keypoints2D
    pinned: frozenset[int] = frozenset()


class KeypointEdits:
    """Undoable edits of `base`'s keypoints (base must have found a body). `changed` fires after every change of
    `current` (an edit, undo, redo or reset) with the new current state; `changing` for each move of a drag, with the
    state the drag would make were the mouse released there."""

    changed = Signal(object)  # KeypointState
    changing = Signal(object)  # KeypointState, not (yet) one of the edits

    def __init__(self, base: Analysis) -> None:
        if base.result.keypoints is None or base.result.regression is None:
            raise ValueError("keypoints can be edited only where a body was recovered")
        self.base = base
        self._states = [KeypointState(base.result.keypoints)]
        self._index = 0

    @property
    def current(self) -> KeypointState:
        return self._states[self._index]

    @property
    def original(self) -> KeypointState:
        return self._states[0]

    @property
    def edited(self) -> bool:
        """Whether the current state differs from the base's keypoints."""
        return self.current is not self.original

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._states) - 1

    def move(self, index: int, xy: tuple[float, float]) -> None:
        """Put keypoint `index` at pixel `xy`, with the landmarks it carries along (`local_edits.moved_keypoints`)."""
        self._check(index)
        self._push(replace(self.current, keypoints=moved_keypoints(self.current.keypoints, index, xy)))

    def drag(self, index: int) -> Generator[None, DragEvent, None]:
        """A drag of keypoint `index` from where the keypoints are now, pressed (primed): `send` it the moves and
        the release (`keypoint_drag`)."""
        self._check(index)
        drag = keypoint_drag(self, self.current.keypoints, index)
        next(drag)
        return drag

    def report(self, phase: DragPhase, keypoints: Keypoints2D) -> None:
        """Where a drag puts the keypoints: while it moves (`changing` fires), or on release (an edit)."""
        state = replace(self.current, keypoints=keypoints)
        if phase is DragPhase.CHANGING:
            self.changing.emit(state)
        else:
            self._push(state)

    def set_visible(self, index: int, visible: bool) -> None:
        """Mark keypoint `index` seen (visibility 1) or not visible (visibility 0: SMPLify ignores it)."""
        self._check(index)
        kp = self.current.keypoints
        visibility = kp.visibility.copy()
        visibility[index] = 1.0 if visible else 0.0
        self._push(replace(self.current, keypoints=_user_keypoints(kp, kp.xy, visibility, kp.present)))

    def set_pinned(self, index: int, pinned: bool) -> None:
        """Pin keypoint `index` (SMPLify weighs it PINNED_WEIGHT times more) or unpin it."""
        self._check(index)
        pins = self.current.pinned | {index} if pinned else self.current.pinned - {index}
        self._push(replace(self.current, pinned=frozenset(pins)))

    def undo(self) -> None:
        if self.can_undo:
            self._index -= 1
            self.changed.emit(self.current)

    def redo(self) -> None:
        if self.can_redo:
            self._index += 1
            self.changed.emit(self.current)

    def reset(self) -> None:
        """Back to the base's keypoints, as one more state (so reset itself can be undone)."""
        if self.edited:
            self._push(self.original)

    def _push(self, state: KeypointState) -> None:
        del self._states[self._index + 1:]
        self._states.append(state)
        self._index += 1
        self.changed.emit(state)

    def _check(self, index: int) -> None:
        if not 0 <= index < len(MEDIAPIPE_LANDMARK_NAMES):
            raise IndexError(f"keypoint {index} does not exist: MediaPipe has {len(MEDIAPIPE_LANDMARK_NAMES)}")


def _user_keypoints(kp: Keypoints2D, xy: np.ndarray, visibility: np.ndarray, present: np.ndarray) -> Keypoints2D:
    return Keypoints2D(xy=xy, visibility=visibility, present=present, source="user", world=kp.world)
