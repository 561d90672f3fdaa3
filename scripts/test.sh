#!/usr/bin/env bash
# Command 2: every check and test.
#   1. rustfmt, the layering check (scripts/layers.py: every module uses only the
#      layers below it, and no files use each other in a circle), and clippy -D warnings
#      for the server build and the wasm build separately;
#   2. unit and integration tests, each database test on SQLite and on PostgreSQL;
#   3. the benchmarks compile;
#   4. end-to-end tests in Debian's Chromium through Playwright, with and without JavaScript.
# It installs what is missing (wasm target, cargo-leptos, wasm-bindgen, wasm-opt,
# Chromium, the npm packages). PostgreSQL at 127.0.0.1:5432 is used when it answers;
# when it does not, the PostgreSQL runs are skipped loudly, except under CI=true,
# where this starts it, and fails if it still does not answer.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }
warn() { printf '\033[1;31m%s\033[0m\n' "$*" >&2; }

step "tools"
./scripts/install-tools.sh

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
if [ ! -x /usr/bin/chromium ]; then
  step "installing Debian's chromium (Playwright never downloads a browser here)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

step "PostgreSQL"
export TEST_PG_ADMIN_URL="${TEST_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! pg_up && [ "${CI:-}" = "true" ]; then
  echo "starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if pg_up; then
  echo "PostgreSQL answers at 127.0.0.1:5432"
elif [ "${CI:-}" = "true" ]; then
  warn "PostgreSQL does not answer at 127.0.0.1:5432 and CI=true: failing."
  exit 1
else
  warn "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  warn "!!! PostgreSQL does NOT answer at 127.0.0.1:5432."
  warn "!!! Every PostgreSQL run of the database tests will be SKIPPED (SQLite still runs)."
  warn "!!! Start it, or run with CI=true to make this a failure."
  warn "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
fi

step "rustfmt"
cargo fmt --all -- --check

step "layering: every module looks down, no circles"
python3 scripts/layers.py

step "clippy: the server build (ssr)"
cargo clippy -p server --all-targets -- -D warnings
step "clippy: the browser build (hydrate, wasm32)"
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "unit and integration tests (SQLite and PostgreSQL)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run -p app -p server --features app/ssr --no-fail-fast
else
  cargo test -p app -p server --features app/ssr --no-fail-fast
fi

step "the benchmarks compile"
cargo build -p server --benches --profile dev

step "end-to-end (Chromium)"
./scripts/e2e.sh

step "all checks passed"
