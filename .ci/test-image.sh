#!/usr/bin/env bash
# npm run test:image — the Dockerfile built and run here with podman, as production runs it:
# read-only root with a tmpfs /tmp, NODE_ENV=production, the secrets from the environment. It
# checks /health/ready, a login, one read of every service that has a route table
# (services/<name>/<name>.routes.ts: a service folder the image lacks fails here), then that
# SIGTERM stops the container with exit 0 within 10 s.
# The base image is the local stand-in of /work/shared/tools/container-base.sh (CONTAINER_BASE
# names another copy of the script); it also explains the podman flags.
set -euo pipefail
cd "$(dirname "$0")/.."

base_script=${CONTAINER_BASE:-../shared/tools/container-base.sh}
[ -f "$base_script" ] || base_script=/work/shared/tools/container-base.sh
if [ -f "$base_script" ]; then
  bash "$base_script" >/dev/null
  eval "$(bash "$base_script" --env)"
else
  # A machine that reaches the registry (GitHub's runner): the real base image, default flags.
  PODMAN=podman PODMAN_BUILD_FLAGS='--format docker' PODMAN_RUN_FLAGS='--network=host'
fi
# shellcheck disable=SC2086 # the flag strings are word lists
podman_() { $PODMAN "$@"; }

image=campus:test
name=campus-image-test-$$
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port=$(free_port)
metrics_port=$(free_port)
admin_email=admin@campus.test
admin_password=image-test-password-1234

cleanup() { podman_ rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT

echo "build $image"
# shellcheck disable=SC2086
podman_ build $PODMAN_BUILD_FLAGS -t "$image" . >/tmp/"$name"-build.log 2>&1 \
  || { tail -40 /tmp/"$name"-build.log >&2; exit 1; }

echo "run $image (read-only root, NODE_ENV=production) on port $port"
# shellcheck disable=SC2086
podman_ run -d --name "$name" $PODMAN_RUN_FLAGS --read-only --tmpfs /tmp \
  -e NODE_ENV=production -e PORT="$port" -e METRICS_PORT="$metrics_port" \
  -e JWT_SECRET="image-test-secret-of-at-least-thirty-two-characters" \
  -e ADMIN_EMAIL="$admin_email" -e ADMIN_PASSWORD="$admin_password" \
  "$image" >/dev/null

fail() { echo "test:image: $*" >&2; podman_ logs --tail 40 "$name" >&2 || true; exit 1; }
url=http://127.0.0.1:$port

for _ in $(seq 1 120); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready")" = 200 ] && break
  [ "$(podman_ inspect -f '{{.State.Running}}' "$name")" = true ] || fail "the container stopped"
  sleep 1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready")" = 200 ] || fail "/health/ready never answered 200"
echo "ok /health/ready"

token=$(curl -sf -X POST "$url/api/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$admin_email\",\"password\":\"$admin_password\"}" |
  node -e 'let b="";process.stdin.on("data",(c)=>b+=c).on("end",()=>console.log(JSON.parse(b).accessToken))') \
  || fail "the admin could not log in"
echo "ok login"

# One GET route per route table, read from the source tree (not the image): every service folder
# here must answer from the image. A route without a path parameter must answer 200; a table
# with none (quizzes: everything is under an id) is read with an id no record has, and its
# service must answer 404 NOT_FOUND (a missing service would answer 503).
reads=$(node --import tsx -e '
const { readdirSync, existsSync } = require("fs");
const { restAliases } = require("./lib/routes");
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000001";
for (const name of readdirSync("services")) {
  const file = `./services/${name}/${name}.routes.ts`;
  if (!existsSync(file)) continue;
  const table = Object.values(require(file))[0];
  const gets = Object.keys(restAliases([table])).filter((alias) => alias.startsWith("GET "));
  const plain = gets.find((alias) => !alias.includes(":"));
  if (plain) console.log(`${plain.slice(4)} 200`);
  else if (gets[0]) console.log(`${gets[0].slice(4).replace(/:\w+/g, UNKNOWN_ID)} 404`);
  else throw new Error(`${file} has no GET route`);
}')
[ -n "$reads" ] || fail "no route table found"
while read -r path expected; do
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url/api$path")
  [ "$status" = "$expected" ] || fail "GET /api$path answered $status, not $expected"
  echo "ok GET /api$path ($status)"
done <<<"$reads"

echo "SIGTERM"
podman_ kill --signal TERM "$name" >/dev/null
started=$(date +%s)
code=$(timeout 10 $PODMAN wait "$name") || fail "still running 10 s after SIGTERM"
[ "$code" = 0 ] || fail "exit code $code after SIGTERM"
echo "ok exit 0 after $(($(date +%s) - started)) s"
