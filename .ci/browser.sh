#!/usr/bin/env bash
# Installs Debian's Chromium when the machine lacks it: test/integration/docs-browser.spec.ts
# drives it with playwright-core, which downloads no browser of its own. A browser named by
# CHROMIUM_PATH (the GitHub workflow points it at the runner's Chrome) is used as it is. Idempotent.
set -euo pipefail

browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$browser" ]; then
  echo "installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
