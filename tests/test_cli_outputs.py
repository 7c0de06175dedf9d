"""`hkmr-studio infer` writes each photo's outputs as a complete set or not at all: a photo whose outputs fail is
reported and the batch goes on, a full disk stops it with a summary, Ctrl-C prints the summary of what finished, and
an overlay whose render failed is never written."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import pyvista
from conftest import SAMPLE_PHOTO

from hkmr_studio import atomic
from hkmr_studio.cli import main
from hkmr_studio.pipeline.core import Pipeline

FORMATS = "json,npz,obj,glb"
SET = ("_overlay.png", "_params.json", "_params.npz", ".obj", ".glb")


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for stem in ("a", "b", "c"):
        shutil.copy(SAMPLE_PHOTO, folder / f"{stem}.jpg")
    return folder


def _infer(photos, out, model, *extra) -> int:
    return main(["infer", str(photos), "--out", str(out), "--model", str(model), "--format", FORMATS, *extra])


def _outputs(out, stem) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith(stem) and p.name != "report.json")


def _complete(out, stem) -> bool:
    return _outputs(out, stem) == sorted(stem + ending for ending in SET)


def _statuses(out) -> dict[str, str]:
    report = json.loads((out / "report.json").read_text())
    return {entry["image"].rsplit("/", 1)[-1]: entry["status"] for entry in report["images"]}


def _no_leftovers(out) -> bool:
    return not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_a_full_disk_stops_the_batch_with_a_summary_and_no_partial_set(photos, tmp_path, capsys, monkeypatch,
                                                                       untrained_model_path):
    """The disk fills while b's third file is written: a's set stays, none of b's files remain, c is not tried."""
    out = tmp_path / "out"
    real_write = atomic._write_synced

    def write(path, data):
        if ".b.obj." in path.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_write(path, data)

    monkeypatch.setattr(atomic, "_write_synced", write)
    assert _infer(photos, out, untrained_model_path) == 4
    printed = capsys.readouterr().out
    assert "the disk holding" in printed and "is full" in printed and "free some space" in printed
    assert "3 images: 1 body recovered" in printed and "1 failed, 1 not processed" in printed
    assert _complete(out, "a") and _outputs(out, "b") == [] and _outputs(out, "c") == []
    assert _statuses(out) == {"a.jpg": "recovered", "b.jpg": "failed", "c.jpg": "not_processed"}
    assert _no_leftovers(out)


def test_a_photo_whose_outputs_cannot_be_written_is_reported_and_the_batch_goes_on(photos, tmp_path, capsys,
                                                                                  untrained_model_path):
    """A photo name so long that its output names exceed the file system's 255 bytes fails alone."""
    long_stem = "b" + "x" * 240
    (photos / "b.jpg").rename(photos / f"{long_stem}.jpg")
    out = tmp_path / "out"
    assert _infer(photos, out, untrained_model_path) == 4
    printed = capsys.readouterr().out
    assert f"failed {photos / long_stem}.jpg: outputs not written" in printed and "File name too long" in printed
    assert _complete(out, "a") and _complete(out, "c") and _outputs(out, "b") == []
    assert _statuses(out) == {"a.jpg": "recovered", "c.jpg": "recovered", f"{long_stem}.jpg": "failed"}
    assert _no_leftovers(out)


def test_an_overlay_whose_render_failed_is_not_written(photos, tmp_path, capsys, monkeypatch, untrained_model_path):
    """VTK hands back an empty picture (as when a render is cut short): the photo fails, nothing of it is written."""
    calls = []
    real_screenshot = pyvista.Plotter.screenshot

    def screenshot(self, *args, **kwargs):
        calls.append(1)
        image = real_screenshot(self, *args, **kwargs)
        return np.zeros_like(image) if len(calls) == 2 else image

    monkeypatch.setattr(pyvista.Plotter, "screenshot", screenshot)
    out = tmp_path / "out"
    assert _infer(photos, out, untrained_model_path) == 4
    assert "the body could not be rendered" in capsys.readouterr().out
    assert _complete(out, "a") and _outputs(out, "b") == [] and _complete(out, "c")
    assert _statuses(out)["b.jpg"] == "failed"


def test_ctrl_c_prints_the_summary_of_what_finished(photos, tmp_path, capsys, monkeypatch, untrained_model_path):
    calls = []
    real_run = Pipeline.run

    def run(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while b is processed
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "run", run)
    out = tmp_path / "out"
    try:
        code = _infer(photos, out, untrained_model_path)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped `infer` without a summary")
    assert code == 130
    printed = capsys.readouterr().out
    assert "interrupted" in printed and "3 images: 1 body recovered" in printed and "2 not processed" in printed
    assert _complete(out, "a") and _outputs(out, "b") == [] and _outputs(out, "c") == []
    assert _statuses(out) == {"a.jpg": "recovered", "b.jpg": "not_processed", "c.jpg": "not_processed"}
    assert _no_leftovers(out)


def test_ctrl_c_inside_a_vtk_callback_still_stops_the_batch_and_writes_no_overlay(photos, tmp_path,
                                                                                 untrained_model_path):
    """Ctrl-C arrives while VTK runs a Python callback during b's render (VTK swallows exceptions raised there, or
    ends the process): the batch stops with the summary, exit 130, and b has no overlay. In a child process, since
    the old behaviour ends the process."""
    out = tmp_path / "out"
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        from hkmr_studio.render.overlay import MeshRenderer
        from hkmr_studio.cli import main

        real_render, calls = MeshRenderer.render, []

        def ctrl_c_in_callback(caller, event):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # Python runs the SIGINT handler here, inside VTK's callback

        def render(self, *args, **kwargs):
            calls.append(1)
            window = self._plotter.ren_win
            tag = window.AddObserver("StartEvent", ctrl_c_in_callback) if len(calls) == 2 else None
            try:
                return real_render(self, *args, **kwargs)
            finally:
                if tag is not None:
                    window.RemoveObserver(tag)

        MeshRenderer.render = render
        sys.exit(main(["infer", {str(photos)!r}, "--out", {str(out)!r}, "--model", {str(untrained_model_path)!r},
                       "--format", {FORMATS!r}]))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 130, proc.stdout + proc.stderr
    assert "interrupted" in proc.stdout and "3 images: 1 body recovered" in proc.stdout
    assert _complete(out, "a") and _outputs(out, "b") == [] and _outputs(out, "c") == []
    assert _no_leftovers(out)


def _private_mounts_work() -> bool:
    """Whether this machine lets an unprivileged process mount a tmpfs of its own (`unshare -rm`)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _private_mounts_work(), reason="needs `unshare -rm` to mount a private tmpfs")
def test_a_real_full_disk_and_a_real_read_only_file_system(photos, tmp_path, untrained_model_path):
    """The same as the patched-writer tests on real file systems: a tmpfs with room for one photo's outputs and a
    half, and a read-only tmpfs, mounted in a private mount namespace."""
    script = textwrap.dedent("""
        import json, subprocess, sys
        from pathlib import Path
        from hkmr_studio.cli import main

        photos, model, root = map(Path, sys.argv[1:4])
        options = ["--model", str(model), "--format", "json,obj"]
        measured = root / "measured"
        assert main(["infer", str(photos / "a.jpg"), "--out", str(measured), *options]) == 0
        set_bytes = sum(p.stat().st_size for p in measured.iterdir() if p.name != "report.json")
        small, read_only = root / "small", root / "read_only"
        small.mkdir()
        read_only.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={int(1.5 * set_bytes)}", "tmpfs", str(small)], check=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(read_only)], check=True)
        full_code = main(["infer", str(photos), "--out", str(small), *options])
        listing = sorted(p.name for p in small.iterdir())
        read_only_code = main(["infer", str(photos), "--out", str(read_only), *options])
        print(json.dumps({"full": full_code, "listing": listing, "read_only": read_only_code}))
    """)
    proc = subprocess.run(["unshare", "-rm", sys.executable, "-c", script, str(photos), str(untrained_model_path),
                           str(tmp_path)], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcome["full"] == 4 and "the disk holding it is full" in proc.stdout
    assert outcome["listing"] == ["a.obj", "a_overlay.png", "a_params.json", "report.json"]
    assert outcome["read_only"] == 2 and "is on a read-only file system" in proc.stderr
