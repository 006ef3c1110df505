#!/usr/bin/env bash
# Installs a real browser for the UI tests: Debian's `chromium` and `chromium-driver` (its
# WebDriver), with apt, when either is missing. Idempotent and fast when both are installed.
# Prints the two paths (and versions) at the end; apt's own output only on failure.
#
# The browser tests (crates/a2i-local/tests/crowd_elements.rs) look for the same two programs,
# or for $CHROMIUM / $CHROMEDRIVER when set.
set -euo pipefail

find_chromium() {
  local candidate
  for candidate in "${CHROMIUM:-}" chromium chromium-browser; do
    [[ -n "$candidate" ]] || continue
    if command -v "$candidate" >/dev/null 2>&1; then
      command -v "$candidate"
      return
    fi
  done
}

find_driver() {
  local candidate
  for candidate in "${CHROMEDRIVER:-}" chromedriver; do
    [[ -n "$candidate" ]] || continue
    if command -v "$candidate" >/dev/null 2>&1; then
      command -v "$candidate"
      return
    fi
  done
}

if [[ -z "$(find_chromium)" || -z "$(find_driver)" ]]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "browser.sh: chromium or chromedriver is missing and there is no apt-get to install them;" >&2
    echo "browser.sh: install Chromium and its WebDriver, or set CHROMIUM and CHROMEDRIVER" >&2
    exit 1
  fi
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    SUDO=(sudo)
  fi
  log=$(mktemp)
  if ! { "${SUDO[@]}" apt-get update && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y chromium chromium-driver; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "browser.sh: installing chromium and chromium-driver with apt failed" >&2
    exit 1
  fi
  rm -f "$log"
fi

CHROMIUM_PATH=$(find_chromium)
DRIVER_PATH=$(find_driver)
if [[ -z "$CHROMIUM_PATH" || -z "$DRIVER_PATH" ]]; then
  echo "browser.sh: chromium or chromedriver is still missing after the install" >&2
  exit 1
fi
echo "chromium:     $CHROMIUM_PATH ($("$CHROMIUM_PATH" --version 2>/dev/null | head -n1))"
echo "chromedriver: $DRIVER_PATH ($("$DRIVER_PATH" --version 2>/dev/null | head -n1))"
