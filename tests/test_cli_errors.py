"""`hkmr-studio infer` with a bad --body, --out, --box or keypoint file: one line on stderr that names the problem and
what to do, exit status 2, and nothing processed or written."""

import errno
import json
import os
import pickle

import pytest
from conftest import SAMPLE_PHOTO

from hkmr_studio import atomic
from hkmr_studio.cli import main
from hkmr_studio.pipeline.core import Pipeline


def _one_error_line(capsys) -> str:
    """The single line `infer` printed on stderr (no traceback)."""
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def no_photo_processed(monkeypatch):
    """Fails the test if the pipeline is asked to process a photo."""
    def refuse(*args, **kwargs):
        raise AssertionError("a photo was processed although the arguments were refused")

    monkeypatch.setattr(Pipeline, "run", refuse)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _bad_bodies(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "broken.pkl").write_bytes(b"not a pickle at all")
    (tmp_path / "hostile.pkl").write_bytes(pickle.dumps({"v_template": _RunsCode(tmp_path / "pwned")}))
    return {"missing.pkl": "not found", "folder": "is a folder", "broken.pkl": "not a readable pickle",
            "hostile.pkl": "refusing to run it"}


def test_a_bad_body_file_is_one_line_and_exit_2(tmp_path, capsys, no_photo_processed):
    for name, fragment in _bad_bodies(tmp_path).items():
        out = tmp_path / f"out_{name}"
        assert main(["--body", str(tmp_path / name), "infer", str(SAMPLE_PHOTO), "--out", str(out)]) == 2, name
        line = _one_error_line(capsys)
        assert "--body" in line and name in line and fragment in line, line
        assert "leave out --body" in line
        assert not out.exists()
    assert not (tmp_path / "pwned").exists()


def test_an_out_that_is_a_file_or_lies_under_one_is_refused_before_the_first_image(tmp_path, capsys,
                                                                                  no_photo_processed):
    a_file = tmp_path / "results.txt"
    a_file.write_text("keep me")
    for out in (a_file, a_file / "sub"):
        assert main(["infer", str(SAMPLE_PHOTO), "--out", str(out)]) == 2
        line = _one_error_line(capsys)
        assert f"--out {out}" in line and f"{a_file} is a file" in line and "choose another --out" in line, line
    assert a_file.read_text() == "keep me"


@pytest.mark.parametrize("code, fragment", [(errno.EROFS, "read-only"), (errno.EACCES, "permission denied"),
                                            (errno.ENOSPC, "full")])
def test_an_out_that_cannot_be_written_is_refused_before_the_first_image(tmp_path, capsys, monkeypatch, code,
                                                                         fragment, no_photo_processed):
    out = tmp_path / "out"

    def refuse(path, data):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(atomic, "_write_synced", refuse)
    assert main(["infer", str(SAMPLE_PHOTO), "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert f"--out {out}" in line and fragment in line, line
    assert not [p for p in out.iterdir()], "the write check left a file behind"


@pytest.mark.parametrize("content", ["[" * 100_000 + "]" * 100_000, json.dumps([1e308, 1, 2] * 17),
                                     "[" + ", ".join([str(10**400), "1", "2"] * 17) + "]"])
def test_a_hostile_keypoint_file_is_one_line_and_exit_2(tmp_path, capsys, content, no_photo_processed):
    path = tmp_path / "pose.json"
    path.write_text(content)
    assert main(["infer", str(SAMPLE_PHOTO), "--out", str(tmp_path / "out"), "--keypoints", str(path)]) == 2
    assert "'pose.json'" in _one_error_line(capsys)


@pytest.mark.parametrize("box", ["1,2,3", "1,2,0,5", "a,b,c,d"])
def test_a_bad_box_exits_with_status_2(tmp_path, capsys, box):
    with pytest.raises(SystemExit) as exit_info:
        main(["infer", str(SAMPLE_PHOTO), "--out", str(tmp_path / "out"), f"--box={box}"])
    assert exit_info.value.code == 2
    assert "--box" in capsys.readouterr().err
