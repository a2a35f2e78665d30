#!/usr/bin/env bash
# The f2p test command:   ./scripts/test.sh
# 1. ruff over the repository; 2. colcon test (each package's unit tests);
# 3. the integration tests in tests/ (real processes over DDS). Exits non-zero on any failure,
# and also when no test ran at all.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
STEP="start"
trap 'printf "\ntests FAILED at step \"%s\"\n" "$STEP" >&2' ERR
step() { STEP="$1"; printf '\n==> [test] %s\n' "$STEP"; }

set +u
# shellcheck disable=SC1091
source "$ROOT/scripts/env.sh"
set -u
# A private DDS domain per run, so a concurrent run or a live robot graph is never disturbed.
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$(( ( $$ % 100 ) + 100 ))}"
RESULTS="$ROOT/build/test-results"
rm -rf "$RESULTS" && mkdir -p "$RESULTS"

step "ruff check"
ruff check .

step "colcon test (unit tests of every package)"
colcon --log-base "$ROOT/log" test --base-paths "$ROOT/src" --build-base "$ROOT/build" \
  --install-base "$ROOT/install" --return-code-on-test-failure \
  --event-handlers console_cohesion+ --pytest-args -q -p no:cacheprovider
colcon test-result --test-result-base "$ROOT/build" --all >/dev/null || colcon test-result --test-result-base "$ROOT/build" --all --verbose

step "integration tests (tests/)"
python -m pytest tests -q -p no:cacheprovider --junitxml="$RESULTS/integration.xml"

step "summary"
python - "$ROOT/build"/*/pytest.xml "$RESULTS"/*.xml <<'PY'
import sys, xml.etree.ElementTree as ET
total = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        continue
    for suite in ([root] if root.tag == "testsuite" else root.iter("testsuite")):
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
passed = total - failed - skipped
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
PY
