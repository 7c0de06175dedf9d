"""The wheel carries everything the installed app reads at run time. Building it takes a few seconds; installing and
running it is packaging/check_wheel.sh's job (CI runs it)."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUNDLED = "hkmr_studio/_bundled"  # where pyproject's force-include puts models/ and resources/ in the wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel built from this checkout, the way packaging/check_wheel.sh builds it."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
                   check=True, capture_output=True, text=True, timeout=300)
    (path,) = out.glob("hkmr_studio-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def _tracked(*paths: str) -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--", *paths], cwd=REPO, check=True, capture_output=True, text=True)
    return listed.stdout.split()


def test_wheel_carries_every_model_body_and_resource_file(wheel):
    shipped = _tracked("models", "resources")
    assert "models/body/SMPL_OPEN_NEUTRAL.pkl" in shipped and "models/hkmr/model.pt" in shipped
    assert any(p.startswith("resources/samples/") and p.endswith(".jpg") for p in shipped)
    missing = [p for p in shipped if f"{BUNDLED}/{p}" not in wheel.namelist()]
    assert not missing, f"the wheel lacks {missing}: add them to [tool.hatch.build.targets.wheel.force-include]"


def test_wheel_carries_the_package_data_files_beside_the_code(wheel):
    data_files = [p for p in _tracked("hkmr_studio") if not p.endswith(".py")]
    assert "hkmr_studio/body/joint_limits.csv" in data_files
    missing = [p for p in data_files if p not in wheel.namelist()]
    assert not missing, f"the wheel lacks {missing}"


def test_wheel_installs_the_hkmr_studio_command(wheel):
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    commands = wheel.read(entry_points).decode().splitlines()
    assert "hkmr-studio = hkmr_studio.cli:main" in commands
