"""The model picker offers the shipped models by name, the baseline under its label, and sets the choice."""

from hkmr_studio.checkpoints import BASELINE_MODEL, DEFAULT_MODEL, shipped_model_names
from hkmr_studio.gui.pickers import ModelPicker
from hkmr_studio.gui.state import Choices


def _model_items(picker: ModelPicker) -> dict[str, str]:
    """Model name -> shown label, for every entry but the last ("Checkpoint file…")."""
    return {picker.itemData(i): picker.itemText(i) for i in range(picker.count() - 1)}


def test_the_model_picker_offers_every_shipped_model_once_with_the_baseline_labelled(qtbot):
    picker = ModelPicker(Choices(model=DEFAULT_MODEL))
    qtbot.addWidget(picker)
    items = _model_items(picker)
    assert sorted(items) == shipped_model_names() and picker.count() - 1 == len(items)
    assert (items[DEFAULT_MODEL], items[BASELINE_MODEL]) == ("HKMR", "HMR baseline")
    assert picker.currentData() == DEFAULT_MODEL


def test_choosing_the_baseline_in_the_picker_makes_it_the_model_choice(qtbot):
    choices = Choices(model=DEFAULT_MODEL)
    picker = ModelPicker(choices)
    qtbot.addWidget(picker)
    picker.activated.emit(picker.findData(BASELINE_MODEL))
    assert choices.model == BASELINE_MODEL and picker.currentText() == "HMR baseline"
