# Shared set-up steps for packaging/run.sh and packaging/test.sh (sourced, not run).
# Idempotent: system packages are installed only when missing, the venv is re-installed only when pyproject.toml
# or the requested extras change.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${HKMR_VENV:-$REPO_ROOT/.venv}"

# Debian/Ubuntu packages: Mesa/EGL/OSMesa for offscreen rendering, the xcb libraries Qt's window needs, Xvfb.
SYSTEM_PACKAGES=(xvfb xauth libgl1 libgl1-mesa-dri libegl1 libosmesa6 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
  libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libdbus-1-3
  libfontconfig1 libglib2.0-0
  desktop-file-utils appstream)  # the last two: validators for the launcher and metainfo (their tests skip without)

ensure_system_packages() {
  command -v dpkg-query >/dev/null 2>&1 || { echo "note: not a Debian/Ubuntu system; make sure Mesa (OpenGL/EGL), Xvfb and Qt's xcb libraries are installed"; return 0; }
  local missing=()
  for p in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing system packages: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "error: these system packages are missing and this user cannot install them:" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    return 1
  fi
}

pick_python() {
  for py in python3.11 python3.12 python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 12) else 1)'; then
      echo "$py"; return 0
    fi
  done
  echo "error: Python 3.11 or 3.12 is needed (mediapipe 0.10.21 and torch wheels); install python3.11 and python3.11-venv" >&2
  return 1
}

# ensure_venv EXTRAS: create the venv and install the project with those extras ("" for none), once per change.
ensure_venv() {
  local extras="$1" stamp want
  want="$(cat "$REPO_ROOT/pyproject.toml" | sha256sum | cut -c1-16)-[$extras]"
  stamp="$VENV/.hkmr-installed"
  if [ -f "$stamp" ] && grep -qxF -- "$want" "$stamp"; then return 0; fi
  if [ ! -x "$VENV/bin/python" ]; then
    local py; py="$(pick_python)"
    "$py" -m venv "$VENV" || { echo "error: could not create a venv; install python3-venv (apt-get install python3.11-venv)" >&2; return 1; }
  fi
  "$VENV/bin/python" -m pip install -q --upgrade pip
  local target="$REPO_ROOT"
  [ -n "$extras" ] && target="$REPO_ROOT[$extras]"
  echo "installing HKMR Studio into $VENV (first time: a few minutes, torch is large)"
  "$VENV/bin/python" -m pip install -q -e "$target"
  echo "$want" >> "$stamp"
}
