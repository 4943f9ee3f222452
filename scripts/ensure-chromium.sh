#!/usr/bin/env bash
# Makes sure Debian's Chromium is present (screenshots and render_js need it).
# Prints its path as the last line of stdout; progress goes to stderr.
set -euo pipefail
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_PATH" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[chromium] $CHROMIUM_PATH is missing: installing Debian's chromium (a minute or two)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends chromium fonts-liberation >&2
  else
    echo "[chromium] $CHROMIUM_PATH is missing: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH" >&2
    exit 1
  fi
fi
"$CHROMIUM_PATH" --version >&2
echo "$CHROMIUM_PATH"
