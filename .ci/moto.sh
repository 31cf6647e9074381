#!/usr/bin/env bash
# Sourced by test.sh: installs moto's server (PyPI) into a virtual environment
# under target/, starts it on a free loopback port, exports its URL as
# TGDESK_TEST_AWS_ENDPOINT for the AWS adapters' tests, and stops it on exit.
# moto speaks the DynamoDB, SQS and S3 wire protocols, so the adapters run
# through the real AWS SDK over real HTTP (LocalStack would need Docker).

MOTO_VENV="${MOTO_VENV:-target/moto-venv}"
if [ ! -x "$MOTO_VENV/bin/moto_server" ]; then
    echo "== installing moto server into $MOTO_VENV"
    command -v python3 >/dev/null || { echo "python3 is required for the moto server"; exit 1; }
    python3 -m venv "$MOTO_VENV"
    "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5,<6'
fi

MOTO_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >target/moto.log 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
export TGDESK_TEST_AWS_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
# moto takes any credentials; the SDK's standard chain must find some.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
for _ in $(seq 1 100); do
    if curl -sf -o /dev/null "$TGDESK_TEST_AWS_ENDPOINT/moto-api/"; then
        break
    fi
    kill -0 "$MOTO_PID" 2>/dev/null || { echo "moto server did not start:"; cat target/moto.log; exit 1; }
    sleep 0.2
done
curl -sf -o /dev/null "$TGDESK_TEST_AWS_ENDPOINT/moto-api/" || { echo "moto server not answering"; exit 1; }
echo "== moto server at $TGDESK_TEST_AWS_ENDPOINT (pid $MOTO_PID)"
