#!/usr/bin/env bash
# Checks template.yaml with the three checkers CI runs, offline, and fails on any finding:
#   cfn-lint with the serverless rules, sam validate --lint, checkov (CloudFormation),
# once for each TaskType (custom, textract-forms, rekognition-moderation).
#
# What each checker sees per mode:
#   cfn-lint   the template itself, with the mode's values as --parameters (it checks every
#              branch of every Fn::If anyway);
#   sam        the template *rendered* for the mode: parameter defaults set to the mode's
#              values, every Fn::If resolved, AWS::NoValue dropped, resources and outputs
#              whose Condition is false removed (sam takes no parameter values);
#   checkov    the rendered template after the SAM transform (done offline here). checkov
#              takes no parameter values either, and it does not expand SAM functions: on
#              the template itself it scans neither the functions' IAM roles nor the
#              statements that exist in one built-in mode only.
# The template's Rules, which no checker evaluates, are evaluated by the renderer: each mode
# must pass them, and a list of bad parameter sets must each be refused by the intended rule.
# Suppressions live in the template, in the Metadata of the resource they concern, each with
# its reason; nothing is skipped here. Run scripts/tools.sh first. On success, one line per
# checker and mode, and a summary.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
D="$ROOT/.tools/deploy/bin"
C="$ROOT/.tools/checkov/bin"
TEMPLATE=${1:-template.yaml}
cd "$ROOT"

for tool in "$D/cfn-lint" "$D/sam" "$D/python" "$C/checkov"; do
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

# The parameter values of each mode (beyond the defaults, which are the custom mode's but for
# the condition document the template requires). The built-in modes' conditions are real
# documents for the created flow definition; one mode sets AlarmTopicArn, so the alarms'
# actions are checked both ways.
TEXTRACT_CONDITIONS='{"Conditions":[{"ConditionType":"ImportantFormKeyConfidenceCheck","ConditionParameters":{"ImportantFormKey":"*","KeyValueBlockConfidenceLessThan":80}}]}'
REKOGNITION_CONDITIONS='{"Conditions":[{"ConditionType":"ModerationLabelConfidenceCheck","ConditionParameters":{"ModerationLabelName":"*","ConfidenceGreaterThanEquals":60}}]}'
WORKTEAM=WorkteamArn=arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/checks
MODES=(custom textract-forms rekognition-moderation)
declare -A PARAMS=(
  [custom]="$WORKTEAM ActivationConditions={\"Conditions\":[{\"ConditionType\":\"Sampling\",\"ConditionParameters\":{\"RandomSamplingPercentage\":5}}]}"
  [textract-forms]="$WORKTEAM TaskType=textract-forms WorkerTemplate=builtin-textract-forms TextractFeatureTypes=FORMS,TABLES ActivationConditions=$TEXTRACT_CONDITIONS"
  [rekognition-moderation]="$WORKTEAM TaskType=rekognition-moderation WorkerTemplate=builtin-rekognition-moderation ActivationConditions=$REKOGNITION_CONDITIONS AlarmTopicArn=arn:aws:sns:us-east-1:111122223333:a2i-review-alarms"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$work/out"

# render TEMPLATE OUT NAME=VALUE...: the template as the given parameters deploy it (JSON).
render() {
  "$D/python" - "$@" <<'PY'
import json
import sys

from cfnlint.decode import decode

source, target, *assignments = sys.argv[1:]
template, problems = decode(source)
if problems:
    sys.exit(f"render: {source} does not parse: {problems}")
params = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
for assignment in assignments:
    name, _, value = assignment.partition("=")
    if name not in params:
        sys.exit(f"render: unknown parameter {name}")
    params[name] = value
    template["Parameters"][name]["Default"] = value

conditions = template.get("Conditions", {})
NO_VALUE = object()


def value(node):
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return [value(v) for v in node]
    if isinstance(node, dict) and list(node) == ["Ref"] and node["Ref"] in params:
        return params[node["Ref"]]
    sys.exit(f"render: cannot evaluate {json.dumps(node)} in a condition")


def holds(node):
    (function, args), = node.items()
    if function == "Fn::Equals":
        return value(args[0]) == value(args[1])
    if function == "Fn::Not":
        return not holds(args[0])
    if function == "Fn::And":
        return all(holds(a) for a in args)
    if function == "Fn::Or":
        return any(holds(a) for a in args)
    if function == "Condition":
        return holds(conditions[args])
    if function == "Fn::Contains":
        return value(args[1]) in value(args[0])
    sys.exit(f"render: unsupported condition function {function}")


# The template's Rules, as CloudFormation applies them before it creates anything: a
# parameter set a rule refuses is not a deployable mode (exit 3, one line per refusing rule).
refused = False
for rule_name, rule in template.get("Rules", {}).items():
    if "RuleCondition" in rule and not holds(rule["RuleCondition"]):
        continue
    for assertion in rule["Assertions"]:
        if not holds(assertion["Assert"]):
            print(f"rule {rule_name}: {assertion.get('AssertDescription', '')}", file=sys.stderr)
            refused = True
if refused:
    sys.exit(3)


def resolve(node):
    if isinstance(node, dict):
        if list(node) == ["Fn::If"]:
            name, yes, no = node["Fn::If"]
            return resolve(yes if holds(conditions[name]) else no)
        if node == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        resolved = {k: resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}
    if isinstance(node, list):
        return [r for r in (resolve(v) for v in node) if r is not NO_VALUE]
    return node


for section in ("Resources", "Outputs"):
    kept = {}
    for name, body in template.get(section, {}).items():
        condition = body.get("Condition")
        if condition is not None and not holds(conditions[condition]):
            continue
        body = resolve({k: v for k, v in body.items() if k != "Condition"})
        kept[name] = body
    template[section] = kept
template.pop("Conditions", None)
with open(target, "w") as f:
    json.dump(template, f, indent=1)
PY
}

# transform RENDERED OUT: the rendered template through the SAM transform (offline), with each
# resource's Metadata carried to what SAM generates from it. checkov does not expand
# AWS::Serverless::Function: only in this form does it see the functions' IAM roles.
transform() {
  "$D/python" - "$@" <<'PY'
import json
import sys

from samtranslator.translator.transform import transform

source, target = sys.argv[1:]
with open(source) as f:
    template = json.load(f)
# What `sam validate` does too: the transform wants an S3 location for code it never reads.
template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://offline-checks/code.zip"


class NoManagedPolicies:
    # Policies named without an ARN would be looked up in IAM; the template names none.
    def load(self):
        return {}


with open(target, "w") as f:
    json.dump(transform(template, {}, NoManagedPolicies(), passthrough_metadata=True), f, indent=1)
PY
}

failed=()

# The Rules themselves (no checker evaluates them): each mode's values pass (below, in
# render), and each of these parameter sets (with a work team) is refused by exactly the rule
# named first.
REFUSED=(
  "OneActivationConditionsSource"
  "OneActivationConditionsSource ActivationConditions={} ActivationConditionsS3Uri=s3://b/k"
  "BuiltInConditionsGoInline TaskType=textract-forms WorkerTemplate=builtin-textract-forms ActivationConditionsS3Uri=s3://b/k"
  "BuiltInConditionsNeedTheCreatedFlow TaskType=rekognition-moderation ActivationConditions={} FlowDefinitionArn=arn:aws:sagemaker:us-east-1:111122223333:flow-definition/mine A2IOutputBucket=mine"
  "BuiltInModeHasNoItems TaskType=rekognition-moderation WorkerTemplate=builtin-rekognition-moderation ItemsPath=\$.items"
  "BuiltInModeHasNoItems TaskType=textract-forms WorkerTemplate=builtin-textract-forms DocumentFormat=json"
  "FeatureTypesAreForTextract TaskType=rekognition-moderation WorkerTemplate=builtin-rekognition-moderation TextractFeatureTypes=FORMS,TABLES"
  "TextractTemplate TaskType=textract-forms WorkerTemplate=forms"
  "RekognitionTemplate TaskType=rekognition-moderation WorkerTemplate=builtin-textract-forms"
  "CustomTemplate ActivationConditions={} WorkerTemplate=builtin-rekognition-moderation"
)
refused_ok=0
for case in "${REFUSED[@]}"; do
  read -r -a words <<<"$case"
  rule=${words[0]}
  if render "$TEMPLATE" "$work/refused.json" "$WORKTEAM" ${words[@]:1:${#words[@]}} 2>"$out"; then
    echo "== rules: ${words[*]:1} was not refused (expected $rule)" >&2
    failed+=("rules/$rule")
  elif [[ "$(grep -c '^rule ' "$out")" != 1 ]] || ! grep -q "^rule $rule:" "$out"; then
    echo "== rules: ${words[*]:1} expected rule $rule, got: $(cat "$out")" >&2
    failed+=("rules/$rule")
  else
    refused_ok=$((refused_ok + 1))
  fi
done
echo "rules: $refused_ok of ${#REFUSED[@]} bad parameter sets refused by exactly the expected rule"

for mode in "${MODES[@]}"; do
  read -r -a params <<<"${PARAMS[$mode]}"

  if ! "$D/cfn-lint" "$TEMPLATE" -a cfn_lint_serverless.rules ${params[@]:+--parameters "${params[@]}"} \
    >"$out" 2>&1; then
    echo "== cfn-lint $TEMPLATE ($mode)" >&2
    cat "$out" >&2
    failed+=("cfn-lint/$mode")
  else
    echo "cfn-lint -a cfn_lint_serverless.rules ($mode): no findings"
  fi

  rendered="$work/template-$mode.json"
  render "$TEMPLATE" "$rendered" ${params[@]:+"${params[@]}"}

  if ! "$D/sam" validate --lint --template-file "$rendered" --region us-east-1 >"$out" 2>&1; then
    echo "== sam validate --lint ($mode)" >&2
    cat "$out" >&2
    failed+=("sam/$mode")
  else
    echo "sam validate --lint ($mode): valid SAM template"
  fi

  transformed="$work/template-$mode.transformed.json"
  transform "$rendered" "$transformed"
  if ! "$C/checkov" -f "$transformed" --framework cloudformation --skip-download --compact \
    --output cli >"$out" 2>&1; then
    echo "== checkov --framework cloudformation ($mode)" >&2
    grep -vE '^(Check|\s*PASSED|\s*SKIPPED)' "$out" >&2 || cat "$out" >&2
    failed+=("checkov/$mode")
  else
    echo "checkov ($mode): $(grep -m1 -E 'Passed checks' "$out" | tr -s ' ')"
  fi
done

if ((${#failed[@]})); then
  echo "check-template.sh: findings from: ${failed[*]}" >&2
  exit 1
fi
skips=$(grep -cE '^\s*- id: CKV' "$TEMPLATE" || true)
ignores=$(grep -cE '^\s*- [EWI]S?[0-9]{4}\b' "$TEMPLATE" || true)
echo "template checks clean in ${#MODES[@]} modes: rules, cfn-lint+serverless, sam validate --lint, checkov ($skips checkov skips, $ignores cfn-lint ignores, each with its reason in $TEMPLATE)"
