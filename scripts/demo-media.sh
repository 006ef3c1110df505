#!/usr/bin/env bash
# Regenerates the demo's raw media and their recorded model answers
# (crates/a2i-review-cli/demo/raw-media/, see scripts/demo_media.py) with a pinned Pillow in
# .tools/pillow-venv. The outputs are committed; run this only to change them, then run
# `cargo test -p a2i-review-cli --test demo` (the recordings match the images by SHA-256).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV="$ROOT/.tools/pillow-venv"
PINS=("Pillow==11.3.0")

die() { echo "demo-media: $*" >&2; exit 1; }

VENV_PROBE=python
# shellcheck source=lib/venv.sh
source "$ROOT/scripts/lib/venv.sh"

ensure_venv
"$VENV/bin/python" scripts/demo_media.py
