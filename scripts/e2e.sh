#!/usr/bin/env bash
# The end-to-end tests: builds the site with cargo-leptos, starts two servers on fresh
# SQLite databases (127.0.0.1:3300, empty but for an admin; 127.0.0.1:3301, filled by
# `tributary seed-demo` for the dashboards), and runs Playwright in Debian's Chromium
# with and without JavaScript. Extra arguments go to `playwright test`.
# E2E_MAIN_PORT and E2E_DEMO_PORT move the two servers (to run two checkouts at once).
# Screenshots are saved to end2end/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
warn() { printf '\033[1;31m%s\033[0m\n' "$*" >&2; }

if [ ! -d end2end/node_modules/@playwright/test ]; then
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
cargo leptos build
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/debug/tributary"
work=$(mktemp -d)
export LEPTOS_SITE_ROOT="$root/target/site"
export REFERRAL_ALLOWED_HOSTS="shop.e2e.test"
# The flows sign up far more users from 127.0.0.1 than one address may in an hour;
# the limit has tests of its own.
export SIGNUP_MAX_PER_HOUR_PER_IP=100000
export E2E_ADMIN_EMAIL=admin@e2e.test E2E_ADMIN_PASSWORD="e2e admin passphrase here"
unset DATABASE_URL

main_port="${E2E_MAIN_PORT:-3300}"
demo_port="${E2E_DEMO_PORT:-3301}"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# The server the flows run against: an admin and nothing else.
main_db="sqlite://$work/e2e.db"
DATABASE_URL="$main_db" "$bin" migrate
DATABASE_URL="$main_db" "$bin" create-admin --email "$E2E_ADMIN_EMAIL" --password "$E2E_ADMIN_PASSWORD"
DATABASE_URL="$main_db" LEPTOS_SITE_ADDR=127.0.0.1:$main_port TRIBUTARY_BASE_URL=http://127.0.0.1:$main_port \
  "$bin" serve > "$work/server.log" 2>&1 &
pids+=($!)

# The dashboards' server: sixty days of demo data ending today.
demo_db="sqlite://$work/demo.db"
DATABASE_URL="$demo_db" "$bin" seed-demo --users 40 --days 60 --conversions 3000 > "$work/seed.log" 2>&1 \
  || { cat "$work/seed.log"; exit 1; }
DATABASE_URL="$demo_db" LEPTOS_SITE_ADDR=127.0.0.1:$demo_port TRIBUTARY_BASE_URL=http://127.0.0.1:$demo_port \
  "$bin" serve > "$work/demo-server.log" 2>&1 &
pids+=($!)

for port in "$main_port" "$demo_port"; do
  for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.5; done
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work"/*.log; exit 1; }
done

rm -rf end2end/artifacts
status=0
(cd end2end && BASE_URL=http://127.0.0.1:$main_port DEMO_URL=http://127.0.0.1:$demo_port npx playwright test "$@") || status=$?
if [ $status -ne 0 ]; then
  warn "end-to-end tests failed; the servers' logs follow"
  tail -n 60 "$work/server.log" "$work/demo-server.log" >&2
  exit $status
fi
echo "screenshots: end2end/artifacts/"
