#!/usr/bin/env bash
# The web app's whole test flow: installs Debian's chromium (and fonts for
# Chinese and emoji) when missing, installs the npm packages, builds the app,
# runs the unit tests (Vitest), builds the server and runs the browser tests
# (playwright-core) against it with its embedded Telegram simulator.
set -euo pipefail
cd "$(dirname "$0")"

command -v npm >/dev/null || { echo "npm is required (Node.js 20 or newer)"; exit 1; }
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto color emoji"; then
  echo "== installing chromium and fonts (apt)"
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-color-emoji fonts-noto-cjk >/dev/null
fi

echo "== web: npm ci, build"
npm ci --no-audit --no-fund --loglevel=error
npm run build

echo "== web: unit tests"
npx vitest run

echo "== web: server build"
# The app is built above; the build script needs not build it again.
(cd .. && TGDESK_SKIP_WEB_BUILD=1 cargo build --quiet --features tgdesk-core/testkit)
target_dir=${CARGO_TARGET_DIR:-../target}

echo "== web: browser tests"
node e2e/run.mjs "$target_dir/debug/tgdesk"
