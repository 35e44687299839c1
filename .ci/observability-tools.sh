#!/usr/bin/env bash
# Installs Debian's Prometheus when the machine lacks it: test/integration/prometheus-rules.spec.ts
# runs its `promtool` (check config, check rules, test rules), and the cluster suite
# (test/cluster/observability.spec.ts) starts its `prometheus` server on a free port. Neither is
# left running as a service: policy-rc.d keeps apt from starting the packaged daemon. Idempotent.
set -euo pipefail

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  echo "installing prometheus (promtool)"
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
