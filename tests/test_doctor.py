"""`hkmr-studio doctor` names the body model in use and fails with a fix when an essential piece is missing."""

import pickle
import subprocess
import sys

from hkmr_studio.cli import main


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
    proc = subprocess.run([sys.executable, "-m", "hkmr_studio", "doctor"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "embedded open body" in proc.stdout
