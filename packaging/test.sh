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
exec "$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
