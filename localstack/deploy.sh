#!/usr/bin/env bash
# Deploys template.yaml to LocalStack with samlocal. Untested here: LocalStack
# needs Docker. The whole stack needs a paid LocalStack plan (ECS, API Gateway
# WebSocket and Application Auto Scaling are not in the free one); run-local.sh
# needs only the free one.
#   pip install aws-sam-cli-local awscli-local cargo-lambda
#   FLEET_IMAGE=<the fleet image, built locally> localstack/deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://localhost:4566}"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
PREFIX="${TGDESK_AWS_PREFIX:-tgdesk}"

for tool in samlocal awslocal cargo-lambda; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: pip install aws-sam-cli-local awscli-local cargo-lambda"; exit 1; }
done
curl -sf -o /dev/null "$AWS_ENDPOINT_URL/_localstack/health" || { echo "LocalStack does not answer at $AWS_ENDPOINT_URL"; exit 1; }

# LocalStack's default VPC and its subnets stand in for the fleet's network.
VPC="$(awslocal ec2 describe-vpcs --filters Name=is-default,Values=true --query 'Vpcs[0].VpcId' --output text)"
SUBNETS="$(awslocal ec2 describe-subnets --filters "Name=vpc-id,Values=$VPC" --query 'Subnets[].SubnetId' --output text | tr '\t' ',')"

samlocal build
samlocal deploy --stack-name "$PREFIX" --resolve-s3 --capabilities CAPABILITY_IAM \
    --no-confirm-changeset --no-fail-on-empty-changeset \
    --parameter-overrides "Prefix=$PREFIX" "JwtSecret=localstack-only-jwt-secret-0123456789" \
    "SessionSealKey=${SESSION_SEAL_KEY:-$(openssl rand -base64 32)}" \
    "FleetImage=${FLEET_IMAGE:-tgdesk-fleet:latest}" "VpcId=$VPC" "SubnetIds=$SUBNETS"
awslocal cloudformation describe-stacks --stack-name "$PREFIX" --query 'Stacks[0].Outputs' --output table
