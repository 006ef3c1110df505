#!/usr/bin/env bash
# Builds the three Lambda bootstraps (start, status, flow custom resource) with cargo-lambda
# (release, arm64 as in template.yaml) and prints their sizes. Falls back to x86_64 when the
# aarch64-unknown-linux-gnu standard library is not installed and cannot be fetched (offline
# machines): that build proves the code links for Lambda, but the template's Architectures
# must match what you deploy.
#   ARCH=x86_64 scripts/build-lambdas.sh   builds x86_64 without trying arm64.
# Needs scripts/tools.sh first (cargo-lambda and its zig live in .tools/deploy).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
D="$ROOT/.tools/deploy/bin"
BINARIES=(start-handler status-handler flow-resource)
cd "$ROOT"

[[ -x "$D/cargo-lambda" ]] || { echo "build-lambdas.sh: cargo-lambda missing; run scripts/tools.sh" >&2; exit 1; }
# cargo-lambda finds zig through the first python on PATH: it must be the deploy venv's.
export PATH="$D:$PATH"

has_std() {
  [[ -d "$(rustc --print sysroot)/lib/rustlib/$1/lib" ]]
}

arch=${ARCH:-arm64}
if [[ "$arch" == arm64 ]] && ! has_std aarch64-unknown-linux-gnu; then
  if command -v rustup >/dev/null 2>&1 \
    && timeout 120 rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 \
    && has_std aarch64-unknown-linux-gnu; then
    :
  else
    echo "build-lambdas.sh: no aarch64-unknown-linux-gnu standard library (rustup target add failed, offline?); building x86_64 instead" >&2
    arch=x86_64
  fi
fi
case $arch in
  arm64) flag=--arm64 ;;
  x86_64) flag=--x86-64 ;;
  *) echo "build-lambdas.sh: ARCH must be arm64 or x86_64, not $arch" >&2; exit 1 ;;
esac

# Wherever cargo builds (CARGO_TARGET_DIR, a configured target-dir): cargo metadata knows.
# The bootstraps go to its lambda/ directory, named explicitly so no default is assumed.
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps --locked \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
LAMBDA_DIR="$TARGET_DIR/lambda"
mkdir -p "$LAMBDA_DIR"
log="$LAMBDA_DIR/build.log"
bin_args=()
for b in "${BINARIES[@]}"; do bin_args+=(--bin "$b"); done
start=$(date +%s)
if ! cargo lambda build --release "$flag" --lambda-dir "$LAMBDA_DIR" -p a2i-review "${bin_args[@]}" >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  echo "build-lambdas.sh: cargo lambda build failed (full log: $log)" >&2
  exit 1
fi
elapsed=$(($(date +%s) - start))

echo "cargo lambda build --release $flag: ${elapsed}s"
for b in "${BINARIES[@]}"; do
  f="$LAMBDA_DIR/$b/bootstrap"
  [[ -f "$f" ]] || { echo "build-lambdas.sh: $f was not produced" >&2; exit 1; }
  python3 - "$f" "$b" <<'PY'
import io, os, sys, zipfile
path, name = sys.argv[1], sys.argv[2]
size = os.path.getsize(path)
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.write(path, "bootstrap")
zipped = len(buf.getvalue())
print(f"{path}: {size} bytes ({size / 1e6:.2f} MB), zipped {zipped} bytes ({zipped / 1e6:.2f} MB)")
PY
done
file -b "$LAMBDA_DIR/${BINARIES[0]}/bootstrap" 2>/dev/null | cut -d, -f1-2 || true
