#!/usr/bin/env bash
# Install HKMR Studio and run its main job on the bundled sample photo: the window when a display is present,
# otherwise the headless report.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_system_packages
ensure_venv ""
cd "$REPO_ROOT"
exec "$VENV/bin/hkmr-studio" doctor
