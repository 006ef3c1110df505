#!/usr/bin/env bash
# `a2i-review redrive` against real local services (part of scripts/test.sh):
#   moto in server mode (SQS; pinned, installed from PyPI into .tools/moto-venv)
#   a2i-local serve (S3 and A2I for the function)
#   cargo lambda watch (the real start handler behind the Lambda Invoke API)
# then runs the ignored test crates/a2i-review-cli/tests/redrive.rs, which fills the queue
# with on-failure destination records and checks that a message is deleted only after its
# invocation succeeded and that still-failing ones stay.
#
# cargo-lambda comes from scripts/tools.sh (.tools/deploy), which this script runs when it is
# missing. Loopback only; cleans up after itself. Set REDRIVE_KEEP_LOGS=1 to print the logs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV="$ROOT/.tools/moto-venv"
PINS=("moto[server]==5.2.5")

die() { echo "redrive-check: $*" >&2; exit 1; }

VENV_PROBE=moto_server
# shellcheck source=lib/venv.sh
source "$ROOT/scripts/lib/venv.sh"

ensure_venv
# cargo-lambda finds zig through the first python on PATH: the deploy venv's.
export PATH="$ROOT/.tools/deploy/bin:$PATH"
command -v cargo-lambda >/dev/null || bash scripts/tools.sh >/dev/null
command -v cargo-lambda >/dev/null || die "cargo-lambda is missing after scripts/tools.sh"

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ "${REDRIVE_KEEP_LOGS:-}" == 1 ]]; then tail -n 40 "$WORK"/*.log >&2 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
A2I_PORT=$(free_port); S3_PORT=$(free_port); MOTO_PORT=$(free_port); WATCH_PORT=$(free_port)
FLOW="arn:aws:sagemaker:us-east-1:111122223333:flow-definition/redrive-check"

# Built before watch starts, so the function's first invocation only links what is there.
A2I_LOCAL=$(cargo build --quiet --locked -p a2i-local -p a2i-review --bins --message-format=json-render-diagnostics \
  | python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "a2i-local" and message.get("executable"):
        print(message["executable"])
')
[[ -n "$A2I_LOCAL" && -x "$A2I_LOCAL" ]] || die "cargo did not produce the a2i-local binary"

setsid "$A2I_LOCAL" serve --a2i-port "$A2I_PORT" --s3-port "$S3_PORT" --data-dir "$WORK/data" \
  --env-file "$WORK/local.env" >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$A2I_PORT/_local/health" >/dev/null 2>&1 \
    && curl -fsS "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$A2I_PORT/_local/health" >/dev/null || { cat "$WORK/serve.log"; die "a2i-local did not start"; }
curl -fsS "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null || { cat "$WORK/moto.log"; die "moto did not start"; }

# The start function's settings, next to the endpoints serve wrote (the test uses the same names).
cp "$WORK/local.env" "$WORK/function.env"
cat >>"$WORK/function.env" <<ENV
FLOW_DEFINITION_ARN=$FLOW
ACTIVATION_CONDITIONS=s3://redrive-config/conditions/every-item.json
LOOP_NAME_PREFIX=redrive
RESULTS_BUCKET=redrive-results
ENV
setsid cargo lambda watch -A 127.0.0.1 -P "$WATCH_PORT" --env-file "$WORK/function.env" >"$WORK/watch.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 150); do
  (exec 3<>"/dev/tcp/127.0.0.1/$WATCH_PORT") 2>/dev/null && break
  sleep 0.2
done

export REDRIVE_LOCAL_ENV="$WORK/local.env"
export REDRIVE_SQS_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export REDRIVE_LAMBDA_ENDPOINT="http://127.0.0.1:$WATCH_PORT"
export REDRIVE_FLOW_DEFINITION_ARN="$FLOW"
# --workspace: the feature set of `cargo test --workspace`, so nothing is compiled again.
if ! cargo test --quiet --locked --workspace --test redrive -- --ignored --nocapture; then
  tail -n 40 "$WORK/watch.log" "$WORK/moto.log" "$WORK/serve.log" >&2 || true
  die "failed"
fi
echo "redrive-check: ok"
