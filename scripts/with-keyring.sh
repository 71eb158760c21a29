#!/usr/bin/env bash
# Runs a command with an unlocked gnome-keyring Secret Service on a private session bus,
# so tests exercise the real OS keychain path instead of a mock (see MACHINE.md).
# Usage: dbus-run-session -- bash scripts/with-keyring.sh <command...>
set -euo pipefail

if (($# == 0)); then
  echo "usage: dbus-run-session -- bash $0 <command...>" >&2
  exit 2
fi
if [[ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]]; then
  echo "with-keyring: no session bus; run as: dbus-run-session -- bash $0 <command...>" >&2
  exit 2
fi
for tool in gnome-keyring-daemon dbus-send; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "with-keyring: $tool not found; run scripts/install-deps.sh" >&2
    exit 1
  fi
done

# Per-run temporary directories, removed after the command ends (see the watcher below).
scratch=()

# The daemon keeps its control socket under XDG_RUNTIME_DIR; root in CI has none.
if [[ -z "${XDG_RUNTIME_DIR:-}" ]]; then
  XDG_RUNTIME_DIR=$(mktemp -d -t stint-xdg.XXXXXX)
  export XDG_RUNTIME_DIR
  scratch+=("$XDG_RUNTIME_DIR")
fi
chmod 700 "$XDG_RUNTIME_DIR"

# Keyring files go to a per-run directory, not ~/.local/share/keyrings: the developer's own
# login keyring is never touched (nor unlocked with our password, which would fail if it
# has a different one), and parallel runs do not write the same files. Only the daemon
# gets XDG_DATA_HOME; the command keeps the caller's environment.
keyring_home=$(mktemp -d -t stint-keyring.XXXXXX)
scratch+=("$keyring_home")
# `exec` below keeps this PID, so the watcher removes the directories once the command
# ends. It holds none of our stdio, so `npm test | tee log` does not wait for it.
(while kill -0 $$ 2>/dev/null; do sleep 1; done; rm -rf "${scratch[@]}") </dev/null >/dev/null 2>&1 &

# An EMPTY password makes the daemon reach for a GUI prompter and fail, hence non-empty;
# it protects only throwaway test data.
daemon_env=$(printf 'stint-test-keyring' |
  XDG_DATA_HOME="$keyring_home" gnome-keyring-daemon --unlock --components=secrets)
# When it prints KEY=VALUE lines (GNOME_KEYRING_CONTROL, ...), pass them on.
while IFS= read -r line; do
  if [[ "$line" == [A-Z_]*=* ]]; then export "${line?}"; fi
done <<<"$daemon_env"

secrets_owned() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
    grep -q 'boolean true'
}

for ((i = 0; i < 100; i++)); do
  if secrets_owned; then break; fi
  sleep 0.1
done
if ! secrets_owned; then
  echo "with-keyring: org.freedesktop.secrets still has no owner on the session bus after 10 s;" >&2
  echo "with-keyring: gnome-keyring-daemon did not start its Secret Service" >&2
  exit 1
fi

exec "$@"
