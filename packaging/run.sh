#!/usr/bin/env bash
# Install HKMR Studio and run its main job on the bundled sample photo: the window when a display is present,
# otherwise the headless report.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_system_packages
ensure_venv ""
cd "$REPO_ROOT"
SAMPLE="resources/samples/pose2sim_single_person.jpg"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$VENV/bin/hkmr-studio" "$SAMPLE"
fi
echo "No display (DISPLAY and WAYLAND_DISPLAY are unset): recovering the body without a window."
"$VENV/bin/hkmr-studio" infer "$SAMPLE" --out out/
echo "Outputs (overlay PNG, parameters JSON, OBJ mesh) are in $REPO_ROOT/out/"
