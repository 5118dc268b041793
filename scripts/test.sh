#!/usr/bin/env bash
# Set up everything and run the whole test suite: lint, engine/training tests in .venv,
# plugin tests inside Debian's QGIS. Fails on any failure, and when a suite runs no test.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --qgis --office --browser || exit 1

status=0
run_suite() {  # name, command...
  local name=$1; shift
  echo "== $name: $*"
  "$@"
  local rc=$?
  if [ "$rc" = 5 ]; then echo "== $name: no tests were collected" >&2; rc=1; fi
  if [ "$rc" != 0 ]; then echo "== $name: FAILED (exit $rc)" >&2; status=1; fi
}

run_suite lint .venv/bin/python -m ruff check .
run_suite engine .venv/bin/python -m pytest -rs tests --ignore=tests/plugin "$@"
# under Xvfb (a real X server: the dock screenshot is drawn as a user's screen draws it); offscreen without it
if command -v xvfb-run >/dev/null; then
  QT_QPA_PLATFORM=xcb run_suite qgis xvfb-run -a -s "-screen 0 1920x1080x24" /usr/bin/python3 -m pytest \
    -p no:cacheprovider --confcutdir=tests/plugin tests/plugin
else
  QT_QPA_PLATFORM=offscreen run_suite qgis /usr/bin/python3 -m pytest -p no:cacheprovider \
    --confcutdir=tests/plugin tests/plugin
fi
exit $status
