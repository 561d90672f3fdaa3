#!/usr/bin/env bash
# Command 1: install whatever is missing, then build Tributary (release) and serve it
# at http://127.0.0.1:3000 on SQLite (./data/tributary.db, created with its directory).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-tools.sh
exec cargo leptos serve --release
