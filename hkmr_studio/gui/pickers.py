"""Drop-down pickers for the model, the device and the live video source, bound to the state's choices."""

from __future__ import annotations

from pathlib import Path

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFileDialog, QWidget

from hkmr_studio.checkpoints import BASELINE_MODEL, DEFAULT_MODEL, shipped_model_names
from hkmr_studio.gui.capture import VideoSource, available_cameras
from hkmr_studio.gui.state import Choices

#: The shipped models the picker always offers, labelled (marked "not installed" when missing); any other shipped
#: model (shipped_model_names: "prohmr", later variants) follows under its own name.
SHIPPED_MODELS = (("HKMR", DEFAULT_MODEL), ("HMR baseline", BASELINE_MODEL))
DEVICES = (("Auto", "auto"), ("CPU", "cpu"), ("GPU (CUDA)", "gpu"))
_PICK_FILE = None  # item data of the "choose a file…" entries


class ModelPicker(QComboBox):
    """The shipped models, checkpoint files chosen before, and "Checkpoint file…"."""

    def __init__(self, choices: Choices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._choices = choices
        installed = shipped_model_names()
        for label, name in SHIPPED_MODELS:
            self.addItem(label if name in installed else f"{label} (not installed)", name)
        labelled = {name for _, name in SHIPPED_MODELS}
        for name in installed:
            if name not in labelled:
                self.addItem(name, name)
        self.addItem("Checkpoint file…", _PICK_FILE)
        self.setToolTip("The network that recovers the body: HKMR (hierarchical, by kinematic chain), the flat HMR "
                        "baseline, another shipped model, or a model file you trained")
        self.activated.connect(self._on_activated)
        choices.events.model.connect(self._show)
        self._show(choices.model)

    def _show(self, model: str) -> None:
        index = self.findData(model)
        if index < 0:
            index = self.count() - 1
            self.insertItem(index, Path(model).name, model)
            self.setItemData(index, model, Qt.ItemDataRole.ToolTipRole)
        self.setCurrentIndex(index)

    def _on_activated(self, index: int) -> None:
        model = self.itemData(index)
        if model is _PICK_FILE:
            model, _ = QFileDialog.getOpenFileName(self, "Choose an HKMR Studio model file", "",
                                                   "Model files (*.pt);;All files (*)")
            if not model:
                self._show(self._choices.model)
                return
        self._choices.model = model
        self._show(model)


class DevicePicker(QComboBox):
    """auto / cpu / gpu."""

    def __init__(self, choices: Choices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._choices = choices
        for label, device in DEVICES:
            self.addItem(label, device)
        if not torch.cuda.is_available():
            self.setItemText(2, "GPU (none found)")
        self.setToolTip("Where the network runs; Auto uses the GPU when there is one")
        self.activated.connect(lambda index: setattr(choices, "device", self.itemData(index)))
        choices.events.device.connect(self._show)
        self._show(choices.device)

    def _show(self, device: str) -> None:
        self.setCurrentIndex(max(0, self.findData(device)))


class VideoSourcePicker(QComboBox):
    """The cameras found, video files chosen before, and "Video file…"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for index in available_cameras():
            self.addItem(f"Camera {index}", VideoSource(camera=index))
        self.addItem("Video file…", _PICK_FILE)
        self.setToolTip("Where live frames come from: a camera, or a video file played at its own speed")
        self.activated.connect(self._on_activated)

    def source(self) -> VideoSource | None:
        return self.currentData()

    def add_file(self, path: str | Path) -> None:
        source = VideoSource(file=Path(path))
        index = next((i for i in range(self.count()) if self.itemData(i) == source), -1)
        if index < 0:
            index = self.count() - 1
            self.insertItem(index, source.file.name, source)
        self.setCurrentIndex(index)

    def choose_file(self) -> VideoSource | None:
        """Ask for a video file; the source chosen, or None when the user cancels."""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a video file", "",
                                              "Videos (*.mp4 *.avi *.mov *.mkv *.webm);;All files (*)")
        if not path:
            return None
        self.add_file(path)
        return self.source()

    def _on_activated(self, index: int) -> None:
        if self.itemData(index) is _PICK_FILE and self.choose_file() is None:
            self.setCurrentIndex(0)
