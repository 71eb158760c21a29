#!/usr/bin/env bash
# What `npm test` runs: lint (which also enforces the layering), type-check, then every
# test suite with a real Secret Service on a private session bus.
# Extra arguments go to vitest alone: `npm test -- server/` or `npm test -- -t 'grant expiry'`.
# Without arguments the end-to-end journeys (e2e/, Playwright) run last.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

phase() { printf '\n== %s\n' "$*"; }

# The Debian packages the tests use, installed when missing (one line when all are there; a
# clear error naming the packages when not root and no sudo).
phase "Debian packages"
bash scripts/install-deps.sh

phase "eslint"
npx eslint .

phase "tsc -b"
npx tsc -b

phase "vitest (under gnome-keyring)"
dbus-run-session -- bash scripts/with-keyring.sh npx vitest run "$@"

if (($# == 0)); then
  phase "e2e journeys (Playwright, under gnome-keyring)"
  dbus-run-session -- bash scripts/with-keyring.sh npx playwright test -c e2e
fi
