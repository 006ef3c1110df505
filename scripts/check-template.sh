#!/usr/bin/env bash
# Checks template.yaml with the three checkers CI runs, offline, and fails on any finding:
#   cfn-lint with the serverless rules, sam validate --lint, checkov (CloudFormation).
# Suppressions live in the template, in the Metadata of the resource they concern, each with
# its reason; nothing is skipped here. Run scripts/tools.sh first. On success, one line per checker and a summary.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
D="$ROOT/.tools/deploy/bin"
C="$ROOT/.tools/checkov/bin"
TEMPLATE=${1:-template.yaml}
cd "$ROOT"

for tool in "$D/cfn-lint" "$D/sam" "$C/checkov"; do
  [[ -x "$tool" ]] || { echo "check-template.sh: $tool missing; run scripts/tools.sh" >&2; exit 1; }
done

# No checker needs AWS. Dummy credentials and a region satisfy SDK clients that insist on them,
# and every endpoint points at a closed local port, so an unexpected call fails here instead
# of reaching AWS.
export AWS_ACCESS_KEY_ID=AKIDOFFLINECHECKS000 AWS_SECRET_ACCESS_KEY=offline-checks-only
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:9 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN
export SAM_CLI_TELEMETRY=0

failed=()
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# cfn-lint: the template comes first, because -a takes every argument after it.
if ! "$D/cfn-lint" "$TEMPLATE" -a cfn_lint_serverless.rules >"$out" 2>&1; then
  echo "== cfn-lint $TEMPLATE -a cfn_lint_serverless.rules" >&2
  cat "$out" >&2
  failed+=(cfn-lint)
else
  echo "cfn-lint $TEMPLATE -a cfn_lint_serverless.rules: no findings"
fi

if ! "$D/sam" validate --lint --template-file "$TEMPLATE" --region us-east-1 >"$out" 2>&1; then
  echo "== sam validate --lint" >&2
  cat "$out" >&2
  failed+=("sam validate")
else
  echo "sam validate --lint: $(tail -n 1 "$out")"
fi

if ! "$C/checkov" -f "$TEMPLATE" --framework cloudformation --skip-download --compact \
  --output cli >"$out" 2>&1; then
  echo "== checkov -f $TEMPLATE --framework cloudformation" >&2
  grep -vE '^(Check|\s*PASSED|\s*SKIPPED)' "$out" >&2 || cat "$out" >&2
  failed+=(checkov)
else
  echo "checkov --framework cloudformation: $(grep -m1 -E 'Passed checks' "$out" | tr -s ' ')"
fi

if ((${#failed[@]})); then
  echo "check-template.sh: findings from: ${failed[*]}" >&2
  exit 1
fi
skips=$(grep -cE '^\s*- id: CKV' "$TEMPLATE" || true)
ignores=$(grep -cE '^\s*- [EWI]S?[0-9]{4}\b' "$TEMPLATE" || true)
echo "template checks clean: cfn-lint+serverless, sam validate --lint, checkov ($skips checkov skips, $ignores cfn-lint ignores, each with its reason in $TEMPLATE)"
