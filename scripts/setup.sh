#!/usr/bin/env bash
# One-command setup of the f2p workspace on a fresh Debian 12 / Ubuntu machine.
#   ./scripts/setup.sh
# Installs the system packages it needs (as root), creates .venv with the pinned Python
# dependencies of requirements.txt, makes the ROS 2 wheels' CMake files point at this venv and
# builds the colcon workspace. Idempotent: a second run only checks and rebuilds (seconds).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
STEP="start"
# chromium-headless-shell: the tests open the demo's report.html in a real headless browser
APT_PACKAGES=(cmake g++ make libusb-1.0-0 libosmesa6 libegl1 libegl-mesa0 libgl1-mesa-dri
              libopengl0 libgbm1 chromium-headless-shell)

step() { STEP="$1"; printf '\n==> [setup] %s\n' "$STEP"; }
die() { printf '\nsetup FAILED at step "%s": %s\n' "$STEP" "$1" >&2; exit 1; }
ON_ERR='printf "\nsetup FAILED at step \"%s\" (command: %s, line %s)\n" "$STEP" "$BASH_COMMAND" "$LINENO" >&2'
trap "$ON_ERR" ERR

cd "$ROOT"
T0=$(date +%s)

step "check Python 3.11"
PY=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
    PY=$(command -v "$candidate"); break
  fi
done
[ -n "$PY" ] || die "Python 3.11 is required (the ROS 2 Kilted wheels on PyPI are built for cp311); found: $(python3 --version 2>&1 || echo none). On Debian 12: apt-get install python3 python3-venv. On a full ROS 2 distro use its colcon instead (README, 'On a full ROS 2 distro')."
"$PY" -c 'import venv, ensurepip' 2>/dev/null || die "$PY has no venv/ensurepip module: apt-get install python3-venv"
echo "using $PY ($("$PY" --version))"

step "system packages (apt)"
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "all present: ${APT_PACKAGES[*]}"
elif [ "$(id -u)" -ne 0 ]; then
  die "missing system packages: ${missing[*]}. Run this script as root, or: sudo apt-get install -y ${missing[*]}"
else
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

step "virtual environment (.venv)"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
  echo "created $VENV"
else
  echo "exists: $VENV"
fi

step "Python dependencies (requirements.txt)"
STAMP="$VENV/.f2p-requirements.sha256"
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "up to date (requirements.txt unchanged since the last install)"
else
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -U pip 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r requirements.txt 2>&1 \
    | grep -v '^WARNING: Location' || true
  # pip's exit status is lost in the pipe above: check the result explicitly.
  "$VENV/bin/python" -m pip check >/dev/null 2>&1 || "$VENV/bin/python" -m pip check
  "$VENV/bin/python" -c 'import rclpy, torch, mujoco, numpy, colcon_core' \
    || die "dependencies did not install (see the pip output above)"
  echo "$want" > "$STAMP"
  echo "installed"
fi

step "point the ROS 2 wheels' CMake files at this venv"
PYINC=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
SP=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
n=$(grep -rl '/opt/python/cp311-cp311' "$VENV/share" --include='*.cmake' 2>/dev/null | wc -l || true)
if [ "$n" -gt 0 ]; then
  grep -rl '/opt/python/cp311-cp311' "$VENV/share" --include='*.cmake' | xargs -r sed -i \
    -e "s#/opt/python/cp311-cp311/include/python3.11#$PYINC#g" \
    -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages#$SP#g"
  echo "rewrote $n files"
else
  echo "nothing to rewrite"
fi

step "colcon build --symlink-install"
export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV"
mkdir -p "$ROOT/log"
set +e; trap - ERR   # the build's own failure is reported below, with the package and its log
"$VENV/bin/colcon" --log-base "$ROOT/log" build --symlink-install \
  --base-paths "$ROOT/src" --build-base "$ROOT/build" --install-base "$ROOT/install"  2>&1 | tee "$ROOT/log/setup-build.txt"
rc=${PIPESTATUS[0]}
set -e; trap "$ON_ERR" ERR
if [ "$rc" -ne 0 ]; then
  for f in $(grep -ho 'Failed *<<< *[a-z0-9_]*' "$ROOT/log/setup-build.txt" 2>/dev/null | awk '{print $NF}'); do
    echo "package $f failed to build; its log: $ROOT/log/latest_build/$f/stdout_stderr.log" >&2
  done
  die "colcon build failed (exit $rc)"
fi

step "Stretch RE2 model (hello-robot-stretch-urdf, built once and cached)"
# Hello Robot's URDF and meshes (pinned in f2p_sim.stretch_model) as a MuJoCo model for `robot: stretch`;
# a no-op when the cached model is there (~/.cache/f2p, or F2P_CACHE)
bash -c 'source "$1/scripts/env.sh" && python -m f2p_sim.stretch_model' _ "$ROOT" \
  || die "could not build the Stretch RE2 model (see above)"

step "the f2p command"
cat > "$VENV/bin/f2p" <<SHIM
#!/usr/bin/env bash
# Generated by scripts/setup.sh: runs the f2p command of this workspace without sourcing anything.
source "$ROOT/scripts/env.sh"
exec "$ROOT/install/f2p_bringup/lib/f2p_bringup/f2p" "\$@"
SHIM
chmod +x "$VENV/bin/f2p"
echo "$VENV/bin/f2p (or 'source scripts/env.sh' and then 'f2p')"

trap - ERR
printf '\nsetup done in %ss\n' "$(( $(date +%s) - T0 ))"
