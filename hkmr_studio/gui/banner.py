"""Non-blocking messages above the views: the latest few, coloured by the most serious, until dismissed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from hkmr_studio.gui.state import Level, Message, StudioState

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
