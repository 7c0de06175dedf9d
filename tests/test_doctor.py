"""`hkmr-studio doctor` names the body model in use and fails with a fix when an essential piece is missing."""

import json
import pickle
import subprocess
import sys

import pytest

from hkmr_studio.cli import main

pytestmark = pytest.mark.usefixtures("config")  # doctor reads the settings: a folder of its own


def test_doctor_names_the_embedded_body_and_passes(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "embedded open body" in out and "SMPL_OPEN_NEUTRAL.pkl" in out and "CC0" in out
    assert "MediaPipe Pose" in out and "torch device" in out


def test_doctor_with_a_broken_body_file_exits_nonzero_with_a_fix(tmp_path, capsys):
    broken = tmp_path / "SMPL_NEUTRAL.pkl"
    broken.write_bytes(pickle.dumps({"v_template": [1, 2, 3]}))
    assert main(["--body", str(broken), "doctor"]) == 1
    out = capsys.readouterr().out
    assert "[ERR] body model" in out and "fix:" in out


def test_console_entry_point_runs_doctor():
    proc = subprocess.run([sys.executable, "-m", "hkmr_studio", "doctor"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "embedded open body" in proc.stdout


def test_doctor_reports_the_settings_and_what_was_ignored_without_changing_them(config, capsys):
    saved = json.dumps({"model": "nonexistent", "device": "cpu"})
    (config / "settings.json").write_text(saved)
    assert main(["doctor"]) == 0  # the app starts anyway, with the default model
    out = capsys.readouterr().out
    assert "[-- ] settings: model: 'nonexistent' was not found" in out and "fix:" in out
    assert (config / "settings.json").read_text() == saved and len(list(config.iterdir())) == 1


def test_doctor_names_the_settings_in_use(config, capsys):
    (config / "settings.json").write_text(json.dumps({"device": "cpu"}))
    assert main(["doctor"]) == 0
    expected = f"[ok ] settings: {config / 'settings.json'}: model hkmr, device cpu, embedded open body"
    assert expected in capsys.readouterr().out


def test_doctor_checks_the_body_file_chosen_in_the_settings(config, tmp_path, capsys):
    broken = tmp_path / "MY_SMPL.pkl"
    broken.write_bytes(pickle.dumps({"v_template": [1, 2, 3]}))
    (config / "settings.json").write_text(json.dumps({"body_path": str(broken)}))
    assert main(["doctor"]) == 1
    assert "[ERR] body model: MY_SMPL.pkl lacks" in capsys.readouterr().out


@pytest.mark.parametrize(("body", "says"), [("SMPL\x00NEUTRAL.pkl", "control characters"),
                                            ("x" * 5000, "characters long"), (".", "is a folder")])
def test_doctor_refuses_a_hostile_body_path_with_a_message(capsys, body, says):
    assert main(["--body", body, "doctor"]) == 1
    out = capsys.readouterr().out
    assert "[ERR] body model" in out and says in out
