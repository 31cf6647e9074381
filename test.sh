#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what the tests need, then
# runs formatting, lints and every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")"

# Rust builds everything; Python runs the moto server the AWS tests talk to;
# Node.js builds and tests the web app (web/test.sh).
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy

# Thousands of sockets in the end-to-end tests: raise the open-files limit as far as allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "== format"
cargo fmt --all -- --check
echo "== lints"
cargo clippy --workspace --all-targets --features tgdesk-core/testkit -- -D warnings
echo "== tests"
mkdir -p target
# The AWS adapters' suites run against a moto server started here.
source .ci/moto.sh
cargo test --workspace --features tgdesk-core/testkit
echo "== the black-box suites again, with the server on the AWS backend (DynamoDB, SQS, S3 on moto)"
# The same packages and features as above (features unify across the
# workspace), so nothing is compiled again.
TGDESK_TEST_BACKEND=aws cargo test --workspace --features tgdesk-core/testkit --test api
TGDESK_TEST_BACKEND=aws cargo test --workspace --features tgdesk-core/testkit --test fault a_server_killed
echo "== the SAM template (cfn-lint, sam validate --lint; offline)"
.ci/sam-lint.sh
./web/test.sh
