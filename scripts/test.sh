#!/usr/bin/env bash
# The project's test command (README): every Rust test of the workspace, then the checks that
# need tools from PyPI (installed into .tools/ by the scripts themselves).
set -euo pipefail
cd "$(dirname "$0")/.."

# A real browser (Debian's chromium + chromedriver) for the UI tests; fast when installed.
bash scripts/browser.sh

cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked

# Real clients other than ours (boto3, AWS CLI from PyPI, in .tools/clients-venv) against a2i-local.
bash scripts/client-compat.sh

# a2i-review redrive against moto's SQS (.tools/moto-venv) and the start handler under cargo lambda watch.
bash scripts/redrive-check.sh
