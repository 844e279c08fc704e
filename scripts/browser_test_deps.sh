#!/usr/bin/env bash
# Install what the end-to-end browser test of the recording studio needs (tests/test_studio_browser.py):
#   * Debian's `chromium` (apt-get) when /usr/bin/chromium is missing — the test drives this system browser;
#   * the PyPI packages `playwright` (the Python driver only: we NEVER run `playwright install`, which
#     downloads its own browser) and `anywidget` (the studio widget) into the venv, when missing.
# Safe to re-run: each step is skipped when its tool is already there.
#   usage: scripts/browser_test_deps.sh [path/to/python]      (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-.venv/bin/python}"
export DEBIAN_FRONTEND=noninteractive

if [ ! -x /usr/bin/chromium ]; then
  echo "browser_test_deps: installing Debian chromium (apt-get) ..."
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
/usr/bin/chromium --version

missing=()
"$PY" -c "import playwright" 2>/dev/null || missing+=("playwright==1.65.2")
"$PY" -c "import anywidget" 2>/dev/null || missing+=("anywidget==0.11.0")
if [ ${#missing[@]} -gt 0 ]; then
  echo "browser_test_deps: pip install ${missing[*]}"
  "$PY" -m pip install -q "${missing[@]}"
fi
"$PY" -c "import playwright, anywidget; from importlib.metadata import version as v; print('playwright', v('playwright'), '· anywidget', v('anywidget'))"
