# Source this file to use the f2p workspace in a shell:   source scripts/env.sh
# (bash or zsh). It activates .venv, points ament at the ROS 2 wheels inside it, sources the
# colcon install space and keeps DDS discovery on this host.
F2P_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
export F2P_ROOT
if [ ! -x "$F2P_ROOT/.venv/bin/python" ] || [ ! -f "$F2P_ROOT/install/setup.bash" ]; then
  echo "f2p: the workspace is not set up; run $F2P_ROOT/scripts/setup.sh" >&2
  return 1 2>/dev/null || exit 1
fi
# shellcheck disable=SC1091
. "$F2P_ROOT/.venv/bin/activate"
# ament finds the wheels' packages (rosidl typesupport, message packages) through these.
case ":${AMENT_PREFIX_PATH:-}:" in *":$VIRTUAL_ENV:"*) ;; *) export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}";; esac
case ":${CMAKE_PREFIX_PATH:-}:" in *":$VIRTUAL_ENV:"*) ;; *) export CMAKE_PREFIX_PATH="$VIRTUAL_ENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}";; esac
# shellcheck disable=SC1091
. "$F2P_ROOT/install/setup.bash"
# DDS discovery stays on the loopback interface unless the user chose otherwise
# (ROS 2 Jazzy and newer; Humble reads ROS_LOCALHOST_ONLY).
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
# Headless offscreen rendering for MuJoCo (osmesa also works: MUJOCO_GL=osmesa).
export MUJOCO_GL="${MUJOCO_GL:-egl}"
case ":$PATH:" in *":$F2P_ROOT/install/f2p_bringup/lib/f2p_bringup:"*) ;; *) export PATH="$F2P_ROOT/install/f2p_bringup/lib/f2p_bringup:$PATH";; esac
