#!/usr/bin/env bash
# Runs the whole product in one process on the AWS backend against LocalStack's
# DynamoDB, SQS and S3 (the free LocalStack is enough); the server creates the
# tables, queues and bucket it misses. Untested here: LocalStack needs Docker.
#   docker run --rm -p 4566:4566 localstack/localstack   # in another terminal
#   localstack/run-local.sh [tgdesk arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://localhost:4566}"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export TGDESK_BACKEND=aws TGDESK_AWS_CREATE=1

curl -sf -o /dev/null "$AWS_ENDPOINT_URL/_localstack/health" || { echo "LocalStack does not answer at $AWS_ENDPOINT_URL"; exit 1; }
exec cargo run --release -- "$@"
