#!/usr/bin/env bash
# Screenshots of a2i-local's worker portal for the README (docs/images/portal-*.png), made in
# a real headless Chromium: the queue and each shipped template's task page with its sample
# input, then the built-in task types' pages (the demo's claim form and beach photo sent to
# Textract / Rekognition with a HumanLoopConfig on a2i-local, replaying the demo's recordings).
# Needs chromium + chromedriver (bash scripts/browser.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromedriver >/dev/null || bash scripts/browser.sh
export CHROMIUM="${CHROMIUM:-$(command -v chromium || command -v chromium-browser)}"
cargo run -q -p a2i-local --example portal_screenshots -- docs/images
cargo run -q -p a2i-review-cli --example builtin_screenshots -- docs/images
