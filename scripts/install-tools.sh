#!/usr/bin/env bash
# Installs the build tools this project needs, skipping whatever is already present.
# Works offline apart from the package registries (crates.io, npm, Debian); see README.
set -euo pipefail

log() { printf '\033[1;34m[tools]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

CARGO_LEPTOS_VERSION=0.3.11
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes, once per machine)"
  # `cargo install --locked` fails on rustc 1.95 (cargo-util-schemas 0.14.2 needs 1.96),
  # but it leaves the crate source in the registry: build it from there with one pin.
  src=$(ls -d "$HOME"/.cargo/registry/src/*/cargo-leptos-$CARGO_LEPTOS_VERSION 2>/dev/null | head -n1 || true)
  if [ -z "$src" ]; then
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked >/dev/null 2>&1 || true
    src=$(ls -d "$HOME"/.cargo/registry/src/*/cargo-leptos-$CARGO_LEPTOS_VERSION 2>/dev/null | head -n1 || true)
  fi
  if [ -z "$src" ]; then
    echo "could not fetch the cargo-leptos $CARGO_LEPTOS_VERSION source from crates.io" >&2
    exit 1
  fi
  work=$(mktemp -d)
  cp -r "$src" "$work/cargo-leptos"
  (cd "$work/cargo-leptos" && cargo update -p cargo-util-schemas --precise 0.14.1 && cargo install --path . --locked)
  rm -rf "$work"
fi

WASM_BINDGEN_VERSION=0.2.130
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # No --locked: its lock file wants a webpki-roots that the index no longer has.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if ! wasm-opt --version 2>/dev/null | grep -q "version 132"; then
  log "installing wasm-opt (binaryen 132 from npm; Debian's v108 builds a wasm that never hydrates)"
  npm install -g binaryen@132.0.0
fi
