#!/usr/bin/env bash
# The local workflow of the README, end to end, as CI runs it:
#   a2i-local serve  ->  cargo lambda watch (both functions, with serve's env file)
#   -> cargo lambda invoke start-handler with events/s3-put.json, carrying the version the
#      upload to the versioned input bucket was answered with   (a loop starts)
#   -> the loop is answered through a2i-local's control surface
#   -> a2i-local posts the status-change event to the status handler under watch
#   -> the reviewed result is read back from the embedded S3.
# Needs the tools of scripts/tools.sh (cargo-lambda). Loopback only; cleans up after itself.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# cargo-lambda finds zig through the first python on PATH: the venv's.
export PATH="$ROOT/.tools/deploy/bin:$PATH"
command -v cargo-lambda >/dev/null || { echo "local-workflow: run scripts/tools.sh first" >&2; exit 1; }

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
A2I_PORT=$(free_port); S3_PORT=$(free_port); WATCH_PORT=$(free_port)
A2I="http://127.0.0.1:$A2I_PORT"; S3="http://127.0.0.1:$S3_PORT"
FLOW="arn:aws:sagemaker:us-east-1:111122223333:flow-definition/a2i-review-demo"

echo "local-workflow: building a2i-local and the functions"
# The artifact messages name each binary wherever it lands (CARGO_TARGET_DIR, a configured
# target-dir or build target): never assume target/.
A2I_LOCAL=$(cargo build --quiet --locked -p a2i-local -p a2i-review --bins --message-format=json-render-diagnostics \
  | python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "a2i-local" and message.get("executable"):
        print(message["executable"])
')
[[ -n "$A2I_LOCAL" && -x "$A2I_LOCAL" ]] || { echo "local-workflow: cargo did not produce the a2i-local binary" >&2; exit 1; }

echo "local-workflow: a2i-local serve on $A2I (A2I) and $S3 (S3)"
setsid "$A2I_LOCAL" serve --a2i-port "$A2I_PORT" --s3-port "$S3_PORT" \
  --data-dir "$WORK/data" --output-path s3://a2i-review-output/a2i \
  --event-url "http://127.0.0.1:$WATCH_PORT/2015-03-31/functions/status-handler/invocations" \
  --env-file "$WORK/local.env" >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -fsS "$A2I/_local/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$A2I/_local/health" >/dev/null || { cat "$WORK/serve.log"; exit 1; }

# The embedded S3 checks SigV4 like S3 does; curl signs with the credentials serve printed.
# shellcheck disable=SC1091
set -a; source "$WORK/local.env"; set +a
s3() { curl -fsS --aws-sigv4 "aws:amz:${AWS_REGION}:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
for bucket in a2i-review-input a2i-review-config a2i-review-results; do
  s3 -X PUT "$S3/$bucket" >/dev/null
done  # serve creates the output bucket itself
# The stack's input bucket is versioned, so its events carry versionId and the start handler
# reads exactly that version: the same here. The sample event gets the version, ETag and size
# this upload was answered with (the embedded S3 refuses a version it does not hold).
s3 -X PUT --data-binary '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>' \
  "$S3/a2i-review-input?versioning=" >/dev/null
s3 -X PUT -H 'content-type: application/json' --data-binary @sample-data/incoming/forms/intake-form.json \
  -D "$WORK/put.headers" "$S3/a2i-review-input/incoming/forms/intake-form.json" >/dev/null
python3 - "$WORK/put.headers" sample-data/incoming/forms/intake-form.json events/s3-put.json "$WORK/s3-put.json" <<'PY'
import json, os, sys
headers = {}
for line in open(sys.argv[1], encoding="latin-1"):
    name, sep, value = line.partition(":")
    if sep:
        headers[name.strip().lower()] = value.strip()
assert headers.get("x-amz-version-id"), f"the versioned bucket answered no x-amz-version-id: {headers}"
event = json.load(open(sys.argv[3]))
obj = event["Records"][0]["s3"]["object"]
obj["versionId"] = headers["x-amz-version-id"]
obj["eTag"] = headers["etag"].strip('"')
obj["size"] = os.path.getsize(sys.argv[2])
json.dump(event, open(sys.argv[4], "w"), indent=2)
print(f"  uploaded version {obj['versionId']} (ETag {obj['eTag']})")
PY
s3 -X PUT -H 'content-type: application/json' --data-binary @sample-data/conditions/forms.json \
  "$S3/a2i-review-config/conditions/forms.json" >/dev/null

# The functions' configuration, next to the endpoints serve wrote.
cat >>"$WORK/local.env" <<ENV
FLOW_DEFINITION_ARN=$FLOW
ACTIVATION_CONDITIONS=s3://a2i-review-config/conditions/forms.json
LOOP_NAME_PREFIX=a2i-review
RESULTS_BUCKET=a2i-review-results
RESULTS_PREFIX=reviewed/
ENV

echo "local-workflow: cargo lambda watch on 127.0.0.1:$WATCH_PORT"
setsid cargo lambda watch -A 127.0.0.1 -P "$WATCH_PORT" --env-file "$WORK/local.env" >"$WORK/watch.log" 2>&1 &
PIDS+=($!)

echo "local-workflow: cargo lambda invoke start-handler --data-file events/s3-put.json (with the upload's version)"
started=""
for _ in $(seq 1 60); do
  if started=$(cargo lambda invoke start-handler -A 127.0.0.1 -P "$WATCH_PORT" --data-file "$WORK/s3-put.json" 2>"$WORK/invoke.err"); then
    break
  fi
  grep -qiE "connection refused|error sending request|tcp connect" "$WORK/invoke.err" || { cat "$WORK/invoke.err" "$WORK/watch.log"; exit 1; }
  sleep 2
done
echo "  $started"
python3 - "$started" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
assert s["started"] == 1 and s["failed"] == 0, s
PY

NAME=$(curl -fsS "$A2I/_local/pending" | python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["loops"][0]["humanLoopName"])')
echo "local-workflow: loop $NAME started; answering it as a reviewer"
curl -fsS -X POST -H 'content-type: application/json' \
  -d '{"answers":[{"workerId":"local-reviewer","answerContent":{"dateOfBirth":"1986-12-04","policyNumber":{"missing":true}}}]}' \
  "$A2I/_local/loops/$NAME/answer" >/dev/null

echo "local-workflow: waiting for the status handler's reviewed result"
KEY="reviewed/a2i-review-input/incoming/forms/intake-form.json/$NAME.json"
for _ in $(seq 1 90); do s3 "$S3/a2i-review-results/$KEY" -o "$WORK/result.json" 2>/dev/null && break; sleep 1; done
[[ -s "$WORK/result.json" ]] || { echo "no result at s3://a2i-review-results/$KEY" >&2; tail -40 "$WORK/watch.log" "$WORK/serve.log" >&2; exit 1; }
python3 - "$WORK/result.json" "$NAME" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "Completed" and r["humanLoopName"] == sys.argv[2], r
assert r["source"]["key"] == "incoming/forms/intake-form.json", r["source"]
assert r["humanAnswers"][0]["answerContent"]["dateOfBirth"] == "1986-12-04"
print(f"  result s3://a2i-review-results/reviewed/.../{sys.argv[2]}.json: status {r['status']}, "
      f"{r['answerCount']} answer, reasons: {r['activationReasons'][0][:70]}...")
PY
echo "local-workflow: cargo lambda invoke status-handler --data-file events/a2i-failed.json"
failed=$(cargo lambda invoke status-handler -A 127.0.0.1 -P "$WATCH_PORT" --data-file events/a2i-failed.json)
echo "  $failed"
python3 - "$failed" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
assert o["outcome"] == "written" and o["status"] == "Failed", o
PY
echo "local-workflow: ok"
