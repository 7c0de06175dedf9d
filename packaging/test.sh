#!/usr/bin/env bash
# Install everything the tests need (system packages when root, the venv with the test extras) and run all tests.
# Extra arguments go to pytest, e.g. `bash packaging/test.sh -k body`.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_system_packages
ensure_venv "test,train,fbx,efficientnet"
cd "$REPO_ROOT"
# The window's tests need a real X display for VTK's OpenGL inside Qt (QT_QPA_PLATFORM=offscreen cannot host
# pyvistaqt's QtInteractor): this script starts a private Xvfb, so no window reaches your screen, and stops it when it
# ends, however pytest ended (pytest-xvfb's own server outlived a pytest that aborted natively).
unset QT_QPA_PLATFORM
export VTK_DEFAULT_OPENGL_WINDOW="${VTK_DEFAULT_OPENGL_WINDOW:-vtkEGLRenderWindow}"
PYTEST=("$VENV/bin/python" -m pytest -p no:cacheprovider)
if command -v Xvfb >/dev/null 2>&1; then
  display_file="$(mktemp)"
  Xvfb -br -nolisten tcp -screen 0 800x600x16 -displayfd 3 3>"$display_file" 2>/dev/null &
  xvfb_pid=$!
  trap 'kill "$xvfb_pid" 2>/dev/null; wait "$xvfb_pid" 2>/dev/null; rm -f "$display_file"' EXIT
  trap 'exit 130' INT TERM HUP
  for _ in $(seq 100); do [[ -s "$display_file" ]] && break; sleep 0.1; done
  [[ -s "$display_file" ]] || { echo "error: Xvfb did not start" >&2; exit 1; }
  export DISPLAY=":$(head -n1 "$display_file")"
  PYTEST+=(-p no:xvfb)
fi
# The window's tests run in a pytest process of their own: after the rest of the suite in one process, a window test
# aborted natively now and then (3 of 5 full runs on 2026-12-04; the window's tests on their own: 0 of 6 runs).
# Naming test files or folders (tests/..., or any existing path with a slash) runs just those, in one process.
# Exit status 5 (nothing selected, e.g. by -k) is fine.
for arg in "$@"; do
  if [[ "$arg" == tests* || ( "$arg" == */* && -e "${arg%%::*}" ) ]]; then
    status=0
    "${PYTEST[@]}" "$@" || status=$?
    exit "$status"
  fi
done
run_pytest() { "${PYTEST[@]}" "$@" || { status=$?; [[ $status == 5 ]] || return $status; }; }
# The window's tests still crash natively now and then (heap corruption found by malloc, segfaults in VTK's OpenGL or
# Qt's event loop; 3 of 7 runs under a CPU burner on 2026-12-04; open in issue 21). When their process dies of a
# signal, the script says so and runs them once more; failed tests are never re-run, and a second crash fails.
run_window_tests() {
  run_pytest tests/test_gui_*.py "$@" && return 0
  local status=$?
  (( status > 128 )) || return $status
  echo "warning: the window tests' process died of signal $((status - 128)), a native crash (issue 21); running them once more" >&2
  run_pytest tests/test_gui_*.py "$@"
}
failed=0
run_pytest --ignore-glob='tests/test_gui_*.py' "$@" || failed=$?
run_window_tests "$@" || failed=$?
exit "$failed"
