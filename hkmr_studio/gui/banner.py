"""Non-blocking messages above the views: the latest few, coloured by the most serious, until dismissed; and the
facing banner, shown while the current body may face the wrong way, with its Flip button."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from hkmr_studio.gui.state import Document, Level, Message, StudioState

MAX_MESSAGES = 4
_STYLE = {
    Level.INFO: ("#e8f1fb", "#2b5d8c"),
    Level.WARNING: ("#fff4dc", "#8a5a00"),
    Level.ERROR: ("#fde7e7", "#9b1c1c"),
}
_MARK = {Level.INFO: "ℹ", Level.WARNING: "⚠", Level.ERROR: "✖"}
_RANK = {Level.INFO: 0, Level.WARNING: 1, Level.ERROR: 2}


class MessageBanner(QFrame):
    """Shows the StudioState's messages; a repeated message is shown once."""

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._messages: list[Message] = []
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        dismiss = QToolButton()
        dismiss.setText("✕")
        dismiss.setToolTip("Dismiss these messages")
        dismiss.setAutoRaise(True)
        dismiss.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self._label, 1)
        layout.addWidget(dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self.setVisible(False)
        state.message.connect(self.add)

    def messages(self) -> list[Message]:
        return list(self._messages)

    def texts(self) -> list[str]:
        return [m.text for m in self._messages]

    def add(self, message: Message) -> None:
        if message in self._messages:
            return
        self._messages = (self._messages + [message])[-MAX_MESSAGES:]
        worst = max((m.level for m in self._messages), key=_RANK.__getitem__)
        background, foreground = _STYLE[worst]
        self.setStyleSheet(f"MessageBanner {{ background: {background}; border: 1px solid {foreground}; "
                           f"border-radius: 4px; }} QLabel {{ color: {foreground}; }}")
        self._label.setText("\n".join(f"{_MARK[m.level]}  {m.text}" for m in self._messages))
        self.setVisible(True)

    def clear(self) -> None:
        self._messages = []
        self.setVisible(False)


class FacingBanner(QFrame):
    """Says when the current body may face the wrong way (its facing check is flagged) or is shown the other way
    round, with a Flip button that calls `flip`."""

    def __init__(self, state: StudioState, flip: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._label = QLabel()
        self._label.setWordWrap(True)
        self.flip_button = QPushButton("Flip")
        self.flip_button.setToolTip("Show the body turned round, with left and right swapped (again to turn back)")
        self.flip_button.clicked.connect(flip)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self._label, 1)
        layout.addWidget(self.flip_button, 0, Qt.AlignmentFlag.AlignTop)
        background, foreground = _STYLE[Level.WARNING]
        self.setStyleSheet(f"FacingBanner {{ background: {background}; border: 1px solid {foreground}; "
                           f"border-radius: 4px; }} QLabel {{ color: {foreground}; }}")
        self.setVisible(False)
        state.current_changed.connect(self._show)
        state.document_changed.connect(lambda document: self._show(document) if document is state.current else None)

    def text(self) -> str:
        return self._label.text()

    def _show(self, document: Document | None) -> None:
        result = document.analysis.result if document is not None and document.analysis is not None else None
        if result is None or not result.found or result.facing is None:
            self.setVisible(False)
        elif result.flipped:
            self._label.setText(f"{_MARK[Level.INFO]}  Shown the other way round: left and right of the keypoints "
                                "are swapped. Flip turns it back.")
            self.setVisible(True)
        else:
            self._label.setText(f"{_MARK[Level.WARNING]}  {result.facing.message}")
            self.setVisible(result.facing.flagged)
