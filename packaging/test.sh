#!/usr/bin/env bash
# Install everything the tests need (system packages when root, the venv with the test extras) and run all tests.
# Extra arguments go to pytest, e.g. `bash packaging/test.sh -k body`.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_system_packages
ensure_venv "test,train,fbx,efficientnet"
cd "$REPO_ROOT"
# The window's tests need a real X display for VTK's OpenGL inside Qt (QT_QPA_PLATFORM=offscreen cannot host
# pyvistaqt's QtInteractor): pytest-xvfb starts a private Xvfb for the session, so no window reaches your screen.
unset QT_QPA_PLATFORM
export VTK_DEFAULT_OPENGL_WINDOW="${VTK_DEFAULT_OPENGL_WINDOW:-vtkEGLRenderWindow}"
# The window's tests run in a pytest process of their own: after the rest of the suite in one process, a window test
# aborted natively now and then (3 of 5 full runs on 2026-12-04; the window's tests on their own: 0 of 6 runs).
# Naming test files or folders runs just those, in one process. Exit status 5 (nothing selected, e.g. by -k) is fine.
for arg in "$@"; do
  [[ "$arg" == tests* ]] && exec "$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
done
run_pytest() { "$VENV/bin/python" -m pytest -p no:cacheprovider "$@" || { status=$?; [[ $status == 5 ]] || return $status; }; }
failed=0
run_pytest --ignore-glob='tests/test_gui_*.py' "$@" || failed=$?
run_pytest tests/test_gui_*.py "$@" || failed=$?
exit "$failed"
