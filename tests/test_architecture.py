"""The layers of DESIGN.md hold (import-linter's contracts in pyproject.toml) and only the GUI imports Qt."""

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
