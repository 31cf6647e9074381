#!/usr/bin/env bash
# Lints template.yaml offline: cfn-lint, then `sam validate --lint` (SAM CLI's
# own way to the same linter). Both install from PyPI into a virtual
# environment under target/ on first use, which later runs reuse.
set -euo pipefail
cd "$(dirname "$0")/.."

SAM_VENV="${SAM_VENV:-target/sam-venv}"
if [ ! -x "$SAM_VENV/bin/sam" ] || [ ! -x "$SAM_VENV/bin/cfn-lint" ]; then
    echo "== installing cfn-lint and aws-sam-cli into $SAM_VENV"
    command -v python3 >/dev/null || { echo "python3 is required for cfn-lint and sam"; exit 1; }
    python3 -m venv "$SAM_VENV"
    # Tested with cfn-lint 1.58 and aws-sam-cli 1.170; a new major may bring new rules.
    "$SAM_VENV/bin/pip" install --quiet --disable-pip-version-check 'cfn-lint>=1.58,<2' 'aws-sam-cli>=1.170,<2'
fi

# Dummy credentials and region: nothing below talks to AWS, but the SDK
# inside sam must not go looking for a profile or instance metadata.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_SESSION_TOKEN=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true SAM_CLI_TELEMETRY=0

echo "== cfn-lint template.yaml"
"$SAM_VENV/bin/cfn-lint" template.yaml
echo "== sam validate --lint"
# With --lint, sam validates through cfn-lint only (samcli/commands/validate);
# without it, sam asks AWS IAM for its managed policies (ListPolicies). Its
# weekly version check asks PyPI and is skipped quietly when that fails.
"$SAM_VENV/bin/sam" validate --lint --template template.yaml --region us-east-1
echo "== each function's role against the calls its code makes (moto does not enforce IAM)"
"$SAM_VENV/bin/python" .ci/check-roles.py
