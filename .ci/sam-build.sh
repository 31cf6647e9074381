#!/usr/bin/env bash
# Builds every function of template.yaml as `sam build` does for a deploy:
# cargo-lambda (from PyPI, with zig as the arm64 linker) compiles each
# binary for aarch64 in release into .aws-sam/build. Slow (a release build
# of the AWS SDK for another target), so it is not part of ./test.sh.
# Usage: .ci/sam-build.sh [LogicalFunctionId ...]
set -euo pipefail
cd "$(dirname "$0")/.."

SAM_VENV="${SAM_VENV:-target/sam-venv}"
.ci/sam-lint.sh >/dev/null
if [ ! -x "$SAM_VENV/bin/cargo-lambda" ]; then
    echo "== installing cargo-lambda into $SAM_VENV"
    "$SAM_VENV/bin/pip" install --quiet --disable-pip-version-check 'cargo-lambda>=1.8,<2'
fi
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

export PATH="$PWD/$SAM_VENV/bin:$PATH"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true SAM_CLI_TELEMETRY=0
# The workspace's release profile keeps debug info for the benches'
# profiles; a function ships without it (a smaller zip, a faster cold start).
export CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols
echo "== sam build $*"
sam build --template template.yaml "$@"
ls -l .aws-sam/build/*/bootstrap
