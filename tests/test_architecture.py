"""The layers of DESIGN.md hold (import-linter's contracts in pyproject.toml), only the GUI imports Qt, and every test
that needs Qt is a `gui` test (tests/conftest.py), however it reaches Qt."""

import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

import hkmr_studio

REPO = Path(__file__).resolve().parent.parent
LAYERS_CONTRACT = "HKMR Studio's layers (DESIGN.md)"
QT_CONTRACT = "Only the GUI imports Qt"
QT_PACKAGES = {"PySide6", "shiboken6", "pyvistaqt", "superqt"}
VTK_QT_IMPORT = re.compile(r"\bvtkmodules\.qt\b|\bfrom\s+vtkmodules\s+import\b.*\bqt\b")


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return {contract["name"]: contract for contract in config["tool"]["importlinter"]["contracts"]}


def test_import_contracts_hold_and_the_layers_and_qt_contracts_are_kept():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(lint).exists():
        pytest.fail("import-linter is missing: install the test extra (pip install -e .[test])")
    proc = subprocess.run([lint], cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "COLUMNS": "200"})  # one line per contract
    assert proc.returncode == 0, proc.stdout[-3000:]
    kept = {line.removesuffix(" KEPT") for line in proc.stdout.splitlines() if line.endswith(" KEPT")}
    assert {LAYERS_CONTRACT, QT_CONTRACT} <= kept, proc.stdout[-3000:]


def test_every_module_directly_under_hkmr_studio_must_sit_in_a_layer():
    layers = _contracts()[LAYERS_CONTRACT]
    assert (layers["type"], layers["containers"], layers["exhaustive"]) == ("layers", ["hkmr_studio"], True)


def test_the_qt_ban_covers_every_module_but_the_gui_and_every_qt_package():
    contract = _contracts()[QT_CONTRACT]
    modules = {f"hkmr_studio.{module.name}" for module in pkgutil.iter_modules(hkmr_studio.__path__)}
    expected = (modules - {"hkmr_studio.gui"}) | {"training"}
    assert set(contract["source_modules"]) == expected, "list the new module in the Qt contract's source_modules"
    assert QT_PACKAGES <= set(contract["forbidden_modules"])


def test_only_the_gui_imports_vtks_qt_module():
    """import-linter cannot forbid a subpackage of an external package (vtkmodules.qt): read the import lines."""
    graph = grimp.build_graph("hkmr_studio", "training", include_external_packages=True)
    importers = graph.find_modules_that_directly_import("vtkmodules") if "vtkmodules" in graph.modules else set()
    outside_gui = [m for m in importers if m != "hkmr_studio.gui" and not m.startswith("hkmr_studio.gui.")]
    offending = [f"{m}:{detail['line_number']}" for m in outside_gui
                 for detail in graph.get_import_details(importer=m, imported="vtkmodules")
                 if VTK_QT_IMPORT.search(detail["line_contents"])]
    assert offending == []


QT_TESTS_OUTSIDE_GUI_FILES = """
from PySide6.QtCore import QTimer

def test_module_imports_qt():
    assert QTimer is not None
"""

QT_IN_THE_TEST_BODY = """
def test_imports_qt_in_its_body():
    from PySide6.QtGui import QImage
    assert QImage is not None

def test_opens_the_window_module():
    from hkmr_studio.gui.window import MainWindow
    assert MainWindow is not None

def test_imports_a_qt_free_gui_module():
    from hkmr_studio.gui.state import StudioState
    assert StudioState is not None

def test_uses_qtbot(qtbot):
    pass

def test_plain():
    pass
"""


@pytest.mark.slow  # a pytest process of its own importing torch and the window's modules: ~6 s on 2 busy cores
def test_a_test_that_reaches_qt_without_a_marker_or_qtbot_is_still_a_gui_test(pytester):
    pytester.makepyprojecttoml((REPO / "pyproject.toml").read_text())  # registers the marker
    pytester.makeconftest((REPO / "tests" / "conftest.py").read_text())
    pytester.makepyfile(test_qt_module=QT_TESTS_OUTSIDE_GUI_FILES, test_qt_body=QT_IN_THE_TEST_BODY)
    gui = pytester.runpytest_subprocess("-p", "no:xvfb", "-p", "no:cacheprovider", "--collect-only", "-q", "-m", "gui")
    selected = {line.split("::")[-1] for line in gui.outlines if "::" in line}
    assert selected == {"test_module_imports_qt", "test_imports_qt_in_its_body", "test_opens_the_window_module",
                        "test_uses_qtbot"}
