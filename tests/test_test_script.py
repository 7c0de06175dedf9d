"""packaging/test.sh, the way the tests are run: a test process that dies natively leaves no X server behind."""

import json
import os
import signal
import socket
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

ABORTING_TEST = """
import json
import os


def test_aborts_like_a_native_crash():
    pid = os.getpid()
    children = open(f"/proc/{pid}/task/{pid}/children").read().split()
    with open(os.environ["DISPLAY_RECORD"], "w") as record:
        json.dump({"display": os.environ["DISPLAY"], "children": children}, record)
    os.abort()
"""


def _x_server_listens(display: str) -> bool:
    """Whether an X server accepts connections on local display ':N'."""
    with socket.socket(socket.AF_UNIX) as client:
        try:
            client.connect(f"/tmp/.X11-unix/X{display.lstrip(':').split('.')[0]}")
        except OSError:
            return False
    return True


def test_an_aborted_test_process_leaves_no_x_server_running(tmp_path):
    test_file = tmp_path / "test_aborts.py"
    test_file.write_text(ABORTING_TEST)
    record = tmp_path / "display.json"
    done = subprocess.run(["bash", str(REPO / "packaging" / "test.sh"), str(test_file), "-q", "-p", "no:faulthandler"],
                          env={**os.environ, "DISPLAY_RECORD": str(record)}, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode in (128 + signal.SIGABRT, -signal.SIGABRT), done.stdout[-2000:] + done.stderr[-2000:]
    seen = json.loads(record.read_text())
    try:
        assert not _x_server_listens(seen["display"]), f"the aborted run's X server {seen['display']} still runs"
    finally:
        for pid in seen["children"]:  # an X server the test process started itself, left by the script
            try:
                os.kill(int(pid), signal.SIGTERM)
            except ProcessLookupError:
                pass
