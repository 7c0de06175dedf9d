#!/usr/bin/env bash
# Build HKMR Studio's wheel, install it into a fresh virtual environment outside the repository and run the installed
# `hkmr-studio doctor` and `hkmr-studio infer` on the sample photo that ships inside the wheel, from a temporary folder:
# a file the wheel forgets (a model, the body, a sample) makes this fail, as it would for a user.
# Usage: bash packaging/check_wheel.sh [WHEEL]   (without WHEEL, builds one from this checkout first)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ensure_system_packages
work="$(mktemp -d "${TMPDIR:-/tmp}/hkmr-wheel-check.XXXXXX")"
trap 'echo "removing $work"; rm -rf "$work"' EXIT

py="$(pick_python)"
"$py" -m venv "$work/venv"
if [ $# -ge 1 ]; then
  wheel="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
else
  echo "building the wheel"
  "$work/venv/bin/python" -m pip wheel -q --no-deps -w "$work/dist" "$REPO_ROOT"
  wheel="$(ls "$work"/dist/hkmr_studio-*.whl)"
fi
echo "wheel: $wheel ($(du -m "$wheel" | cut -f1) MB)"
echo "installing it into a fresh venv: $work/venv"
install_started=$SECONDS
"$work/venv/bin/python" -m pip install -q "$wheel"
echo "installed in $((SECONDS - install_started)) s; the venv takes $(du -sm "$work/venv" | cut -f1) MB"

# Everything below runs from a folder of its own, so nothing is found through the checkout, and with settings and
# logs of its own, so neither this user's settings (another body file) nor their files play a part.
export HKMR_STUDIO_CONFIG_DIR="$work/config" HKMR_STUDIO_LOG_DIR="$work/log"
mkdir "$work/run"
cd "$work/run"
package_dir="$("$work/venv/bin/python" -c 'import hkmr_studio, pathlib; print(pathlib.Path(hkmr_studio.__file__).parent)')"
case "$package_dir" in
  "$work/venv/"*) ;;
  *) echo "error: the fresh venv imports hkmr_studio from $package_dir, not from its own site-packages" >&2; exit 1 ;;
esac
"$work/venv/bin/hkmr-studio" doctor
sample="$("$work/venv/bin/python" -c 'from hkmr_studio.resources import resources_dir; print(resources_dir() / "samples" / "pose2sim_single_person.jpg")')"
cp "$sample" photo.jpg
"$work/venv/bin/hkmr-studio" infer photo.jpg --out out
for output in photo_params.json photo_overlay.png photo.obj; do
  [ -s "out/$output" ] || { echo "error: hkmr-studio infer did not write out/$output" >&2; exit 1; }
done
# prohmr stores its flow alone and takes HKMR's weights from the bundled models/hkmr (checked by digest)
"$work/venv/bin/python" -c 'from hkmr_studio.checkpoints import load_checkpoint
assert load_checkpoint("prohmr").net.flow is not None' || { echo "error: the bundled prohmr model does not load" >&2; exit 1; }
echo "the installed wheel works outside the repository (this check took $SECONDS s)"
