#!/usr/bin/env bash
# Run a long experiment from a frozen copy of the tree, so development (edits, rebuilds, tests) can go on
# beside it without changing the code under the run: the workspace's colcon install links into src/, so a
# rebuild or an edit in the working tree reaches every process the runner starts afterwards.
#
#   experiments/tools/frozen_run.sh run CONFIG [--scale S ...]   start or resume CONFIG in runs/frozen, at HEAD
#   experiments/tools/frozen_run.sh sync                         copy its newer records into experiments/results/
#   experiments/tools/frozen_run.sh status                       what runs there, at which commit
#
# runs/frozen is a git worktree of this repository (detached at the commit it was last frozen at) with its
# own colcon build, sharing .venv and data/ by symbolic links. Its runs/ (failure stores, child model stores,
# learning work) stays across re-freezes, so a resumed run finds what its records point at. The records it
# writes land in runs/frozen/experiments/results/; `sync` copies those newer than this tree's, to commit.
# A re-freeze (`run` at a new HEAD) is refused while a run is active there, and while records it wrote are not
# committed here (it syncs them first: commit them and run again).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FROZEN="$ROOT/runs/frozen"
LOG_DIR="$ROOT/runs/logs"

active() { pgrep -f "$FROZEN/install/f2p_bringup/lib/f2p_bringup/f2p experiment run" >/dev/null; }

sync_records() {  # copy the records (and kept events) the frozen run wrote, where newer than this tree's, into experiments/results
  # only what changed in the frozen worktree since it was checked out: a file the run never wrote carries the
  # checkout's time there and would otherwise overwrite newer work here (it emptied a diagnostic once, session 28)
  (cd "$FROZEN" && git status --porcelain --untracked-files=all -- experiments/results | cut -c4- |
     { grep -E '(\.jsonl|\.png|/report\.[a-z]+|/events/.*)$' || true; } | while IFS= read -r f; do
       mkdir -p "$ROOT/$(dirname "$f")" && cp -u "$f" "$ROOT/$f"
     done)
}

freeze() {
  local head
  head=$(git -C "$ROOT" rev-parse HEAD)
  if [ ! -d "$FROZEN" ]; then
    git -C "$ROOT" worktree add -q --detach "$FROZEN" "$head"
  elif [ "$(git -C "$FROZEN" rev-parse HEAD)" != "$head" ]; then
    active && { echo "a run is active in $FROZEN (at $(git -C "$FROZEN" rev-parse --short HEAD)); not re-freezing" >&2; exit 1; }
    # the records the frozen run wrote are changes in its worktree: they must be in this tree's history
    # before the checkout overwrites them with HEAD's
    sync_records
    if [ -n "$(git -C "$ROOT" status --porcelain experiments/results)" ]; then
      echo "records of the frozen run are not committed yet (experiments/results): commit them, then run again" >&2
      exit 1
    fi
    git -C "$FROZEN" checkout -q -f --detach "$head"
  fi
  [ -e "$FROZEN/.venv" ] || ln -s "$ROOT/.venv" "$FROZEN/.venv"
  mkdir -p "$ROOT/data"  # a fresh checkout has none yet: the link must not dangle (the runner makes the learner's data)
  [ -e "$FROZEN/data" ] || ln -sfn "$ROOT/data" "$FROZEN/data"
  mkdir -p "$FROZEN/log" "$LOG_DIR"
  (cd "$FROZEN" && AMENT_PREFIX_PATH="$ROOT/.venv" CMAKE_PREFIX_PATH="$ROOT/.venv" "$ROOT/.venv/bin/colcon" \
     --log-base log build --symlink-install --base-paths src --build-base build --install-base install \
     > log/freeze-build.txt 2>&1) || { echo "colcon build failed in $FROZEN: $FROZEN/log/freeze-build.txt" >&2; exit 1; }
  echo "frozen at $(git -C "$FROZEN" rev-parse --short HEAD)"
}

case "${1:-}" in
  run)
    shift
    [ $# -ge 1 ] || { echo "usage: $0 run CONFIG [--scale S ...]" >&2; exit 2; }
    active && { echo "a run is already active in $FROZEN" >&2; exit 1; }
    freeze
    log="$LOG_DIR/frozen-$(basename "$1" .yaml)-$(date +%Y%m%dT%H%M%S).log"
    (cd "$FROZEN" && set +u && source scripts/env.sh && set -u && \
       nohup f2p experiment run "$@" > "$log" 2>&1 &)
    echo "running in $FROZEN: f2p experiment run $*; log: $log"
    ;;
  sync)
    [ -d "$FROZEN/experiments/results" ] || { echo "nothing frozen yet" >&2; exit 1; }
    sync_records
    git -C "$ROOT" status --short experiments/results | head -20
    ;;
  status)
    [ -d "$FROZEN" ] || { echo "no frozen tree"; exit 0; }
    echo "frozen at $(git -C "$FROZEN" rev-parse --short HEAD) ($(git -C "$FROZEN" log -1 --format=%s | cut -c1-70))"
    if active; then pgrep -af "$FROZEN/install/f2p_bringup/lib/f2p_bringup/f2p experiment run"; else echo "no run active"; fi
    ;;
  *)
    sed -n 2,14p "${BASH_SOURCE[0]}"; exit 2 ;;
esac
