#!/usr/bin/env bash
# Set up the project's environments; safe to run again (it only does what is missing).
#   scripts/setup.sh            the engine/training virtual environment (.venv) from requirements.txt
#   scripts/setup.sh --qgis     also Debian's QGIS (qgis, python3-qgis), Xvfb, pytest, a CJK font and pyrcc5/lrelease,
#                               and the plugin installed into your default QGIS profile, enabled, pointed at this engine
#   scripts/setup.sh --office   also LibreOffice Writer (report.pdf) and poppler-utils (the report page test)
#   scripts/setup.sh --browser  also Debian's chromium and chromium-driver (the browser page's tests)
#   scripts/setup.sh --deepspeed  also DeepSpeed (optional, for multi-GPU training)
set -euo pipefail
cd "$(dirname "$0")/.."

want_qgis=0
want_deepspeed=0
want_office=0
want_browser=0
for arg in "$@"; do
  case "$arg" in
    --qgis) want_qgis=1 ;;
    --deepspeed) want_deepspeed=1 ;;
    --office) want_office=1 ;;
    --browser) want_browser=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "setup.sh: need root (or sudo) to run: $*" >&2; exit 1; fi; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- engine/training environment -------------------------------------------------------------
PY=""
for candidate in python3.11 python3.12 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PY=$(command -v "$candidate"); break
  fi
done
if [ -z "$PY" ]; then
  echo "setup.sh: Python 3.11 or newer is needed (apt-get install python3)" >&2; exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    echo "setup.sh: installing python3-venv" >&2
    apt_install python3-venv
    "$PY" -m venv .venv
  fi
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup.sh: installing requirements into .venv (several GB the first time)" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  echo "$want" > "$stamp"
fi
# the project itself, editable: a Dask worker (or any script) started in another folder imports the engine
if ! (cd / && "$OLDPWD/.venv/bin/python" -c 'import engine, training' 2>/dev/null); then
  echo "setup.sh: installing the project into .venv (editable)" >&2
  .venv/bin/python -m pip install --quiet --no-deps -e .
fi

# a CJK font for the report's map (matplotlib draws Chinese with it; without one the map's words are English)
if ! fc-list :lang=zh 2>/dev/null | grep -q . && { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then
  echo "setup.sh: installing a CJK font (fonts-wqy-zenhei) for the report's map" >&2
  apt_install fonts-wqy-zenhei fontconfig
fi
if [ "$want_office" = 1 ] && { ! command -v soffice >/dev/null || ! command -v pdftoppm >/dev/null; }; then
  echo "setup.sh: installing LibreOffice Writer (no GUI) and poppler-utils (report.pdf and its page test)" >&2
  apt_install libreoffice-writer-nogui poppler-utils fonts-wqy-zenhei
fi

if [ "$want_browser" = 1 ] && { ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; }; then
  echo "setup.sh: installing Debian's chromium and chromium-driver (the browser page's tests)" >&2
  apt_install chromium chromium-driver
fi

# compile the analysis kernels (numba) once, here rather than in the user's first analysis; cached per checkout
.venv/bin/python -c 'from engine.analysis.kernels import warm_up; warm_up()'

if [ "$want_deepspeed" = 1 ] && ! .venv/bin/python -c 'import deepspeed' 2>/dev/null; then
  echo "setup.sh: building DeepSpeed (ops compiled on first use, so no CUDA is needed to install)" >&2
  DS_BUILD_OPS=0 .venv/bin/python -m pip install --quiet --no-build-isolation -r training/requirements-deepspeed.txt
fi

# --- QGIS for the plugin tests -------------------------------------------------------------------
if [ "$want_qgis" = 1 ]; then
  if ! /usr/bin/python3 -c 'import qgis.core' 2>/dev/null || ! /usr/bin/python3 -c 'import pytest' 2>/dev/null \
     || ! command -v Xvfb >/dev/null || [ ! -d /usr/share/fonts/truetype/wqy ] || ! command -v pyrcc5 >/dev/null \
     || ! command -v lrelease >/dev/null; then
    # fonts-wqy-zenhei: without a CJK font, Chinese in screenshots under Xvfb renders as empty boxes
    # pyqt5-dev-tools (pyrcc5) and qttools5-dev-tools (lrelease) build the plugin zip's resources and translations
    echo "setup.sh: installing QGIS, Xvfb, pytest, a CJK font and the Qt build tools from Debian (about a minute)" >&2
    apt_install qgis python3-qgis xvfb python3-pytest fonts-wqy-zenhei pyqt5-dev-tools qttools5-dev-tools
  fi
  # the plugin in the user's default QGIS profile, enabled, with this checkout's engine Python recorded
  QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/install_plugin.py --engine-python "$PWD/.venv/bin/python" >&2
fi
echo "setup.sh: ready" >&2
