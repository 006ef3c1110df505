#!/usr/bin/env bash
# Checks that real clients other than ours work unchanged against `a2i-local serve`: boto3 and
# the AWS CLI v1 (pinned, installed from PyPI into .tools/clients-venv) run the A2I runtime's
# five operations, its errors, and S3 put/get/ls against a server on free loopback ports
# with a temp data directory. Only loopback is ever contacted; no AWS account is needed.
#
#   bash scripts/client-compat.sh        # prints "N passed, 0 failed" and nothing else
#
# Environment: PYTHON (interpreter for the venv), A2I_LOCAL_BIN (a built a2i-local; built
# with cargo otherwise). On failure, the failing checks and the server log are printed and
# the exit status is 1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.tools/clients-venv"

# Known to resolve together (boto3 and awscli share botocore 1.44.5).
PINS=(
  "boto3==1.44.5"
  "botocore==1.44.5"
  "awscli==1.46.3"
)

die() {
  echo "client-compat.sh: $*" >&2
  exit 1
}

VENV_PROBE=python
# shellcheck source=lib/venv.sh
source "$ROOT/scripts/lib/venv.sh"

build_server() {
  if [[ -n "${A2I_LOCAL_BIN:-}" ]]; then
    [[ -x "$A2I_LOCAL_BIN" ]] || die "A2I_LOCAL_BIN=$A2I_LOCAL_BIN is not executable"
    echo "$A2I_LOCAL_BIN"
    return
  fi
  # The artifact message names the binary wherever CARGO_TARGET_DIR puts it.
  (cd "$ROOT" && cargo build --quiet --locked -p a2i-local --bin a2i-local --message-format=json-render-diagnostics) \
    | "$VENV/bin/python" -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "a2i-local" and message.get("executable"):
        print(message["executable"])
'
}

ensure_venv
BIN=$(build_server)
[[ -n "$BIN" && -x "$BIN" ]] || die "cargo did not produce the a2i-local binary"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/a2i-client-compat.XXXXXX")
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Nothing from the caller's AWS setup may leak in (profiles, real endpoints, tokens).
while IFS= read -r name; do
  unset "$name"
done < <(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p')
export AWS_CONFIG_FILE="$WORK/aws-config"
export AWS_SHARED_CREDENTIALS_FILE="$WORK/aws-credentials"
export AWS_EC2_METADATA_DISABLED=true
export AWS_PAGER=""
: >"$AWS_SHARED_CREDENTIALS_FILE"
: >"$AWS_CONFIG_FILE"

export A2I_LOCAL_S3_EVENTS_FILE="$WORK/s3-events.jsonl"
export A2I_LOCAL_EVENTS_FILE="$WORK/status-events.jsonl"
export A2I_LOCAL_INPUT_PATH="s3://compat-input/incoming"
export A2I_LOCAL_OUTPUT_PATH="s3://compat-output/a2i"
export A2I_LOCAL_MAX_FLOW_DEFINITIONS=25

RUST_LOG=info "$BIN" serve \
  --a2i-port 0 --s3-port 0 \
  --data-dir "$WORK/data" \
  --env-file "$WORK/server.env" \
  --input-path "$A2I_LOCAL_INPUT_PATH" \
  --output-path "$A2I_LOCAL_OUTPUT_PATH" \
  --s3-event-file "$A2I_LOCAL_S3_EVENTS_FILE" \
  --event-file "$A2I_LOCAL_EVENTS_FILE" \
  --max-flow-definitions "$A2I_LOCAL_MAX_FLOW_DEFINITIONS" \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

server_failed() {
  echo "--- a2i-local log ---" >&2
  cat "$WORK/server.log" >&2 || true
  die "$*"
}

# The env file is written once both ports listen; its last line ends the write.
for _ in $(seq 1 300); do
  kill -0 "$SERVER_PID" 2>/dev/null || server_failed "a2i-local exited at start"
  if grep -q '^AWS_DEFAULT_REGION=' "$WORK/server.env" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
grep -q '^AWS_DEFAULT_REGION=' "$WORK/server.env" 2>/dev/null || server_failed "a2i-local did not start within 30 s"
set -a
# shellcheck disable=SC1091
. "$WORK/server.env"
set +a
"$VENV/bin/python" - "$AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME/_local/health" <<'EOF' || server_failed "/_local/health did not answer"
import json, sys, time, urllib.request
for _ in range(100):
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
            if json.load(r).get("status") == "ok":
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF

export PATH="$VENV/bin:$PATH"
export A2I_LOCAL_WORK="$WORK"
if ! "$VENV/bin/python" "$ROOT/tests/clients/run.py"; then
  server_failed "client compatibility checks failed"
fi
