#!/usr/bin/env bash
# Installs the deploy and template-check tools into project-local virtualenvs under .tools/.
#
#   .tools/deploy   cargo-lambda (ships zig), aws-sam-cli, cfn-lint, cfn-lint-serverless
#   .tools/checkov  checkov alone: it pins an old boto3, and one shared venv makes pip
#                   backtrack for many minutes
#
# Idempotent: a venv whose recorded pins match is reused as it is; a venv with other pins is
# rebuilt. Needs only Python 3.11 (or any python3 >= 3.9) with venv and pip, and a package
# registry. Prints the tool versions at the end; pip's own output only on failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"

# Versions known to resolve and work together (see shared/reference/toolchain.md).
DEPLOY_PINS=(
  "cargo-lambda==1.9.2"
  "aws-sam-cli==1.170.0"
  "cfn-lint==1.58.0"
  "cfn-lint-serverless==0.3.6"
)
CHECKOV_PINS=(
  "checkov==3.3.30"
)

pick_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [[ -n "$candidate" ]] || continue
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  echo "tools.sh: no Python >= 3.9 with venv and ensurepip found (set PYTHON=...)" >&2
  exit 1
}

# ensure_venv NAME PIN... : creates .tools/NAME with exactly these pins unless it already has them.
ensure_venv() {
  local name=$1
  shift
  local dir="$TOOLS/$name" stamp="$TOOLS/$name/.pins" wanted log
  wanted=$(printf '%s\n' "$@")
  if [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    return
  fi
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  log=$(mktemp)
  if ! "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    rm -rf "$dir" # never leave a half-installed venv that a later run would trust
    echo "tools.sh: installing $name failed" >&2
    exit 1
  fi
  rm -f "$log"
  printf '%s' "$wanted" >"$stamp"
}

PY=$(pick_python)
mkdir -p "$TOOLS"
ensure_venv deploy "${DEPLOY_PINS[@]}"
ensure_venv checkov "${CHECKOV_PINS[@]}"

D="$TOOLS/deploy/bin"
C="$TOOLS/checkov/bin"
# cargo-lambda finds zig through the first python on PATH: the deploy venv's.
export PATH="$D:$PATH"
export SAM_CLI_TELEMETRY=0
printf '%-20s %s\n' \
  "cargo-lambda" "$("$D/cargo-lambda" lambda --version | awk '{print $2}')" \
  "zig" "$("$D/python" -m ziglang version 2>/dev/null || echo '?')" \
  "aws-sam-cli" "$("$D/sam" --version | awk '{print $NF}')" \
  "cfn-lint" "$("$D/cfn-lint" --version | awk '{print $NF}')" \
  "cfn-lint-serverless" "$("$D/python" -c 'import importlib.metadata as m; print(m.version("cfn-lint-serverless"))')" \
  "checkov" "$("$C/checkov" --version)"
