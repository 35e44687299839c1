#!/usr/bin/env bash
# Installs, from Debian's packages, the command-line tools the delivery tests
# (test/integration/delivery-*.spec.ts) use when the machine lacks them: docker-compose, which
# validates docker-compose.yml without a Docker engine, and kubectl, which renders the kustomize
# overlays (the tests need its kustomize v5 or newer and say so when it is older). Idempotent.
set -euo pipefail

missing=()
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v kubectl >/dev/null || missing+=(kubernetes-client)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
